"""Paper executor and runner: fills walk depth at arrival, fees, partial fills and leg risk, P&L.

Every expected number is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import pytest

from arbsniper.model import DOWN
from arbsniper.trading.market import EngineMarketView, MarketRules
from arbsniper.trading.orders import BUY, FILLED, PARTIAL, REJECTED, SELL, OrderRequest
from arbsniper.trading.paper import PaperExecutor, walk_levels
from arbsniper.trading.portfolio import CLOSED, OPEN, UNHEDGED
from tests.unit.trading_kit import Clock, Market, make_config, make_runner, settle, signal


def _executor(config, market, sleep=None):
    async def no_wait(_):
        return None

    return PaperExecutor(EngineMarketView(market.engine), MarketRules(config), config.trading.latency_s,
                         clock_ns=market.clock, sleep=sleep or no_wait)


def test_walk_levels_stops_at_limit_and_skips_taken_size():
    asks = [(100.0, 1.0), (101.0, 2.0), (102.0, 5.0)]
    assert walk_levels(asks, BUY, 2.5, 101.5) == [(100.0, 1.0), (101.0, 1.5)]
    assert walk_levels(asks, BUY, 9.0, 101.0) == [(100.0, 1.0), (101.0, 2.0)]  # 102 is beyond the limit
    assert walk_levels(asks, BUY, 1.0, None, skip=1.5) == [(101.0, 1.0)]  # 1.5 already taken: 0.5 left at 101
    bids = [(99.0, 1.0), (98.0, 1.0)]
    assert walk_levels(bids, SELL, 3.0, 98.5) == [(99.0, 1.0)]


async def test_buy_when_size_spans_levels_walks_depth_and_charges_taker_fee_per_level(tmp_path):
    clock = Clock()
    config = make_config(tmp_path, fees={"binance": 10.0, "okx": 10.0})
    m = Market(config, clock)
    m.book("binance", "BTC/USDT", [(99.0, 1.0)], [(100.0, 1.0), (101.0, 2.0), (102.0, 5.0)])
    ex = _executor(config, m)
    r = await ex.execute(OrderRequest("c1", 1, "binance", "BTC/USDT", BUY, 2.5, 101.5))
    assert r.status == FILLED
    assert [(f.price, f.qty) for f in r.fills] == [(100.0, 1.0), (101.0, 1.5)]
    # fees at 10 bps: 100 × 1 × 0.001 = 0.1 and 101 × 1.5 × 0.001 = 0.1515
    assert [f.fee for f in r.fills] == pytest.approx([0.1, 0.1515])
    assert all(f.fee_ccy == "USDT" for f in r.fills)
    # VWAP: (100 + 151.5) / 2.5 = 100.6
    assert r.avg_price == pytest.approx(100.6)


async def test_order_larger_than_depth_within_limit_fills_partially(tmp_path):
    clock = Clock()
    config = make_config(tmp_path)
    m = Market(config, clock)
    m.book("binance", "BTC/USDT", [(99.0, 1.0)], [(100.0, 1.0), (101.0, 2.0), (102.0, 5.0)])
    r = await _executor(config, m).execute(OrderRequest("c1", 1, "binance", "BTC/USDT", BUY, 4.0, 101.0))
    assert r.status == PARTIAL
    assert r.filled_qty == pytest.approx(3.0)  # 1 @ 100 + 2 @ 101; the 102 level is beyond the limit


async def test_order_fills_against_the_book_at_arrival_not_at_sending(tmp_path):
    clock = Clock()
    config = make_config(tmp_path, latency_ms=80.0, venue_latency_ms={"okx": 20.0})
    m = Market(config, clock)
    m.book("binance", "BTC/USDT", [(99.0, 1.0)], [(100.0, 1.0)])
    slept = []

    async def travel(seconds):
        # While the order travels, time passes and the venue's book moves up.
        slept.append(seconds)
        clock.advance(seconds)
        m.book("binance", "BTC/USDT", [(100.5, 1.0)], [(101.0, 0.4), (101.2, 1.0)])

    r = await _executor(config, m, travel).execute(OrderRequest("c1", 1, "binance", "BTC/USDT", BUY, 1.0, 101.1))
    assert slept == [0.08]  # binance's latency (the default 80 ms; okx has its own 20 ms)
    assert [(f.price, f.qty) for f in r.fills] == [(101.0, 0.4)]  # the arrival book, up to the limit
    assert r.status == PARTIAL
    assert r.fills[0].ts_ns == clock.now


async def test_liquidity_taken_stays_taken_until_the_venue_publishes_a_new_book(tmp_path):
    clock = Clock()
    config = make_config(tmp_path)
    m = Market(config, clock)
    m.book("binance", "BTC/USDT", [(99.0, 1.0)], [(100.0, 1.0), (101.0, 1.0)])
    ex = _executor(config, m)
    a = await ex.execute(OrderRequest("a", 1, "binance", "BTC/USDT", BUY, 0.6, None))
    b = await ex.execute(OrderRequest("b", 1, "binance", "BTC/USDT", BUY, 0.6, None))
    assert [(f.price, f.qty) for f in a.fills] == [(100.0, 0.6)]
    assert [(f.price, pytest.approx(f.qty)) for f in b.fills] == [(100.0, pytest.approx(0.4)), (101.0, pytest.approx(0.2))]
    m.book("binance", "BTC/USDT", [(99.0, 1.0)], [(100.0, 1.0), (101.0, 1.0)])
    c = await ex.execute(OrderRequest("c", 1, "binance", "BTC/USDT", BUY, 0.6, None))
    assert [(f.price, f.qty) for f in c.fills] == [(100.0, 0.6)]


async def test_order_on_a_down_venue_or_stale_book_is_rejected_without_fill(tmp_path):
    clock = Clock()
    config = make_config(tmp_path)
    m = Market(config, clock)
    m.book("binance", "BTC/USDT", [(99.0, 1.0)], [(100.0, 1.0)])
    m.book("okx", "BTC/USDT", [(99.0, 1.0)], [(100.0, 1.0)])
    ex = _executor(config, m)
    m.status("okx", DOWN)
    r = await ex.execute(OrderRequest("c1", 1, "okx", "BTC/USDT", BUY, 1.0, None))
    assert (r.status, r.reason, r.fills) == (REJECTED, "book_unavailable", [])
    clock.advance(5.001)  # binance's book is now older than max_quote_age_ms (5000)
    r = await ex.execute(OrderRequest("c2", 1, "binance", "BTC/USDT", BUY, 1.0, None))
    assert (r.status, r.reason) == (REJECTED, "book_unavailable")


def _spot_market(tmp_path, **trading):
    clock = Clock()
    config = make_config(tmp_path, **trading)
    m = Market(config, clock)
    m.book("binance", "BTC/USDT", [(99.9, 0.5), (99.5, 1.0)], [(100.0, 1.0), (100.4, 1.0)])
    m.book("okx", "BTC/USDT", [(101.0, 0.5), (100.8, 1.0)], [(101.1, 1.0)])
    return clock, config, m


async def test_spot_trade_with_both_legs_filled_realizes_spread_minus_fees(tmp_path):
    clock, config, m = _spot_market(tmp_path)
    runner = make_runner(config, m)
    await runner.start()
    # Limits at ±50 bps: buy ≤ 100.5, sell ≥ 100.495.
    trade = await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT", 100.0, 101.0, 1.2))
    await settle(runner)
    assert trade is not None and trade.status == CLOSED and trade.close_reason == "completed"
    # buy 1 @ 100 + 0.2 @ 100.4 = 120.08; sell 0.5 @ 101 + 0.7 @ 100.8 = 121.06
    # fees 10 bps each: 0.12008 + 0.12106 = 0.24114; pnl = 121.06 − 120.08 − 0.24114 = 0.73886
    assert trade.cash == pytest.approx(0.98)
    assert trade.fees == pytest.approx(0.24114)
    assert trade.realized == pytest.approx(0.73886)
    pf = runner.portfolio
    assert pf.balance("binance", "USDT") == pytest.approx(10_000 - 120.08 - 0.12008)
    assert pf.balance("binance", "BTC") == pytest.approx(2.0 + 1.2)
    assert pf.balance("okx", "USDT") == pytest.approx(10_000 + 121.06 - 0.12106)
    assert pf.balance("okx", "BTC") == pytest.approx(2.0 - 1.2)
    await runner.stop()


async def test_partial_sell_leg_unwinds_the_excess_at_market_and_records_the_leg_loss(tmp_path):
    clock, config, m = _spot_market(tmp_path)
    m.book("okx", "BTC/USDT", [(101.0, 0.5), (100.0, 1.0)], [(101.1, 1.0)])  # only 0.5 bid within 100.495
    runner = make_runner(config, m)
    await runner.start()
    trade = await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT", 100.0, 101.0, 1.2))
    await settle(runner)
    assert trade.status == CLOSED and trade.close_reason == "unwound"
    # bought 1.2 for 120.08 (avg 100.06667), sold 0.5 @ 101 = 50.5; excess 0.7 sold back on binance
    # at market: 0.5 @ 99.9 + 0.2 @ 99.5 = 69.85.
    # cash = −120.08 + 50.5 + 69.85 = 0.27; fees = 0.12008 + 0.0505 + 0.06985 = 0.24043; pnl = 0.02957
    assert trade.realized == pytest.approx(0.02957)
    # leg loss = the unwound 0.7's round trip: 0.5 × (99.9 − 100.06667) + 0.2 × (99.5 − 100.06667)
    #   − unwind fees 0.06985 − entry fees on 0.7 (0.12008 × 0.7/1.2 = 0.0700467) = −0.3365633
    assert trade.leg_pnl == pytest.approx(-0.3365633, abs=1e-6)
    # the matched 0.5 earned 0.5 × (101 − 100.06667) − 0.0500333 − 0.0505 = 0.3661333; the sum is the pnl
    assert trade.realized - trade.leg_pnl == pytest.approx(0.3661333, abs=1e-6)
    pf = runner.portfolio
    assert pf.balance("binance", "BTC") == pytest.approx(2.5)  # +1.2 − 0.7
    assert pf.balance("okx", "BTC") == pytest.approx(1.5)
    orders = runner.ledger.orders(trade.id)
    assert [(o["purpose"], o["side"], o["status"]) for o in orders] == [
        ("entry", "buy", "filled"), ("entry", "sell", "partial"), ("unwind", "sell", "filled")]
    await runner.stop()


async def test_hedge_policy_sells_the_missing_quantity_on_the_other_venue_at_market(tmp_path):
    clock, config, m = _spot_market(tmp_path, leg_risk="hedge")
    m.book("okx", "BTC/USDT", [(101.0, 0.5), (100.0, 1.0)], [(101.1, 1.0)])
    runner = make_runner(config, m)
    await runner.start()
    trade = await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT", 100.0, 101.0, 1.2))
    await settle(runner)
    assert trade.status == CLOSED and trade.close_reason == "hedged"
    # the missing 0.7 sold on okx at market: the 100.0 level (0.5 @ 101 was taken by the entry leg)
    # leg pnl vs the signal's 101: 0.7 × (100 − 101) = −0.7
    assert trade.leg_pnl == pytest.approx(-0.7)
    # cash = −120.08 + 50.5 + 70 = 0.42; fees 0.12008 + 0.0505 + 0.07 = 0.24058; pnl 0.17942
    assert trade.realized == pytest.approx(0.17942)
    assert runner.portfolio.balance("okx", "BTC") == pytest.approx(0.8)
    await runner.stop()


async def test_unwind_impossible_leaves_trade_unhedged_and_a_later_tick_resolves_it(tmp_path):
    clock, config, m = _spot_market(tmp_path)
    m.book("okx", "BTC/USDT", [(101.0, 0.5), (100.0, 1.0)], [(101.1, 1.0)])
    fired = []

    async def travel(_):
        if not fired:  # the first leg out: binance goes down right after the entry legs arrive
            fired.append(1)
            return
        m.status("binance", DOWN)

    runner = make_runner(config, m, sleep=travel)
    await runner.start()
    trade = await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT", 100.0, 101.0, 1.2))
    await settle(runner)
    assert trade.status == UNHEDGED  # 0.7 BTC long on binance, no book to sell it on
    assert trade.imbalance() == pytest.approx(0.7)
    row = runner.ledger.trades(1)[0]
    assert row["status"] == "unhedged"
    m.up("binance")
    m.book("binance", "BTC/USDT", [(99.9, 0.5), (99.5, 1.0)], [(100.0, 1.0), (100.4, 1.0)])
    fired.clear()
    fired.append(1)

    async def ok(_):
        return None

    runner.executor.sleep = ok
    await runner.tick()
    await settle(runner)
    assert trade.status == CLOSED and trade.close_reason == "unwound"
    assert trade.imbalance() == pytest.approx(0.0)
    await runner.stop()


def _perp_market(tmp_path, **trading):
    clock = Clock()
    trading.setdefault("inventory", {"default": {"USDT": 10_000.0}})
    config = make_config(tmp_path, **trading)
    m = Market(config, clock)
    m.book("binance", "BTC/USDT:USDT", [(99.9, 5.0)], [(100.0, 5.0)])
    m.book("okx", "BTC/USDT:USDT", [(101.0, 5.0)], [(101.1, 5.0)])
    return clock, config, m


async def test_perp_position_is_marked_to_market_and_closes_on_convergence(tmp_path):
    clock, config, m = _perp_market(tmp_path, exit_basis_bps=0.0)
    runner = make_runner(config, m)
    await runner.start()
    trade = await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT:USDT", 100.0, 101.0, 2.0))
    await settle(runner)
    assert trade.status == OPEN
    # long 2 @ 100 on binance, short 2 @ 101 on okx; fees 0.2 + 0.202 = 0.402; cash = 202 − 200 = 2
    assert (trade.buy_leg.qty, trade.sell_leg.qty) == (2.0, -2.0)
    # margin at leverage 1 is locked: 10000 − 0.2 (fee) − 200 available on binance
    assert runner.portfolio.available("binance", "USDT") == pytest.approx(10_000 - 0.2 - 200)
    # Prices move, basis still 60 bps: marked, not closed.
    m.book("binance", "BTC/USDT:USDT", [(100.4, 5.0)], [(100.5, 5.0)])
    m.book("okx", "BTC/USDT:USDT", [(101.0, 5.0)], [(101.1, 5.0)])
    clock.advance(1)
    await runner.tick()
    await settle(runner)
    assert trade.status == OPEN
    # mark value: long 2 × bid 100.4 − short 2 × ask 101.1 = −1.4; pnl = 2 − 0.402 − 1.4 = 0.198
    assert trade.mark_value == pytest.approx(-1.4)
    assert trade.pnl == pytest.approx(0.198)
    # Converged: mids 100.85 and 100.85.
    m.book("binance", "BTC/USDT:USDT", [(100.8, 5.0)], [(100.9, 5.0)])
    m.book("okx", "BTC/USDT:USDT", [(100.8, 5.0)], [(100.9, 5.0)])
    clock.advance(1)
    await runner.tick()
    await settle(runner)
    assert trade.status == CLOSED and trade.close_reason == "converged"
    # exit: sell 2 @ 100.8 on binance (+1.6 realized), buy 2 @ 100.9 on okx (+0.2 realized)
    # exit fees 0.2016 + 0.2018; pnl = 1.8 − 0.402 − 0.4034 = 0.9946
    assert trade.realized == pytest.approx(0.9946)
    assert runner.portfolio.balance("binance", "USDT") == pytest.approx(10_000 - 0.2 + 1.6 - 0.2016)
    assert runner.portfolio.balance("okx", "USDT") == pytest.approx(10_000 - 0.202 + 0.2 - 0.2018)
    assert runner.portfolio.locked_margin("binance", "USDT") == 0.0
    await runner.stop()


async def test_perp_position_accrues_funding_and_closes_after_the_holding_period(tmp_path):
    clock, config, m = _perp_market(tmp_path, holding_period_s=3600.0)
    m.funding("binance", "BTC/USDT:USDT", 0.0008, 8.0)  # long pays 0.0001 per hour
    m.funding("okx", "BTC/USDT:USDT", 0.0016, 8.0)  # short receives 0.0002 per hour
    runner = make_runner(config, m)
    await runner.start()
    trade = await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT:USDT", 100.0, 101.0, 2.0))
    await settle(runner)
    assert trade.status == OPEN
    clock.advance(1800)  # half an hour later; books refreshed, basis still 100 bps
    m.book("binance", "BTC/USDT:USDT", [(99.9, 5.0)], [(100.0, 5.0)])
    m.book("okx", "BTC/USDT:USDT", [(101.0, 5.0)], [(101.1, 5.0)])
    await runner.tick()
    await settle(runner)
    assert trade.status == OPEN
    # funding over 0.5 h, on the marks (binance bid 99.9, okx ask 101.1):
    #   long: −2 × 99.9 × 0.0001 × 0.5 = −0.00999; short: +2 × 101.1 × 0.0002 × 0.5 = +0.02022
    assert trade.funding == pytest.approx(0.01023)
    assert runner.ledger.replay_balances()[("okx", "USDT")] == pytest.approx(runner.portfolio.balance("okx", "USDT"))
    clock.advance(1800)  # the holding period is over
    m.book("binance", "BTC/USDT:USDT", [(99.9, 5.0)], [(100.0, 5.0)])
    m.book("okx", "BTC/USDT:USDT", [(101.0, 5.0)], [(101.1, 5.0)])
    await runner.tick()
    await settle(runner)
    assert trade.status == CLOSED and trade.close_reason == "holding_period"
    # second half hour accrues the same 0.01023; exit sell 2 @ 99.9 (−0.2), buy 2 @ 101.1 (−0.2)
    # pnl = cash (202 − 200 + 199.8 − 202.2 = −0.4) − fees (0.402 + 0.1998 + 0.2022) + funding 0.02046
    assert trade.funding == pytest.approx(0.02046)
    assert trade.realized == pytest.approx(-0.4 - 0.804 + 0.02046)
    await runner.stop()
