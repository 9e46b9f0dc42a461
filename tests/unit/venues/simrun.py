"""Round trips against the simulator: fetch a venue's listing over its REST port, parse it, and run
the real ``VenueSession`` with the metadata (the pattern of ``tests/contract/test_venues.py``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp

from arbsniper.config import DemoConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import MarketEvent
from arbsniper.sim.exchange import Simulator
from arbsniper.sim.synthetic import Listing
from arbsniper.venues.base import Heartbeat, Venue
from arbsniper.venues.metadata import InstrumentMeta
from arbsniper.venues.session import ReconnectPolicy, VenueSession

# Calm market: no random crossed quotes or quiet spells, so the last book is always comparable.
CALM = DemoConfig(updates_per_s=300.0, dislocation_every_s=1e6, stale_every_s=1e6, crossed_every_s=1e6)


async def fetch_bodies(cls: type[Venue], market: str, rest_base: str) -> dict[str, list[bytes]]:
    """Every page of every metadata request of ``cls`` for ``market``, as the venue answered it."""
    bodies: dict[str, list[bytes]] = {}
    async with aiohttp.ClientSession() as http:
        for request in cls.metadata_requests(market, rest_base):
            page = request
            while page is not None:
                async with http.request(page.method, page.url, data=page.body) as resp:
                    body = await resp.read()
                    assert resp.status == 200, f"{page.url}: HTTP {resp.status} {body[:200]!r}"
                bodies.setdefault(page.name, []).append(body)
                page = cls.next_page(market, page, body)
    return bodies


async def fetch_metas(cls: type[Venue], market: str, rest_base: str) -> list[InstrumentMeta]:
    return cls.parse_metadata(market, await fetch_bodies(cls, market, rest_base))


class Tap:
    """Keeps the raw text frames a session received (what the wire carried)."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.rests: list[str] = []

    def frame(self, venue: str, market: str, recv_ns: int, text: str) -> None:
        self.frames.append(text)

    def rest(self, venue: str, market: str, recv_ns: int, path: str, body: str) -> None:
        self.rests.append(path)

    def status(self, venue: str, market: str, recv_ns: int, state: str, reason: str) -> None:
        return None


class Run:
    """A simulator, one session of ``venue`` against it, what it emitted and what it received."""

    def __init__(self, sim: Simulator, venue: Venue, session: VenueSession, events: list[MarketEvent], tap: Tap) -> None:
        self.sim, self.venue, self.session, self.events, self.tap = sim, venue, session, events, tap
        self.server = sim.servers[venue.name]

    async def until(self, pred: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
        for _ in range(int(deadline_s / 0.01)):
            if pred():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"never saw {what}; down reasons {self.session.stats.down_reasons}")


@contextlib.asynccontextmanager
async def simulator(listings: Sequence[Listing], seed: int = 5) -> AsyncIterator[Simulator]:
    sim = Simulator(list(listings), demo=CALM, seed=seed, venues=sorted({lst.venue for lst in listings}))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def rest_base(sim: Simulator, venue: str, market: str) -> str:
    return sim.urls()[venue][1].replace("{market}", market)


@contextlib.asynccontextmanager
async def session(sim: Simulator, cls: type[Venue], market: str, metas: Sequence[InstrumentMeta],
                  heartbeat: Heartbeat | None = None) -> AsyncIterator[Run]:
    ws, rest = sim.urls()[cls.name]
    venue = cls(market, SymbolMap(), list(metas), base_url=ws, rest_url=rest)
    tap = Tap()
    events: list[MarketEvent] = []
    run = VenueSession(venue, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2), tap=tap, heartbeat=heartbeat, seed=1)
    task = asyncio.create_task(run.run(events.append))
    try:
        yield Run(sim, venue, run, events, tap)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
