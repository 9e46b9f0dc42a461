"""p_capture on a synthetic lifetime history, against the rule in ``capture/estimator.py``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
from pytest import approx

from arbsniper.capture.estimator import CaptureEstimator, expected_net_bps
from arbsniper.config import Config
from arbsniper.instruments import SymbolMap
from tests.unit.enginekit import Harness
from tests.unit.trading_kit import Clock, Market, make_config, make_runner, signal


def estimator() -> tuple[CaptureEstimator, dict[str, int], dict[str, int]]:
    config = msgspec.convert({"trading": {"latency_ms": 100.0, "venue_latency_ms": {"okx": 250.0}}}, Config)
    symbols = SymbolMap()
    v = {n: symbols.venue_id(n) for n in ("binance", "okx", "bybit")}
    i = {n: symbols.instrument_id(n) for n in ("BTC/USDT", "ETH/USDT")}
    return CaptureEstimator(symbols, config), v, i


def test_prior_then_pair_then_instrument_estimates_follow_the_rule() -> None:
    est, v, i = estimator()
    btc, eth, bn, okx, by = i["BTC/USDT"], i["ETH/USDT"], v["binance"], v["okx"], v["bybit"]
    assert est.estimate(btc, bn, by) == 0.5 and est.estimate(eth, okx, bn) == 0.5  # the prior, no history
    # binance > bybit: L = max(100, 100) = 100 ms; 15 of 20 lifetimes exceed it
    for lt in [50.0] * 5 + [150.0] * 15:
        est.observe(btc, bn, by, lt)
    p_pair = (15 + 10 * 0.5) / (20 + 10)
    assert est.estimate(btc, bn, by) == approx(p_pair)  # 20 < 30 BTC closes: the pair's estimate
    assert est.estimate(eth, bn, by) == approx(p_pair)  # ETH has none: the pair's estimate
    assert est.estimate(btc, by, bn) == 0.5  # the other direction is another pair
    # binance > okx: L = max(100, 250) = 250 ms; none of 10 lifetimes of 200 ms exceeds it
    for _ in range(10):
        est.observe(eth, bn, okx, 200.0)
    assert est.estimate(eth, bn, okx) == approx((0 + 5) / (10 + 10))
    # 20 more BTC closes of 500 ms: pair 35 of 40, BTC has 40 >= 30 closes: its own estimate on the pair's prior
    for _ in range(20):
        est.observe(btc, bn, by, 500.0)
    p_pair = (35 + 5) / (40 + 10)
    assert est.estimate(eth, bn, by) == approx(p_pair)
    assert est.estimate(btc, bn, by) == approx((35 + 10 * p_pair) / (40 + 10))
    assert expected_net_bps(0.86, 30.0, 20.0) == approx(0.86 * 30 - 0.14 * 20)


def _open_close(h: Harness, lifetime_ms: float) -> None:
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, ask_size=0.5)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410, bid_size=0.3)
    h.advance_ms(lifetime_ms)
    h.quote("okx", "BTC/USDT", bid=99_995, ask=100_005)


def test_signals_carry_p_capture_and_the_gate_stops_opens() -> None:
    h = Harness(trading={"latency_ms": 100.0}, capture={"prior": 0.5, "prior_weight": 10.0})
    _open_close(h, 50.0)  # one close of 50 ms < 100 ms: p = (0 + 5) / 11
    assert h.events("close")[-1].p_capture == approx(0.5)  # announced with the estimate it opened with
    _open_close(h, 300.0)
    s = h.events("open")[-1]
    assert s.p_capture == approx(5 / 11)
    assert s.expected_net_bps == approx(5 / 11 * s.net_bps - 6 / 11 * s.fees_bps)
    gated = Harness(capture={"min_capture": 0.6})
    gated.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, ask_size=0.5)
    gated.quote("okx", "BTC/USDT", bid=100_400, ask=100_410, bid_size=0.3)
    assert gated.signals == [] and gated.engine.detector.rejected.get("low_capture") == 1


def test_trader_refuses_signals_below_its_min_capture(tmp_path: Path) -> None:
    config = make_config(tmp_path, min_capture=0.7)
    clock = Clock()
    runner = make_runner(config, Market(config, clock))
    low = msgspec.structs.replace(signal(clock, "binance", "okx", "BTC/USDT", 100.0, 100.5, 1.0), p_capture=0.4)
    unknown = signal(clock, "binance", "okx", "BTC/USDT", 100.0, 100.5, 1.0, oid="opp-2")  # no estimate: refused too
    assert asyncio.run(runner.on_signal(low)) is None
    assert asyncio.run(runner.on_signal(unknown)) is None
    assert runner.refused["low_capture"] == 2


def test_seeded_from_the_closes_of_earlier_runs(tmp_path: Path) -> None:
    from arbsniper.capture.report import recent_lifetimes
    from arbsniper.history import HistoryWriter, history_path
    from tests.unit.test_backtest import _close

    path = history_path(tmp_path)
    writer = HistoryWriter(path)
    writer.write([_close("a", "binance", "bybit", "BTC/USDT", 1000, 50),
                  _close("b", "binance", "bybit", "BTC/USDT", 2000, 150),
                  msgspec.structs.replace(_close("c", "binance", "bybit", "BTC/USDT", 3000, 10), close_reason="shutdown"),
                  _close("d", "kraken", "bybit", "BTC/USDT", 4000, 900)])  # a venue this run does not know
    writer.close()
    closes = recent_lifetimes(path, 100)
    assert closes == [("BTC/USDT", "binance", "bybit", 50.0), ("BTC/USDT", "binance", "bybit", 150.0),
                      ("BTC/USDT", "kraken", "bybit", 900.0)]
    est, v, i = estimator()
    assert est.seed(closes) == 2
    assert est.estimate(i["BTC/USDT"], v["binance"], v["bybit"]) == approx((1 + 5) / (2 + 10))
