"""Every validation and risk limit refuses a trade with the reason that names it; the kill switch."""

from __future__ import annotations

import pytest

from arbsniper.cli import main
from arbsniper.model import DOWN
from arbsniper.trading import risk as rk
from arbsniper.trading.portfolio import CLOSED, OPEN
from arbsniper.trading.risk import KillSwitch, Proposal
from tests.unit.trading_kit import Clock, Market, make_config, make_runner, settle, signal

SPOT = "BTC/USDT"
PERP = "BTC/USDT:USDT"


def _market(tmp_path, instrument=SPOT, venues=("binance", "okx", "bybit"), **trading):
    clock = Clock()
    config = make_config(tmp_path, fees={v: 10.0 for v in venues}, **trading)
    m = Market(config, clock)
    m.book("binance", instrument, [(99.9, 10.0)], [(100.0, 10.0)])
    for v in venues[1:]:
        m.book(v, instrument, [(101.0, 10.0)], [(101.1, 10.0)])
    return clock, config, m


async def _runner(config, m):
    runner = make_runner(config, m)
    await runner.start()
    return runner


async def test_trade_above_max_trade_notional_is_sized_down_to_the_limit(tmp_path):
    clock, config, m = _market(tmp_path, max_trade_notional=201.0)
    runner = await _runner(config, m)
    trade = await runner.on_signal(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 5.0))
    await settle(runner)
    # buy limit 100 × 1.005 = 100.5; 201 / 100.5 = 2.0
    assert trade.size == pytest.approx(2.0)
    assert trade.status == CLOSED
    await runner.stop()


async def test_risk_check_refuses_a_proposal_above_max_trade_notional(tmp_path):
    clock, config, m = _market(tmp_path, max_trade_notional=1000.0)
    runner = await _runner(config, m)
    assert runner.risk.check(Proposal("binance", "okx", 1000.0, 1000.0)) is None
    assert runner.risk.check(Proposal("binance", "okx", 1000.5, 990.0)) == rk.MAX_TRADE
    await runner.stop()


async def test_venue_with_open_exposure_at_its_limit_refuses_with_max_venue_notional(tmp_path):
    clock, config, m = _market(tmp_path, PERP, max_venue_notional=300.0)
    runner = await _runner(config, m)
    first = await runner.on_signal(signal(clock, "binance", "okx", PERP, 100.0, 101.0, 5.0, oid="a"))
    await settle(runner)
    # sized to the venue headroom: 300 / 100.5 = 2.98507…; filled at 100 → 298.51 open on binance
    assert first.status == OPEN and first.size == pytest.approx(300 / 100.5)
    # bybit has room, binance only 300 − 298.51 = 1.49 (< min_trade_notional 10)
    assert runner.plan(signal(clock, "binance", "bybit", PERP, 100.0, 101.0, 5.0, oid="b")) == rk.MAX_VENUE
    assert runner.risk.check(Proposal("binance", "bybit", 50.0, 50.0)) == rk.MAX_VENUE
    await runner.stop()


async def test_max_open_positions_reached_refuses_new_trades(tmp_path):
    clock, config, m = _market(tmp_path, PERP, max_open_positions=1)
    runner = await _runner(config, m)
    await runner.on_signal(signal(clock, "binance", "okx", PERP, 100.0, 101.0, 1.0, oid="a"))
    await settle(runner)
    assert len(runner.portfolio.trades) == 1
    assert runner.plan(signal(clock, "binance", "bybit", PERP, 100.0, 101.0, 1.0, oid="b")) == rk.MAX_POSITIONS
    await runner.stop()


async def test_daily_loss_limit_refuses_until_the_next_utc_day(tmp_path):
    clock, config, m = _market(tmp_path, daily_loss_limit=1.0)
    runner = await _runner(config, m)
    runner.risk.add_realized(-1.5, clock.now - rk.DAY_NS)  # yesterday's loss does not count
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0)) != rk.DAILY_LOSS
    runner.risk.add_realized(-0.6, clock.now)
    runner.risk.add_realized(-0.4, clock.now)  # today: −1.0, at the limit
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0)) == rk.DAILY_LOSS
    await runner.stop()


async def test_daily_loss_limit_counts_the_marked_loss_of_open_positions(tmp_path):
    clock, config, m = _market(tmp_path, PERP, daily_loss_limit=5.0)
    runner = await _runner(config, m)
    await runner.on_signal(signal(clock, "binance", "okx", PERP, 100.0, 101.0, 2.0, oid="a"))
    await settle(runner)
    # long 2 @ 100, short 2 @ 101, fees 0.402. okx jumps: its ask is now 104.
    m.book("okx", PERP, [(103.9, 10.0)], [(104.0, 10.0)])
    clock.advance(1)
    await runner.tick(trade=False)
    # marked: 2 − 0.402 + 2 × 99.9 − 2 × 104 = −6.602 ≤ −5
    assert runner.risk.daily_pnl() == pytest.approx(-6.602)
    assert runner.plan(signal(clock, "binance", "bybit", PERP, 100.0, 101.0, 1.0, oid="b")) == rk.DAILY_LOSS
    await runner.stop()


async def test_missing_inventory_on_the_sell_venue_refuses_and_some_inventory_sizes_down(tmp_path):
    clock, config, m = _market(tmp_path, inventory={"default": {"USDT": 10_000.0, "BTC": 2.0}, "okx": {"USDT": 10_000.0},
                                                     "bybit": {"USDT": 10_000.0, "BTC": 0.5}})
    runner = await _runner(config, m)
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0)) == rk.INVENTORY
    plan = runner.plan(signal(clock, "binance", "bybit", SPOT, 100.0, 101.0, 1.0))
    assert plan.size == pytest.approx(0.5)
    await runner.stop()


async def test_buy_venue_without_enough_quote_currency_refuses_with_insufficient_inventory(tmp_path):
    clock, config, m = _market(tmp_path, inventory={"default": {"USDT": 5.0, "BTC": 2.0}})
    runner = await _runner(config, m)
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0)) == rk.INVENTORY
    await runner.stop()


async def test_trade_below_min_notional_is_refused(tmp_path):
    clock, config, m = _market(tmp_path, min_trade_notional=10.0)
    runner = await _runner(config, m)
    # 0.05 × 100.5 = 5.03 < 10
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 0.05)) == rk.TOO_SMALL
    await runner.stop()


async def test_size_rounds_down_to_the_coarser_lot_of_the_two_venues(tmp_path):
    clock = Clock()
    config = make_config(tmp_path, fees={"binance": 10.0, "okx": 10.0, "bybit": 10.0},
                         lots={"binance": {SPOT: 0.001}, "okx": {SPOT: 0.01}})
    m = Market(config, clock)
    m.book("binance", SPOT, [(99.9, 10.0)], [(100.0, 10.0)])
    m.book("okx", SPOT, [(101.0, 10.0)], [(101.1, 10.0)])
    runner = await _runner(config, m)
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.2345)).size == pytest.approx(1.23)
    await runner.stop()


async def test_open_position_on_the_same_legs_refuses_a_duplicate(tmp_path):
    clock, config, m = _market(tmp_path, PERP)
    runner = await _runner(config, m)
    await runner.on_signal(signal(clock, "binance", "okx", PERP, 100.0, 101.0, 1.0, oid="a"))
    await settle(runner)
    assert runner.plan(signal(clock, "binance", "okx", PERP, 100.0, 101.0, 1.0, oid="b")) == rk.DUPLICATE
    await runner.stop()


async def test_update_of_an_already_traded_opportunity_is_refused(tmp_path):
    clock, config, m = _market(tmp_path)
    runner = await _runner(config, m)
    await runner.on_signal(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0, oid="a"))
    await settle(runner)
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0, oid="a", event="update")) == rk.ALREADY_TRADED
    await runner.stop()


async def test_old_signal_moved_price_and_invalid_book_are_refused(tmp_path):
    clock, config, m = _market(tmp_path, max_signal_age_ms=1000)
    runner = await _runner(config, m)
    old = signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0)
    clock.advance(1.001)
    m.book("binance", SPOT, [(99.9, 10.0)], [(100.0, 10.0)])
    m.book("okx", SPOT, [(101.0, 10.0)], [(101.1, 10.0)])
    assert runner.plan(old) == rk.STALE_SIGNAL
    # ask 100 is above the signal's 99.4 + 50 bps = 99.897
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 99.4, 101.0, 1.0)) == rk.PRICE_MOVED
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.6, 1.0)) == rk.PRICE_MOVED
    m.status("okx", DOWN)
    assert runner.plan(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0)) == rk.BOOK_INVALID
    await runner.stop()


async def test_signal_below_the_traders_min_net_edge_is_refused(tmp_path):
    clock, config, m = _market(tmp_path, min_net_bps=5.0)
    runner = await _runner(config, m)
    assert await runner.on_signal(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0, net_bps=4.9)) is None
    assert runner.refused == {rk.BELOW_MIN_EDGE: 1}
    await runner.stop()


async def test_kill_switch_file_halts_new_trades_and_resume_allows_them_again(tmp_path):
    clock, config, m = _market(tmp_path)
    runner = await _runner(config, m)
    assert main(["trader", "--halt", "--reason", "test halt", "--data-dir", str(tmp_path)]) == 0
    assert await runner.on_signal(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0, oid="a")) is None
    assert runner.refused[rk.HALTED] == 1
    assert runner.pnl_summary()["halted"] is True
    assert main(["trader", "--resume", "--data-dir", str(tmp_path)]) == 0
    trade = await runner.on_signal(signal(clock, "binance", "okx", SPOT, 100.0, 101.0, 1.0, oid="b"))
    await settle(runner)
    assert trade.status == CLOSED
    await runner.tick()  # refusals are flushed to the ledger on a tick
    assert runner.ledger.refusals() == {rk.HALTED: 1}
    await runner.stop()


async def test_kill_switch_with_flatten_closes_open_positions_at_market(tmp_path):
    clock, config, m = _market(tmp_path, PERP)
    runner = await _runner(config, m)
    trade = await runner.on_signal(signal(clock, "binance", "okx", PERP, 100.0, 101.0, 1.0, oid="a"))
    await settle(runner)
    assert trade.status == OPEN
    KillSwitch(tmp_path / "trading.halt").engage("risk desk", flatten=True)
    clock.advance(1)
    await runner.tick()
    await settle(runner)
    assert trade.status == CLOSED and trade.close_reason == "flatten"
    # in: buy 1 @ 100, sell 1 @ 101 (+1); out: sell 1 @ 99.9, buy 1 @ 101.1 (−1.2): cash −0.2
    # fees 0.1 + 0.101 + 0.0999 + 0.1011 = 0.402; pnl −0.602
    assert trade.realized == pytest.approx(-0.602)
    await runner.stop()
