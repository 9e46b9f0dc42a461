"""Helpers of the simulator round-trip tests: the listing over real HTTP, a real session, a raw socket.

``fetch_metadata`` makes a venue class's ``metadata_requests`` (following ``next_page``) against
the simulator's REST port with aiohttp and parses the answers with ``parse_metadata``, as the
catalog does at start. ``SessionRun`` runs one real ``VenueSession`` against the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp

from arbsniper.config import DemoConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, MarketEvent, Quote
from arbsniper.sim.exchange import Simulator
from arbsniper.venues.base import Heartbeat, Venue
from arbsniper.venues.metadata import InstrumentMeta, RestRequest
from arbsniper.venues.session import ReconnectPolicy, VenueSession

# Calm market: no random crossed quotes or quiet spells, so the last book is always comparable.
CALM = DemoConfig(updates_per_s=300.0, dislocation_every_s=1e6, stale_every_s=1e6, crossed_every_s=1e6)


async def fetch(request: RestRequest) -> bytes:
    async with aiohttp.ClientSession() as http, http.request(request.method, request.url) as resp:
        body = await resp.read()
        assert resp.status == 200, f"{request.url}: HTTP {resp.status} {body[:200]!r}"
        return body


async def fetch_pages(cls: type[Venue], market: str, request: RestRequest) -> list[bytes]:
    """Every page of one request, following ``next_page``."""
    pages: list[bytes] = []
    page: RestRequest | None = request
    while page is not None:
        body = await fetch(page)
        pages.append(body)
        page = cls.next_page(market, page, body)
    return pages


async def fetch_metadata(cls: type[Venue], market: str, rest_base: str) -> list[InstrumentMeta]:
    bodies = {r.name: await fetch_pages(cls, market, r) for r in cls.metadata_requests(market, rest_base)}
    return cls.parse_metadata(market, bodies)


async def until(pred: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
    for _ in range(int(deadline_s / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never saw {what}")


class SessionRun:
    """A simulator, the venue built from its own listing, and a real session collecting events."""

    def __init__(self, sim: Simulator, name: str) -> None:
        self.sim = sim
        self.name = name
        self.server = sim.servers[name]
        self.symbols = SymbolMap()
        self.events: list[MarketEvent] = []
        self.venue: Venue
        self.session: VenueSession
        self._task: asyncio.Task[None] | None = None

    def start(self, venue: Venue) -> None:
        self.venue = venue
        real = venue.heartbeat()
        hb = Heartbeat(real.mode, 0.2 if real.interval_s else 0.0, 1.5, real.payload)
        self.session = VenueSession(venue, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2), heartbeat=hb, seed=1)
        self._task = asyncio.create_task(self.session.run(self.events.append))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def books(self, instrument: str) -> list[Book]:
        iid = self.symbols.instrument_id(instrument)
        return [e for e in self.events if isinstance(e, Book) and e.instrument == iid]

    def quotes(self, instrument: str) -> list[Quote]:
        iid = self.symbols.instrument_id(instrument)
        return [e for e in self.events if isinstance(e, Quote) and e.instrument == iid]

    async def settled_book_matches(self, instrument: str) -> None:
        """Stop the market, then wait for a Book equal (prices and base sizes) to the simulator's last."""
        await until(lambda: len(self.books(instrument)) >= 10, f"10 books of {instrument}")
        await self.sim.pause()
        ref = self.server.books[instrument]

        def matches() -> bool:
            books = self.books(instrument)
            return bool(books) and books[-1].bids[: len(ref.bids)] == ref.bids and books[-1].asks[: len(ref.asks)] == ref.asks

        await until(matches, f"a book of {instrument} equal to the simulator's")
