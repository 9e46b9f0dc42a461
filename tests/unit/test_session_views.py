"""What a run reports about itself: session P&L after the stop, the exit summary, stale marks, collapsed warnings."""

from __future__ import annotations

import logging
import os

from arbsniper.logs import CollapseRepeats, WarningTally
from arbsniper.terminal import SessionTally, exit_summary
from arbsniper.trading.ledger import Ledger
from arbsniper.trading.report import marks_note
from tests.unit.test_paper import _spot_market
from tests.unit.trading_kit import make_runner, settle, signal


async def test_session_pnl_equity_and_trades_survive_the_stop(tmp_path):
    clock, config, m = _spot_market(tmp_path)
    runner = make_runner(config, m)
    await runner.start()
    await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT", 100.0, 101.0, 1.2))
    await settle(runner)
    live = runner.pnl_summary()
    await runner.stop()
    after = runner.pnl_summary()  # the ledger is closed: the figures as it closed
    assert after["session"]["trades"] == live["session"]["trades"] == 1
    assert after["session"]["total"] == after["total"]  # a fresh ledger: this session is all time
    assert [p for _, p in after["equity"]] == [after["session"]["realized"]]
    (trade,) = after["latest"]
    assert {leg["venue"] for leg in trade["legs"]} == {"binance", "okx"}
    assert {f["side"] for f in trade["fills"]} == {"buy", "sell"}
    text = exit_summary(12.0, 3, after)
    assert text.startswith("ran 12.0 s: 3 opportunities, 1 paper trades, session P&L +")
    assert "best pair binance>okx (spot)" in text
    ledger = Ledger(tmp_path / "trading-paper.sqlite", create=False)
    try:
        assert ledger.meta("run_pid") == str(os.getpid()) and int(ledger.meta("run_stopped_ns") or 0) > 0
    finally:
        ledger.close()


def test_positions_note_says_when_marks_are_from_a_stopped_run():
    assert "when the run stopped" in marks_note(str(os.getpid()), "1764691200000000000")
    assert marks_note(str(os.getpid()), "0") == ""  # this process is marking them
    assert "no longer running" in marks_note("999999999", "0")


def test_repeated_warnings_collapse_to_one_a_minute():
    f = CollapseRepeats(window_s=60)

    def rec(msg: str, t: float) -> logging.LogRecord:
        r = logging.LogRecord("arbsniper.app", logging.WARNING, __file__, 1, msg, None, None)
        r.created = t
        return r

    passed = [f.filter(rec(f"okx: {n} bad frames", t)) for n, t in ((3, 0), (5, 5), (8, 10), (9, 61))]
    assert passed == [True, False, False, True]
    last = rec("okx: 12 bad frames", 130)
    assert f.filter(last) and not getattr(last, "fields", None)
    again = rec("okx: 13 bad frames", 135)
    assert not f.filter(again)
    tally = WarningTally(window_s=60)
    for t in (0, 30, 70):
        r = rec(f"okx: {t} bad frames", t)
        tally.handle(r)
    assert tally.recent(now=71) == [("WARNING", "arbsniper.app okx: 70 bad frames", 2)]


def test_session_tally_keeps_open_opportunities_with_their_age():
    from tests.unit.enginekit import Harness

    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    t = SessionTally()
    t.apply(list(h.signals))
    assert t.opened == 1 and len(t.open) == 1 and t.top()[0][1] == h.signals[0].timestamp
    h.quote("okx", "BTC/USDT", bid=100_000, ask=100_010)
    t.apply(h.signals[1:])
    assert t.closed == 1 and not t.open
