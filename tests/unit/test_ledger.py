"""The ledger: durable fills, balances that replay from fills, restart reconciliation, reports."""

from __future__ import annotations

import asyncio
import json

import pytest

from arbsniper.cli import main
from arbsniper.trading.ledger import Ledger, pnl_summary
from arbsniper.trading.portfolio import CLOSED, OPEN
from tests.unit.trading_kit import Clock, Market, make_config, make_runner, settle, signal

SPOT = "BTC/USDT"
PERP = "BTC/USDT:USDT"


def _market(tmp_path, **trading):
    clock = Clock()
    config = make_config(tmp_path, fees={"binance": 10.0, "okx": 10.0, "bybit": 10.0}, **trading)
    m = Market(config, clock)
    for inst in (SPOT, PERP):
        m.book("binance", inst, [(99.9, 10.0)], [(100.0, 10.0)])
        m.book("okx", inst, [(101.0, 10.0)], [(101.1, 10.0)])
        m.book("bybit", inst, [(100.5, 10.0)], [(100.6, 10.0)])
    return clock, config, m


def test_seed_writes_the_starting_inventory_once(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    assert ledger.seed("paper", {("binance", "USDT"): 100.0})
    assert not ledger.seed("paper", {("binance", "USDT"): 999.0})
    assert ledger.balances() == [{"venue": "binance", "asset": "USDT", "start": 100.0, "amount": 100.0}]
    ledger.close()


async def test_fills_survive_reopening_and_balances_equal_the_replay_of_fills_and_funding(tmp_path):
    clock, config, m = _market(tmp_path, inventory={"default": {"USDT": 10_000.0, "BTC": 2.0}})
    m.funding("binance", PERP, 0.0008, 8.0)
    runner = make_runner(config, m)
    await runner.start()
    await runner.on_signal(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0, oid="a"))
    await runner.on_signal(signal(clock, "binance", "okx", PERP, 100.0, 101.0, 1.5, oid="b"))
    await settle(runner)
    clock.advance(3600)
    for inst in (SPOT, PERP):
        m.book("binance", inst, [(99.9, 10.0)], [(100.0, 10.0)])
        m.book("okx", inst, [(101.0, 10.0)], [(101.1, 10.0)])
    await runner.tick()
    await settle(runner)
    await runner.stop()

    ledger = Ledger(tmp_path / "trading-paper.sqlite", create=False)
    fills = ledger.fills()
    assert len(fills) == 4
    table = {(b["venue"], b["asset"]): b["amount"] for b in ledger.balances()}
    replay = ledger.replay_balances()
    assert set(table) == set(replay)
    for key in table:
        assert table[key] == pytest.approx(replay[key], abs=1e-9)
    # binance USDT: spot buy 1 @ 100 (−100 − 0.1 fee), perp buy 1.5 @ 100 (−0.15 fee),
    # funding on the long: −1.5 × 99.9 × 0.0001 × 1 h = −0.014985
    assert table[("binance", "USDT")] == pytest.approx(10_000 - 100.1 - 0.15 - 0.014985)
    assert ledger.positions()[0]["status"] == OPEN
    ledger.close()


async def test_restart_expires_the_lost_order_and_unwinds_the_leg_that_filled(tmp_path):
    clock, config, m = _market(tmp_path)
    never = asyncio.Event()

    # A runner whose okx order never arrives: the process "dies" with it in flight.
    runner = make_runner(config, m)
    executor = runner.executor
    orig = executor.execute

    async def execute(order):
        if order.venue == "okx":
            await never.wait()
        return await orig(order)

    executor.execute = execute
    await runner.start()
    trade = await runner.on_signal(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0))
    for _ in range(20):
        await asyncio.sleep(0)
    assert trade.buy_leg.qty == 1.0 and trade.sell_leg.qty == 0.0
    for t in list(runner._tasks):
        t.cancel()
    runner._db_pool.shutdown(wait=True)
    runner.ledger.close()  # no clean stop: as if killed

    again = make_runner(config, m)
    await again.start()
    await settle(again)
    rows = again.ledger.orders(trade.id)
    assert [(o["purpose"], o["side"], o["status"], o["reason"]) for o in rows] == [
        ("entry", "buy", "filled", ""), ("entry", "sell", "expired", "lost_in_crash"), ("unwind", "sell", "filled", "")]
    t = again.ledger.trades(1)[0]
    assert (t["status"], t["close_reason"]) == (CLOSED, "unwound")
    # bought 1 @ 100 (fee 0.1), sold back 1 @ 99.9 (fee 0.0999): −0.1 − 0.1999 = −0.2999
    assert t["pnl"] == pytest.approx(-0.2999)
    assert t["leg_pnl"] == pytest.approx(-0.2999)
    assert again.portfolio.balance("binance", "BTC") == pytest.approx(2.0)
    await again.stop()


def test_pnl_summary_adds_up_per_venue_pair(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.seed("paper", {("binance", "USDT"): 1000.0})
    cols = ("id, signal_id, opportunity_id, kind, buy_venue, sell_venue, buy_instrument, sell_instrument, currency,"
            " rate, size, net_bps, status, opened_ns, closed_ns, cash, fees, funding, leg_pnl, mark_value, ref_rate,"
            " close_reason")
    rows = [
        (1, "s", "o1", "spot", "binance", "okx", SPOT, SPOT, "USDT", 1.0, 1.0, 50.0, "closed", 1, 2, 1.0, 0.2, 0.0, 0.0, 0.0, 1.0, "completed"),
        (2, "s", "o2", "spot", "binance", "okx", SPOT, SPOT, "USDT", 1.0, 1.0, 50.0, "closed", 1, 2, 0.1, 0.2, 0.0, -0.3, 0.0, 1.0, "unwound"),
        (3, "s", "o3", "perp", "binance", "bybit", PERP, PERP, "USDT", 1.0, 1.0, 50.0, "open", 1, 0, 2.0, 0.4, 0.1, 0.0, -1.0, 0.5, ""),
    ]
    ledger.conn.executemany(f"INSERT INTO trades ({cols}) VALUES ({', '.join('?' * 22)})", rows)
    s = pnl_summary(ledger)
    # trade 1: 1 − 0.2 = 0.8; trade 2: 0.1 − 0.2 = −0.1; trade 3 (open, at 0.5 USD per USDT):
    # (2 − 0.4 + 0.1 − 1) × 0.5 = 0.35
    assert (s["realized"], s["open_pnl"], s["total"]) == (pytest.approx(0.7), pytest.approx(0.35), pytest.approx(1.05))
    assert (s["wins"], s["losses"], s["closed"], s["open"]) == (1, 1, 2, 1)
    pairs = {p["pair"] + "/" + p["kind"]: p for p in s["pairs"]}
    assert pairs["binance>okx/spot"]["realized"] == pytest.approx(0.7)
    assert pairs["binance>okx/spot"]["leg_pnl"] == pytest.approx(-0.3)
    assert pairs["binance>bybit/perp"]["open_pnl"] == pytest.approx(0.35)
    assert pairs["binance>bybit/perp"]["fees"] == pytest.approx(0.2)
    ledger.close()


async def test_cli_reads_trades_positions_and_pnl_from_the_data_directory(tmp_path, capsys):
    clock, config, m = _market(tmp_path)
    runner = make_runner(config, m)
    await runner.start()
    await runner.on_signal(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0, oid="a"))
    await runner.on_signal(signal(clock, "binance", "bybit", PERP, 100.0, 100.5, 1.0, oid="b"))
    await settle(runner)
    await runner.tick()
    await runner.stop()
    capsys.readouterr()
    assert main(["pnl", "--json", "--data-dir", str(tmp_path)]) == 0
    s = json.loads(capsys.readouterr().out)
    # spot: 101 − 100 − 0.1 − 0.101 = 0.799
    spot = next(p for p in s["pairs"] if p["pair"] == "binance>okx")
    assert spot["realized"] == pytest.approx(0.799)
    assert s["open"] == 1
    assert main(["trades", "--json", "--data-dir", str(tmp_path)]) == 0
    trades = json.loads(capsys.readouterr().out)
    assert [t["status"] for t in trades] == ["open", "closed"]
    assert main(["positions", "--json", "--data-dir", str(tmp_path)]) == 0
    positions = json.loads(capsys.readouterr().out)
    assert [(leg["venue"], leg["qty"]) for leg in positions[0]["legs"]] == [("binance", 1.0), ("bybit", -1.0)]
    assert main(["pnl", "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "binance>okx" in text and "binance>bybit" in text
    assert main(["pnl", "--data-dir", str(tmp_path / "nowhere")]) == 1
