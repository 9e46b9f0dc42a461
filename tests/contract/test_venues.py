"""The contract every venue connector passes, run through the real session against the simulator.

Parametrized over ``venues.REGISTRY`` × each venue's markets: a new venue module joins the suite
by being registered (and by having a simulator server, ``arbsniper.sim.<name>.SERVER``).
Waits poll for a condition with a generous deadline that only guards against a hang; nothing
here asserts how fast anything happens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
import pytest

from arbsniper.config import DemoConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import DOWN, RESYNCING, UP, Book, MarketEvent, Quote, VenueStatus
from arbsniper.sim.exchange import SIM_REGISTRY, Simulator
from arbsniper.sim.synthetic import DEMO_LISTINGS, Listing
from arbsniper.venues import REGISTRY, venue_class
from arbsniper.venues.base import Heartbeat, Venue
from arbsniper.venues.catalog import fetch_listing
from arbsniper.venues.metadata import InstrumentMeta
from arbsniper.venues.session import ReconnectPolicy, VenueSession

CASES = [
    (name, market)
    for name, info in REGISTRY.items()
    for market in info.markets
    if any(lst.venue == name and (":" in lst.instrument) == (market == "perp") for lst in DEMO_LISTINGS)
]
IDS = [f"{n}-{m}" for n, m in CASES]

# Calm market: no random crossed quotes or quiet spells, so the last book is always comparable.
CALM = DemoConfig(updates_per_s=300.0, dislocation_every_s=1e6, stale_every_s=1e6, crossed_every_s=1e6)


async def fetch_metadata(cls: type[Venue], market: str, rest_url: str) -> list[InstrumentMeta]:
    """The venue's listing as its own parser reads it from the simulator's REST (none where the
    venue module does not describe its listing yet), fetched as ``run`` fetches it."""
    try:
        cls.metadata_requests(market, rest_url.replace("{market}", market))
    except NotImplementedError:
        return []
    async with aiohttp.ClientSession() as http:
        return await fetch_listing(cls, market, rest_url, http)


async def listed(cls: type[Venue], market: str, rest_url: str, instrument: str) -> list[str | InstrumentMeta]:
    """``instrument`` as the venue market's own REST listing describes it (its units), else by name."""
    metas = [m for m in await fetch_metadata(cls, market, rest_url) if m.instrument == instrument]
    return [*metas] if metas else [instrument]


def _listing(name: str, market: str) -> Listing:
    return next(lst for lst in DEMO_LISTINGS if lst.venue == name and (":" in lst.instrument) == (market == "perp"))


class Harness:
    """A simulator for one venue listing, one real session against it, and what it emitted."""

    def __init__(self, name: str, market: str, heartbeat: Heartbeat | None = None) -> None:
        self.name, self.market = name, market
        self.listing = _listing(name, market)
        self.sim = Simulator([self.listing], demo=CALM, seed=7, venues=[name])
        self.server = self.sim.servers[name]
        self.symbols = SymbolMap()
        self.events: list[MarketEvent] = []
        self.heartbeat = heartbeat
        self.venue: Venue
        self.session: VenueSession
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Harness:
        await self.sim.start()
        ws, rest = self.sim.urls()[self.name]
        cls = venue_class(self.name, self.market)
        # Built from the venue's own listing where it has one: sizes may be contracts (OKX swaps).
        self.venue = cls(self.market, self.symbols, await listed(cls, self.market, rest, self.listing.instrument),
                         base_url=ws, rest_url=rest)
        hb = self.heartbeat
        if hb is None:
            real = self.venue.heartbeat()
            # Same rule, short clock, so the suite does not wait for the venue's real intervals.
            hb = Heartbeat(real.mode, 0.2 if real.interval_s else 0.0, 1.5, real.payload)
        self.session = VenueSession(self.venue, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2), heartbeat=hb, seed=1)
        self._task = asyncio.create_task(self.session.run(self.events.append))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.sim.stop()

    @property
    def iid(self) -> int:
        return self.symbols.instrument_id(self.listing.instrument)

    def count(self, pred: Callable[[MarketEvent], bool]) -> int:
        return sum(1 for e in self.events if pred(e))

    async def until(self, pred: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
        for _ in range(int(deadline_s / 0.01)):
            if pred():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{self.name} {self.market}: never saw {what}; down reasons {self.session.stats.down_reasons}")

    async def quotes_after(self, n: int = 0, k: int = 3) -> None:
        await self.until(lambda: self.count(lambda e: isinstance(e, Quote)) >= n + k, f"{k} quotes after the first {n}")

    def n_quotes(self) -> int:
        return self.count(lambda e: isinstance(e, Quote))

    async def settle(self) -> None:
        """Stop the market, then wait until the client has seen the last update."""
        await self.sim.pause()
        last = self.server.books[self.listing.instrument]
        top = (last.bids[0][0], last.asks[0][0])

        def caught_up() -> bool:
            q = next((e for e in reversed(self.events) if isinstance(e, Quote)), None)
            return q is not None and (q.bid, q.ask) == top

        await self.until(caught_up, "the last published quote")

    def statuses(self, state: int, instrument: bool) -> list[VenueStatus]:
        return [
            e for e in self.events
            if isinstance(e, VenueStatus) and e.state == state and (e.instrument == self.iid if instrument else e.instrument < 0)
        ]


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
async def test_session_subscribes_and_bbo_matches_simulated_top_of_book(name: str, market: str) -> None:
    assert name in SIM_REGISTRY, f"{name} has no simulator server"
    async with Harness(name, market) as h:
        await h.quotes_after(0, 5)
        await h.settle()
        last_book = h.server.books[h.listing.instrument]
        q = next(e for e in reversed(h.events) if isinstance(e, Quote))
        assert (q.venue, q.instrument) == (h.venue.venue_id, h.iid)
        assert (q.bid, q.bid_size, q.ask, q.ask_size) == (*last_book.bids[0], *last_book.asks[0])
        assert q.recv_ts_ns > 0 and q.exchange_ts_ns > 0
        assert h.statuses(UP, instrument=False), "no UP status on connect"
        assert h.server.messages_received or h.venue.subscribe_messages() == [], "nothing was subscribed"


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
async def test_l2_book_matches_reference_book_after_snapshot_and_deltas(name: str, market: str) -> None:
    async with Harness(name, market) as h:
        await h.until(lambda: h.count(lambda e: isinstance(e, Book)) >= 20, "20 book updates")
        await h.settle()
        ref = h.server.books[h.listing.instrument]

        def book_matches() -> bool:
            b = next((e for e in reversed(h.events) if isinstance(e, Book)), None)
            return b is not None and b.bids[: len(ref.bids)] == ref.bids and b.asks[: len(ref.asks)] == ref.asks

        await h.until(book_matches, "a book equal to the simulator's reference book")


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
async def test_sequence_gap_marks_book_resyncing_then_resyncs_from_fresh_snapshot(name: str, market: str) -> None:
    if not SIM_REGISTRY[name].has_sequence:
        pytest.skip(f"{name} books carry no sequence numbers")
    async with Harness(name, market) as h:
        await h.until(lambda: bool(h.statuses(UP, instrument=True)), "the first book sync")
        synced_before = len(h.statuses(UP, instrument=True))
        h.server.skip_sequence(h.listing.instrument)
        await h.until(lambda: any("gap" in s.reason for s in h.statuses(RESYNCING, instrument=True)), "a gap")
        await h.until(lambda: len(h.statuses(UP, instrument=True)) > synced_before, "the book synced again")
        await h.settle()
        ref = h.server.books[h.listing.instrument]

        def book_matches() -> bool:
            b = next((e for e in reversed(h.events) if isinstance(e, Book)), None)
            return b is not None and b.bids[: len(ref.bids)] == ref.bids and b.asks[: len(ref.asks)] == ref.asks

        await h.until(book_matches, "a book equal to the reference after the resync")
        assert h.session.stats.resyncs >= 1


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
async def test_checksum_mismatch_marks_book_resyncing_then_resyncs(name: str, market: str) -> None:
    if not SIM_REGISTRY[name].has_checksum:
        pytest.skip(f"{name} books carry no checksum")
    async with Harness(name, market) as h:
        await h.until(lambda: bool(h.statuses(UP, instrument=True)), "the first book sync")
        synced_before = len(h.statuses(UP, instrument=True))
        h.server.corrupt_checksum(h.listing.instrument)
        await h.until(lambda: any("checksum" in s.reason for s in h.statuses(RESYNCING, instrument=True)), "a checksum mismatch")
        await h.until(lambda: len(h.statuses(UP, instrument=True)) > synced_before, "the book synced again")


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
async def test_missing_pong_or_silence_reconnects(name: str, market: str) -> None:
    async with Harness(name, market) as h:
        await h.quotes_after(0, 3)
        hb = h.session.heartbeat
        if hb.mode in ("text", "json", "client-ping"):
            h.server.faults.mute_pongs = True  # data still flows: only the pong is missing
            expected = "no pong"
        else:
            h.server.faults.silent = True  # the venue pings us: a dead socket just goes quiet
            expected = "no frame"
        await h.until(lambda: any(expected in s.reason for s in h.statuses(DOWN, instrument=False)), f"DOWN ({expected})")
        h.server.faults.mute_pongs = h.server.faults.silent = False
        await h.until(lambda: h.session.stats.connects >= 2, "a reconnect")
        n = h.n_quotes()
        await h.quotes_after(n, 3)


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
async def test_server_close_reconnects_and_resubscribes(name: str, market: str) -> None:
    async with Harness(name, market) as h:
        await h.quotes_after(0, 3)
        connections_before = h.server.connections_total
        h.server.drop_connections(1001, "going away")
        await h.until(lambda: any("closed by server" in s.reason for s in h.statuses(DOWN, instrument=False)), "DOWN on close")
        await h.until(lambda: len(h.statuses(UP, instrument=False)) >= 2, "UP again")
        assert h.server.connections_total == connections_before + 1
        n = h.n_quotes()
        await h.quotes_after(n, 3)  # subscriptions were sent again on the new connection
        down = h.statuses(DOWN, instrument=False)[0]
        assert down.venue == h.venue.venue_id and down.market == h.venue.kind


@pytest.mark.parametrize(("name", "market"), CASES, ids=IDS)
async def test_garbage_frame_is_counted_and_loop_stays_alive(name: str, market: str) -> None:
    async with Harness(name, market) as h:
        await h.quotes_after(0, 3)
        h.server.send_garbage("\x00{garbage")
        h.server.send_garbage('{"unexpected": [1, 2, 3]}')
        await h.until(lambda: h.session.stats.bad_frames >= 2, "two bad frames counted")
        n = h.n_quotes()
        await h.quotes_after(n, 3)
        assert h.session.stats.connects == 1, "a bad frame must not cost the connection"
