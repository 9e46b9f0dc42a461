"""Helpers of the simulator round-trip tests: a venue's listing fetched from the simulator's REST
and parsed by the venue's own parser, then the real ``VenueSession`` against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

import aiohttp

from arbsniper.model import MarketEvent
from arbsniper.venues.base import Heartbeat, Venue
from arbsniper.venues.metadata import InstrumentMeta, RestRequest
from arbsniper.venues.session import ReconnectPolicy, VenueSession


async def fetch_metadata(cls: type[Venue], market: str, rest_url: str) -> list[InstrumentMeta]:
    """``cls.parse_metadata`` of what the server at ``rest_url`` answers ``cls.metadata_requests``."""
    bodies: dict[str, list[bytes]] = {}
    async with aiohttp.ClientSession() as http:
        for first in cls.metadata_requests(market, rest_url.replace("{market}", market)):
            page: RestRequest | None = first
            while page is not None:
                async with http.request(page.method, page.url, data=page.body) as resp:
                    assert resp.status == 200, (page.url, resp.status)
                    body = await resp.read()
                bodies.setdefault(page.name, []).append(body)
                page = cls.next_page(market, page, body)
    return cls.parse_metadata(market, bodies)


class Tap:
    """Every text frame the session received, decoded."""

    def __init__(self) -> None:
        self.frames: list[dict[str, object]] = []

    def frame(self, venue: str, market: str, recv_ns: int, text: str) -> None:
        with contextlib.suppress(ValueError):
            decoded = json.loads(text)
            if isinstance(decoded, dict):
                self.frames.append(decoded)

    def rest(self, venue: str, market: str, recv_ns: int, path: str, body: str) -> None:
        return None

    def status(self, venue: str, market: str, recv_ns: int, state: str, reason: str) -> None:
        return None


class Running:
    """One real session of ``venue`` (short heartbeat clock), collecting its events and frames."""

    def __init__(self, venue: Venue) -> None:
        real = venue.heartbeat()
        self.events: list[MarketEvent] = []
        self.tap = Tap()
        self.session = VenueSession(venue, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2), tap=self.tap,
                                    heartbeat=Heartbeat(real.mode, 0.2, 1.5, real.payload), seed=1)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self._task = asyncio.create_task(self.session.run(self.events.append))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def until(self, pred: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
        for _ in range(int(deadline_s / 0.01)):
            if pred():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"never saw {what}; down reasons {self.session.stats.down_reasons}")
