"""The synthetic market: reproducible, correlated, and deliberately imperfect."""

from __future__ import annotations

from arbsniper.config import DemoConfig
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import Signal
from arbsniper.sim.synthetic import DEMO_LISTINGS, SimBook, SimFunding, SyntheticMarket, SyntheticSource
from tests.unit.enginekit import make_config

SECOND = 1_000_000_000


def run(market: SyntheticMarket, seconds: float, step_ms: int = 20) -> list[SimBook | SimFunding]:
    out: list[SimBook | SimFunding] = []
    t = 0
    while t <= seconds * SECOND:
        out.extend(market.step(t))
        t += step_ms * 1_000_000
    return out


def test_same_seed_same_market() -> None:
    a = run(SyntheticMarket(DEMO_LISTINGS, seed=4), 2)
    b = run(SyntheticMarket(DEMO_LISTINGS, seed=4), 2)
    assert [(u.venue, u.instrument, u.ts_ns) for u in a] == [(u.venue, u.instrument, u.ts_ns) for u in b]


def test_books_are_valid_sorted_and_deep_except_injected_crossed_ones() -> None:
    updates = run(SyntheticMarket(DEMO_LISTINGS, DemoConfig(crossed_every_s=0.5), seed=2, depth=10), 5)
    books = [u for u in updates if isinstance(u, SimBook)]
    crossed = [b for b in books if b.crossed]
    assert crossed, "no crossed quote injected in 5 s at one per 0.5 s"
    for b in books:
        assert len(b.bids) == len(b.asks) == 10
        if b.crossed:
            assert b.bids[0][0] >= b.asks[0][0]
        else:
            assert b.bids[0][0] < b.asks[0][0]
            assert [p for p, _ in b.bids] == sorted((p for p, _ in b.bids), reverse=True)
            assert [p for p, _ in b.asks] == sorted(p for p, _ in b.asks)


def test_perpetuals_publish_funding_with_their_venue_interval() -> None:
    updates = run(SyntheticMarket(DEMO_LISTINGS, seed=1), 0.1)
    funding = {(f.venue, f.instrument): f for f in updates if isinstance(f, SimFunding)}
    assert funding[("hyperliquid", "BTC/USDC:USDC")].interval_hours == 1.0
    assert funding[("binance", "BTC/USDT:USDT")].interval_hours == 8.0
    assert ("binance", "BTC/USDT") not in funding


def test_demo_market_through_the_engine_opens_closes_and_rejects_bad_quotes() -> None:
    symbols = SymbolMap()
    signals: list[Signal] = []
    demo = DemoConfig(dislocation_every_s=0.5, stale_every_s=2.0, crossed_every_s=1.0)
    source = SyntheticSource(symbols, demo=demo, seed=9)
    now = {"t": 10 * SECOND}
    engine = Engine(symbols, make_config(), signals.append, clock_ns=lambda: now["t"])
    engine.grow()
    while now["t"] < 40 * SECOND:
        now["t"] += 10_000_000
        for update in source.market.step(now["t"]):
            for ev in source.events(update, now["t"]):
                engine.on_event(ev)
        engine.expire(now["t"])
    events = {s.event for s in signals}
    assert {"open", "close"} <= events
    reasons = {s.close_reason for s in signals if s.event == "close"}
    assert "stale_quote" in reasons or "no_quote" in reasons
    assert engine.state.crossed > 0
    assert all(s.net_bps >= 0 for s in signals if s.event != "close")
