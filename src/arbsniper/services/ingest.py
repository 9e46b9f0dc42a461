"""``arbsniper ingest``: market sources published on ZeroMQ for the engine shards.

Any ``MarketSource`` plugs in (venue connectors, the synthetic market, a replay): each gets the
``ZmqPublisher``'s non-blocking ``publish`` as its sink. ``/health`` and ``/metrics`` report each
venue's connection, the events received, sent and dropped (conflated in the backlog while a
subscriber lags), and the receive → publish latency.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Sequence
from typing import Any

from arbsniper.bus.zmq import ZmqPublisher
from arbsniper.config import Config
from arbsniper.httpd import HttpServer, ops_app
from arbsniper.instruments import SymbolMap
from arbsniper.metrics import (
    DROPS,
    MESSAGES,
    RECEIVED,
    STAGE_INGEST_PUBLISH,
    VENUE_UP,
    LatencyHistogram,
    Part,
    ServiceCollector,
    make_registry,
    per_venue,
    process_samples,
    queue_samples,
)
from arbsniper.model import ANY, MARKET_NAMES, STATE_NAMES, UP
from arbsniper.runtime import run_until_stopped
from arbsniper.venues.base import MarketSource

log = logging.getLogger("arbsniper.services")

ACTIVITY_EVERY_S = 1.0
ACTIVE_WITHIN_S = 5.0  # a venue that reports no status counts as connected while it sent this recently
STATS_EVERY_S = 5.0


class IngestService:
    """Runs market sources and publishes their events on ZeroMQ."""

    def __init__(self, config: Config, sources: Sequence[MarketSource], symbols: SymbolMap, *,
                 bind: list[str] | None = None, http: tuple[str, int] | None = ("127.0.0.1", 9101)) -> None:
        self.config = config
        self.sources = list(sources)
        self.symbols = symbols
        self.publisher = ZmqPublisher(symbols, config.zmq, endpoints=bind)
        self.http = http
        self.ops: HttpServer | None = None
        self.started = time.monotonic()
        self._active: dict[int, float] = {}  # venue id -> monotonic time its received count last grew
        self._last_received: dict[int, int] = {}
        self.stop = asyncio.Event()
        self.registry = make_registry(ServiceCollector(self.samples, self.histograms))

    # -- observability --------------------------------------------------------------------------
    def venue_connected(self, v: int) -> bool:
        """The venue's own connection status if it reports one, else: it sent data recently."""
        state = self.publisher.venue_state.get(v)
        if state is not None:
            return state == UP
        seen = self._active.get(v)
        return seen is not None and time.monotonic() - seen <= ACTIVE_WITHIN_S

    def _venues(self) -> list[int]:
        pub = self.publisher
        return sorted(set(pub.received) | set(pub.venue_state))

    def health(self) -> dict[str, Any]:
        pub = self.publisher
        st = pub.stats()
        venues = {}
        for v in self._venues():
            state = pub.venue_state.get(v)
            venues[self.symbols.venues[v]] = {
                "connected": self.venue_connected(v),
                "state": STATE_NAMES[state] if state is not None else None,
                "messages": pub.sent.get(v, 0),
                "received": pub.received.get(v, 0),
                "drops": pub.backlog.dropped_by_venue.get(v, 0),
            }
        healthy = bool(venues) and all(v["connected"] for v in venues.values())
        return {
            "service": "ingest",
            "status": "ok" if healthy else "degraded",  # degraded: no data yet, or a venue is down
            "uptime_s": round(time.monotonic() - self.started, 3),
            "zmq": {"endpoints": st["endpoints"], "subscribed_topics": st["subscribed_topics"],
                    "backlog": st["backlog"], "blocked": st["blocked"]},
            "messages_sent": st["sent"],
            "messages_received": st["received"],
            "drops": st["dropped"],
            "venues": venues,
            "latency": {STAGE_INGEST_PUBLISH: pub.latency.as_dict()},
        }

    def samples(self) -> list[Part]:
        pub = self.publisher
        names = self.symbols.venues
        ids = self._venues()
        backlog = pub.backlog
        out = process_samples("ingest", self.started)
        out += queue_samples("zmq_backlog", backlog.pushed, backlog.dropped, len(backlog))
        out += per_venue(MESSAGES, pub.sent, names, ids)
        out += per_venue(RECEIVED, pub.received, names, ids)
        out += per_venue(DROPS, backlog.dropped_by_venue, names, ids)
        out.append(VENUE_UP)
        for v in ids:
            markets = {m: s for (venue, m), s in pub.market_state.items() if venue == v}
            if not markets:  # no status from this source: judged by its traffic
                out.append(VENUE_UP(1.0 if self.venue_connected(v) else 0.0, venue=names[v], market="any"))
            for m, state in sorted(markets.items()):
                out.append(VENUE_UP(1.0 if state == UP else 0.0, venue=names[v],
                                    market="any" if m == ANY else MARKET_NAMES[m]))
        return out

    def histograms(self) -> dict[str, LatencyHistogram]:
        return {STAGE_INGEST_PUBLISH: self.publisher.latency}

    async def _activity_loop(self) -> None:
        while True:
            now = time.monotonic()
            for v, n in list(self.publisher.received.items()):
                if n != self._last_received.get(v):
                    self._last_received[v] = n
                    self._active[v] = now
            await asyncio.sleep(ACTIVITY_EVERY_S)

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(STATS_EVERY_S)
            st = self.publisher.stats()
            log.info("stats", extra={"fields": {k: st[k] for k in ("sent", "received", "dropped", "backlog", "subscribed_topics")}})

    # -- run ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the socket and the ops server (so callers know the addresses before data flows)."""
        self.publisher.bind()
        if self.http is not None:
            self.ops = HttpServer(ops_app(self.health, self.registry), *self.http)
            await self.ops.start()
        log.info("ingest ready", extra={"fields": {
            "zmq": ",".join(self.publisher.bound), "http": f"{self.ops.host}:{self.ops.port}" if self.ops else "off",
            "sources": len(self.sources)}})

    async def run(self, duration: float | None = None) -> int:
        """Publish until ``duration`` elapses, ``stop`` is set or SIGINT/SIGTERM; returns the exit code."""
        if not self.publisher.bound:
            await self.start()
        gc.freeze()
        tasks = [asyncio.create_task(self.publisher.run(), name="zmq-publisher"),
                 asyncio.create_task(self._activity_loop(), name="activity"),
                 asyncio.create_task(self._stats_loop(), name="stats")]
        tasks += [asyncio.create_task(src.run(self.publisher.publish), name=f"source:{type(src).__name__}")
                  for src in self.sources]
        code = await run_until_stopped(tasks, duration=duration, stop=self.stop, close=self._close)
        st = self.publisher.stats()
        log.info("stopped", extra={"fields": {"sent": st["sent"], "dropped": st["dropped"],
                                              "uptime_s": f"{time.monotonic() - self.started:.1f}"}})
        return code

    async def _close(self) -> None:
        self.publisher.close()
        if self.ops is not None:
            await self.ops.stop()
