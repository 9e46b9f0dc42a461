"""Subscriptions at scale: the split over connections at each venue's limits, the request pacing,
and every chunk subscribed against the simulator without one refusal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import pytest

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, MarketEvent, Quote
from arbsniper.sim import binance, bitget, bybit, coinbase, hyperliquid, kucoin, okx, paradex
from arbsniper.sim.exchange import Simulator
from arbsniper.sim.synthetic import Listing
from arbsniper.venues import REGISTRY
from arbsniper.venues.connect import build_venues
from arbsniper.venues.metadata import TRADING, InstrumentMeta, SubscriptionLimits
from arbsniper.venues.session import Pacer, ReconnectPolicy, VenueSession
from arbsniper.venues.subscriptions import instruments_per_connection, plan_connections, subscribe_requests
from tests.unit.venues.simrun import CALM, Tap, fetch_metas, rest_base


def _plan(venue: str, market: str, n: int) -> list[list[int]]:
    cls = REGISTRY[venue].markets[market]
    return plan_connections(cls.subscription_limits, list(range(n)), cap=cls.max_instruments_per_connection)


@pytest.mark.parametrize(("venue", "market", "sizes"), [
    ("binance", "spot", [300]),  # 600 of 1024 streams
    ("bybit", "spot", [150, 150]),  # 583 topics a connection (21 000 args characters) / 2
    ("bybit", "perp", [150, 150]),  # / 3 = 194
    ("okx", "perp", [100, 100, 100]),  # 300 channels a connection / 3
    ("okx", "spot", [150, 150]),
    ("bitget", "perp", [16] * 15 + [15] * 4),  # the recommended 50 channels a connection / 3 = 16, evened
    ("kucoin", "spot", [150, 150]),  # 400 topics a connection / 2
    ("kucoin", "perp", [100, 100, 100]),  # / 3 = 133
    ("coinbase", "spot", [100, 100, 100]),
    ("paradex", "perp", [50] * 6),  # 150 channels a connection / 3
    ("hyperliquid", "perp", [300]),  # 900 of the 1000 subscriptions an IP allows
])
def test_300_instruments_split_within_each_venue_limits(venue: str, market: str, sizes: list[int]) -> None:
    plan = _plan(venue, market, 300)
    assert [len(chunk) for chunk in plan] == sizes
    assert [i for chunk in plan for i in chunk] == list(range(300))  # all of them, in rank order


def test_per_ip_caps_leave_the_last_ranked_out_never_overrun() -> None:
    [kept] = _plan("hyperliquid", "perp", 400)  # 1000 subscriptions per IP / 3 = 333
    assert kept == list(range(333))
    limits = SubscriptionLimits(streams_per_instrument=1, max_streams_per_connection=10, max_args_per_request=10,
                                max_requests_per_s=1.0, max_connections=2)
    assert plan_connections(limits, list(range(25))) == [list(range(10)), list(range(10, 20))]
    assert plan_connections(limits, []) == []


def test_a_venues_markets_share_its_per_ip_caps() -> None:
    spot = REGISTRY["hyperliquid"].markets["spot"].subscription_limits
    assert [len(c) for c in plan_connections(spot, list(range(300)), streams_used=900)] == [50]  # 100 left / 2
    assert plan_connections(spot, list(range(300)), streams_used=1000) == []
    limits = SubscriptionLimits(streams_per_instrument=1, max_streams_per_connection=10, max_args_per_request=10,
                                max_requests_per_s=1.0, max_connections=2)
    assert plan_connections(limits, list(range(25)), connections_used=1) == [list(range(10))]
    # build_venues plans the venue's markets one after the other against the same caps
    listings = [hyperliquid.listing(f"Q{k:03d}/USDC:USDC", 100.0) for k in range(300)]
    listings += [hyperliquid.listing(f"Q{k:03d}/USDC", 100.0) for k in range(300)]
    spot_metas = {("hyperliquid", f"Q{k:03d}/USDC"): InstrumentMeta(
        venue="hyperliquid", market="spot", native_symbol=f"@{k}", instrument=f"Q{k:03d}/USDC", status=TRADING)
        for k in range(300)}  # spot pairs are named by spotMeta index
    venues = build_venues(Config(), SymbolMap(), listings=listings, metas=spot_metas)
    assert sorted((v.market, len(v.instruments)) for v in venues) == [("perp", 300), ("spot", 50)]  # 900 + 100 streams


def test_hourly_budget_bounds_a_connection_when_it_binds() -> None:
    # 8 requests an hour of 2 args: the first subscription may use 2 requests (a quarter), 4 streams.
    limits = SubscriptionLimits(streams_per_instrument=2, max_streams_per_connection=100, max_args_per_request=2,
                                max_requests_per_s=1.0, max_requests_per_hour=8)
    assert instruments_per_connection(limits) == 2
    assert subscribe_requests(limits, 2) == 2 and [len(c) for c in plan_connections(limits, list(range(5)))] == [2, 2, 1]
    okx_perp = REGISTRY["okx"].markets["perp"].subscription_limits
    assert subscribe_requests(okx_perp, 100) == 1  # one request of 300 args: 1 of its 480 an hour


def test_pacer_spaces_requests_and_spends_the_hourly_budget() -> None:
    now = [100.0]
    pacer = Pacer(4.0, per_hour=3, clock=lambda: now[0])
    assert [pacer.reserve() for _ in range(3)] == [0.0, 0.25, 0.5]  # slots 0.25 s apart, claimed in order
    assert pacer.reserve() is None and pacer.hour_left() == 0  # the hour's budget is spent
    now[0] += 3600.3  # the first two slots (100.0, 100.25) are an hour old, not the third (100.5)
    assert pacer.hour_left() == 2 and pacer.reserve() == 0.0
    pacer.reset()
    assert pacer.hour_left() == 3 and Pacer(2.0).hour_left() is None


_LISTING: dict[str, Callable[[str, float], Listing]] = {
    "binance": binance.listing, "bybit": bybit.listing, "okx": okx.listing, "bitget": bitget.listing,
    "kucoin": kucoin.listing, "coinbase": coinbase.listing, "paradex": paradex.listing,
}


def _listings(venue: str, market: str, n: int) -> list[Listing]:
    quote = {"coinbase": "USD", "paradex": "USD"}.get(venue, "USDT")
    settle = "USDC" if venue == "paradex" else quote
    names = [f"Q{k:03d}/{quote}" + (f":{settle}" if market == "perp" else "") for k in range(n)]
    return [_LISTING[venue](name, 100.0) for name in names]


def _refused(text: str | bytes) -> bool:
    if isinstance(text, bytes):  # a binary frame (Paradex SBE market data): data, never a refusal
        return False
    return '"error"' in text or '"success":false' in text


@pytest.mark.parametrize(("venue", "market", "n", "connections"), [
    ("okx", "perp", 300, 3),
    ("okx", "spot", 300, 2),
    ("bybit", "spot", 300, 2),
    ("bybit", "perp", 300, 2),
    ("binance", "spot", 120, 1),  # one REST snapshot per book: kept small
    ("bitget", "perp", 50, 4),
    ("kucoin", "spot", 260, 2),
    ("kucoin", "perp", 140, 2),
    ("coinbase", "spot", 300, 3),
    ("coinbase", "perp", 150, 2),
    ("paradex", "perp", 51, 2),  # one channel per request at 10/s: 78 requests a connection
])
async def test_every_planned_connection_subscribes_all_its_instruments_with_no_refusal(
        venue: str, market: str, n: int, connections: int) -> None:
    sim = Simulator(_listings(venue, market, n), demo=CALM, seed=3, venues=[venue])
    await sim.start()
    tasks: list[asyncio.Task[None]] = []
    try:
        cls = REGISTRY[venue].markets[market]
        metas = await fetch_metas(cls, market, rest_base(sim, venue, market))
        assert len(metas) == n
        plan = plan_connections(cls.subscription_limits, metas, cap=cls.max_instruments_per_connection)
        assert len(plan) == connections
        ws, rest = sim.urls()[venue]
        symbols = SymbolMap()
        taps = [Tap() for _ in plan]
        seen: set[int] = set()

        def sink(ev: MarketEvent) -> None:
            if type(ev) is Quote or type(ev) is Book:
                seen.add(ev.instrument)

        sessions = [VenueSession(cls(market, symbols, chunk, base_url=ws, rest_url=rest), tap=tap, seed=1,
                                 policy=ReconnectPolicy(initial_s=0.05, max_s=0.2)) for chunk, tap in zip(plan, taps, strict=True)]
        tasks = [asyncio.create_task(s.run(sink)) for s in sessions]
        wanted = {symbols.instrument_id(m.instrument) for m in metas}
        for _ in range(3000):
            if wanted <= seen:
                break
            await asyncio.sleep(0.01)
        assert wanted <= seen, f"{len(wanted - seen)} of {n} instruments never quoted"
        server = sim.servers[venue]
        assert len(server.connections) == connections
        assert all(s.stats.connects == 1 for s in sessions), [s.stats.down_reasons for s in sessions]
        assert getattr(server, "refusals", []) == []
        assert not [f for tap in taps for f in tap.frames if _refused(f)]
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await sim.stop()


async def test_a_spent_hourly_budget_rolls_the_connection_instead_of_sending_a_request_okx_refuses() -> None:
    sim = Simulator(_listings("okx", "perp", 2), demo=CALM, seed=3, venues=["okx"])
    await sim.start()
    task: asyncio.Task[None] | None = None
    try:
        cls = REGISTRY["okx"].markets["perp"]
        metas = await fetch_metas(cls, "perp", rest_base(sim, "okx", "perp"))
        ws, rest = sim.urls()["okx"]
        venue = cls("perp", SymbolMap(), metas, base_url=ws, rest_url=rest)
        tap = Tap()
        session = VenueSession(venue, tap=tap, seed=1, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2))
        session.pacer.per_hour = 1  # OKX allows 480 an hour per connection: here the subscribe spends it
        server = sim.servers["okx"]
        assert isinstance(server, okx.OkxSim)
        server.max_requests_per_hour = 2  # and the venue would refuse a third
        events: list[MarketEvent] = []
        task = asyncio.create_task(session.run(events.append))
        for _ in range(500):
            if session.stats.state == "up" and any(type(e) is Book for e in events):
                break
            await asyncio.sleep(0.01)
        iid = venue.symbols.instrument_id(metas[0].instrument)
        await session._send_paced(venue.resubscribe_messages(iid))  # a resync: two more requests
        for _ in range(500):
            if session.stats.connects == 2 and session.stats.state == "up":
                break
            await asyncio.sleep(0.01)
        assert session.stats.down_reasons[0] == "hourly request budget spent (1/h): new connection"
        assert session.stats.connects == 2  # a fresh budget on a fresh connection, subscribed again
        assert not [f for f in tap.frames if _refused(f)]  # no 60014 "Requests too frequent."
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await sim.stop()
