"""The distributed deployment's services: ``arbsniper ingest`` and ``arbsniper engine``.

    sources ──► IngestService ──ZeroMQ XPUB──► EngineService (shard K/N) ──► Redis
    (connectors,   (publish: non-blocking,        (SUB: its instruments only;      (channel, history,
     synthetic)     conflating backlog)            state → detector → lifecycle)    stream)

Each service runs one asyncio loop and serves ``/health`` and ``/metrics`` (see ``metrics``).
The same ``Engine`` as the embedded app does the detection; only the transport differs.

Sharding: an instrument belongs to shard ``codec.shard_of(instrument, N)``, a stable hash of its
group (base and kind), so instruments that are compared with each other (``BTC/USD`` and
``BTC/USDT``) always share a shard. Every shard also receives the conversion-rate markets
(``[conversion] sources``), which it needs for cross-currency pairs, but signals on them only
if it owns them (elsewhere they are on the detector's deny list: rates yes, signals no).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from arbsniper.bus.codec import BROADCAST_TOPIC, Decoder, WireError, shard_of, shard_prefixes, topic_for
from arbsniper.bus.redis import RedisSignalPublisher, default_instance
from arbsniper.bus.zmq import ZmqPublisher, ZmqSubscriber
from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap, parse_instrument
from arbsniper.logs import RateLimited
from arbsniper.metrics import (
    STAGE_ENGINE_RECEIVE,
    STAGE_INGEST_PUBLISH,
    STAGE_REDIS,
    STAGE_SIGNAL,
    STAGE_TOTAL,
    LatencyHistogram,
    OpsServer,
    Sample,
    ServiceCollector,
    make_ops_app,
    make_registry,
)
from arbsniper.model import STATE_NAMES, UP, Signal
from arbsniper.venues.base import MarketSource

log = logging.getLogger("arbsniper.services")

EXPIRE_EVERY_S = 0.1
ACTIVITY_EVERY_S = 1.0
ACTIVE_WITHIN_S = 5.0  # a venue that reports no status counts as connected while it sent this recently
SHUTDOWN_FLUSH_S = 3.0


async def _run_until_stopped(tasks: list[asyncio.Task[Any]], duration: float | None) -> BaseException | None:
    """Wait for SIGINT/SIGTERM, ``duration``, or the first task to fail; return that failure."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait(), name="stop")
    failed: BaseException | None = None
    try:
        done, _ = await asyncio.wait([waiter, *tasks], timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t is not waiter and not t.cancelled() and t.exception() is not None:
                failed = t.exception()
                log.error("task %s failed: %r", t.get_name(), failed)
    finally:
        waiter.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    return failed


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    tasks = list(tasks)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class IngestService:
    """Runs market sources and publishes their events on ZeroMQ.

    ``sources`` is any list of ``MarketSource`` (venue connectors, the synthetic market, a
    replay): each gets ``publisher.publish`` as its sink.
    """

    def __init__(self, config: Config, sources: Sequence[MarketSource], symbols: SymbolMap, *,
                 bind: list[str] | None = None, http: tuple[str, int] | None = ("127.0.0.1", 9101)) -> None:
        self.config = config
        self.sources = list(sources)
        self.symbols = symbols
        self.publisher = ZmqPublisher(symbols, config.zmq, endpoints=bind)
        self.http = http
        self.ops: OpsServer | None = None
        self.started = time.monotonic()
        self._active: dict[int, float] = {}  # venue id -> monotonic time its received count last grew
        self._last_received: dict[int, int] = {}
        self.registry = make_registry(ServiceCollector(self.samples, self.histograms))

    # -- observability --------------------------------------------------------------------------
    def venue_connected(self, v: int) -> bool:
        """The venue's own connection status if it reports one, else: it sent data recently."""
        state = self.publisher.venue_state.get(v)
        if state is not None:
            return state == UP
        seen = self._active.get(v)
        return seen is not None and time.monotonic() - seen <= ACTIVE_WITHIN_S

    def health(self) -> dict[str, Any]:
        pub = self.publisher
        st = pub.stats()
        venues = {}
        for v in sorted(set(pub.received) | set(pub.venue_state)):
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

    def samples(self) -> list[Sample]:
        pub = self.publisher
        names = self.symbols.venues
        out = [Sample("arbsniper_uptime_seconds", "Seconds since start", time.monotonic() - self.started,
                      {"service": "ingest"}, "gauge"),
               Sample("arbsniper_queue_depth", "Events waiting in a queue", len(pub.backlog),
                      {"service": "ingest", "queue": "zmq_backlog"}, "gauge")]
        for v in sorted(set(pub.received) | set(pub.venue_state)):
            labels = {"service": "ingest", "venue": names[v]}
            out.append(Sample("arbsniper_messages", "Market events sent on ZeroMQ", pub.sent.get(v, 0), labels))
            out.append(Sample("arbsniper_received", "Market events received from the venue", pub.received.get(v, 0), labels))
            out.append(Sample("arbsniper_drops", "Market events dropped (conflated: a newer one replaced it)",
                              pub.backlog.dropped_by_venue.get(v, 0), labels))
            out.append(Sample("arbsniper_venue_connected", "1 when the venue connection is up",
                              1.0 if self.venue_connected(v) else 0.0, labels, "gauge"))
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
            await asyncio.sleep(5.0)
            st = self.publisher.stats()
            log.info("stats", extra={"fields": {k: st[k] for k in ("sent", "received", "dropped", "backlog", "subscribed_topics")}})

    # -- run ------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the socket and the ops server (so callers know the addresses before data flows)."""
        self.publisher.bind()
        if self.http is not None:
            self.ops = OpsServer(make_ops_app(self.health, self.registry), *self.http)
            await self.ops.start()
        log.info("ingest ready", extra={"fields": {
            "zmq": ",".join(self.publisher.bound), "http": f"{self.ops.host}:{self.ops.port}" if self.ops else "off",
            "sources": len(self.sources)}})

    async def run(self, duration: float | None = None) -> int:
        """Run until ``duration`` elapses or SIGINT/SIGTERM."""
        if not self.publisher.bound:
            await self.start()
        gc.freeze()
        tasks = [asyncio.create_task(self.publisher.run(), name="zmq-publisher"),
                 asyncio.create_task(self._activity_loop(), name="activity"),
                 asyncio.create_task(self._stats_loop(), name="stats")]
        tasks += [asyncio.create_task(src.run(self.publisher.publish), name=f"source:{type(src).__name__}")
                  for src in self.sources]
        try:
            failed = await _run_until_stopped(tasks, duration)
        finally:
            await _cancel(tasks)
            self.publisher.close()
            if self.ops is not None:
                await self.ops.stop()
        st = self.publisher.stats()
        log.info("stopped", extra={"fields": {"sent": st["sent"], "dropped": st["dropped"],
                                              "uptime_s": f"{time.monotonic() - self.started:.1f}"}})
        return 1 if failed is not None else 0


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` to ``(K, N)`` with 0 ≤ K < N ≤ 256."""
    k, sep, n = text.partition("/")
    if not sep or not k.strip().isdigit() or not n.strip().isdigit():
        raise ValueError(f"shard must be K/N (e.g. 0/2), got {text!r}")
    shard, shards = int(k), int(n)
    if not 0 <= shard < shards <= 256:
        raise ValueError(f"shard {text!r}: need 0 <= K < N <= 256")
    return shard, shards


class Ownership:
    """Which instruments an engine owns (signals on), and which topics it must subscribe to."""

    def __init__(self, config: Config, shard: tuple[int, int] | None = None, instruments: list[str] | None = None) -> None:
        if shard is not None and instruments:
            raise ValueError("give either a shard or a list of instruments, not both")
        for name in instruments or ():
            parse_instrument(name)
        self.shard = shard
        self.instruments = list(dict.fromkeys(instruments or ()))
        self.rate_sources = list(dict.fromkeys(config.conversion.sources.values()))

    def owns(self, name: str) -> bool:
        if self.shard is not None:
            return shard_of(name, self.shard[1]) == self.shard[0]
        if self.instruments:
            return name in self.instruments
        return True

    def accepts(self, name: str) -> bool:
        """Owned, or a conversion-rate market every engine needs."""
        return self.owns(name) or name in self.rate_sources

    def prefixes(self) -> list[bytes]:
        if self.shard is None and not self.instruments:
            return [b""]  # everything
        subs = shard_prefixes(*self.shard) if self.shard is not None else [topic_for(n) for n in self.instruments]
        subs += [topic_for(n) for n in self.rate_sources if not self.owns(n)]
        return [*subs, BROADCAST_TOPIC]

    def denied(self) -> list[str]:
        """Conversion markets held for their rates only: no signals on them here."""
        return [n for n in self.rate_sources if not self.owns(n)]

    def describe(self) -> str:
        if self.shard is not None:
            return f"shard {self.shard[0]}/{self.shard[1]}"
        if self.instruments:
            return f"instruments {','.join(self.instruments)}"
        return "all instruments"


class EngineService:
    """Market state + detector + lifecycle for one share of the instruments, fed from ZeroMQ.

    Every signal goes to Redis through a ``RedisSignalPublisher`` (never waited on), and to
    ``on_signal`` when given (tests, a local printer).
    """

    def __init__(self, config: Config, *, shard: tuple[int, int] | None = None, instruments: list[str] | None = None,
                 connect: list[str] | None = None, redis_url: str | None = None,
                 http: tuple[str, int] | None = ("127.0.0.1", 9102), name: str | None = None,
                 on_signal: Callable[[Signal], None] | None = None) -> None:
        self.ownership = Ownership(config, shard, instruments)
        deny = list(dict.fromkeys([*config.detector.deny, *self.ownership.denied()]))
        self.config = msgspec.structs.replace(config, detector=msgspec.structs.replace(config.detector, deny=deny))
        self.symbols = SymbolMap()
        self.name = name or ("engine" if shard is None else f"engine-{shard[0]}of{shard[1]}")
        self.engine = Engine(self.symbols, self.config, self._on_signal)
        for n in self.ownership.instruments:
            self.symbols.instrument_id(n)
        self.engine.grow()
        self.decoder = Decoder(self.symbols, self.engine.grow, self.ownership.accepts)
        self.subscriber = ZmqSubscriber(self.config.zmq, self.ownership.prefixes(), endpoints=connect)
        self.redis = RedisSignalPublisher(self.config.redis, url=redis_url, instance=default_instance(self.name))
        self.on_signal = on_signal
        self.http = http
        self.ops: OpsServer | None = None
        self.started = time.monotonic()
        self.processed: dict[int, int] = {}  # per venue id
        self.rejected = 0
        self.signals: dict[str, int] = {"open": 0, "update": 0, "close": 0}
        self.lat_wire = LatencyHistogram()  # ingest publish → engine receive
        self.lat_signal = LatencyHistogram()  # engine receive → signal emitted
        self._cur_engine_recv = 0  # set while a wire message is being processed
        self._cur_venue_recv = 0
        self._warn = RateLimited(log)
        self.registry = make_registry(ServiceCollector(self.samples, self.histograms))

    # -- hot path -------------------------------------------------------------------------------
    def on_message(self, topic: bytes, payload: bytes, recv_ns: int) -> None:
        """One ZeroMQ message: decode, feed the engine (signals come back through ``_on_signal``)."""
        try:
            ev, sent_ns = self.decoder.decode(topic, payload)
        except WireError as exc:
            self.rejected += 1
            self._warn.warning("wire", "rejected a message", error=str(exc))
            return
        self.lat_wire.observe(recv_ns - sent_ns)
        v = ev.venue
        p = self.processed
        p[v] = p.get(v, 0) + 1
        self._cur_engine_recv = recv_ns
        self._cur_venue_recv = ev.recv_ts_ns
        self.engine.on_event(ev)
        self._cur_engine_recv = 0
        self._cur_venue_recv = 0

    def _on_signal(self, s: Signal) -> None:
        now = time.time_ns()
        self.signals[s.event] = self.signals.get(s.event, 0) + 1
        if self._cur_engine_recv:
            self.lat_signal.observe(now - self._cur_engine_recv)
        self.redis.offer(s, now, self._cur_venue_recv)
        if self.on_signal is not None:
            self.on_signal(s)

    # -- observability --------------------------------------------------------------------------
    def held_instruments(self) -> list[str]:
        own = self.ownership
        return [inst.name for inst in self.symbols.instruments if own.owns(inst.name)]

    def health(self) -> dict[str, Any]:
        sub = self.subscriber.stats()
        rs = self.redis.stats()
        st = self.engine.stats()
        names = self.symbols.venues
        return {
            "service": "engine",
            "name": self.name,
            # degraded: no ingest connected, or Redis unreachable (signals are buffering)
            "status": "ok" if sub["connected"] and rs["connected"] else "degraded",
            "uptime_s": round(time.monotonic() - self.started, 3),
            "shard": self.ownership.describe(),
            "zmq": {"connected": bool(sub["connected"]), "endpoints": sub["endpoints"],
                    "connected_endpoints": sub["connected"], "subscriptions": sub["subscriptions"],
                    "malformed": sub["malformed"]},
            "messages_processed": sum(self.processed.values()),
            "messages_rejected": self.rejected,
            "messages_by_venue": {names[v]: n for v, n in sorted(self.processed.items())},
            "signals_generated": sum(self.signals.values()),
            "signals_by_event": dict(self.signals),
            "open_opportunities": st["open"],
            "instruments": self.held_instruments(),
            "rate_sources": self.ownership.rate_sources,
            "queues": {"redis_pending": rs["pending"], "redis_max_pending": rs["max_pending"],
                       "redis_capacity": rs["buffer_capacity"]},
            "redis": {"connected": rs["connected"], "url": rs["url"], "instance": rs["instance"],
                      "published": rs["published"], "duplicates": rs["duplicates"], "pending": rs["pending"],
                      "dropped": rs["dropped"], "failures": rs["failures"], "reconnects": rs["reconnects"],
                      "errors": rs["errors"], "last_error": rs["last_error"]},
            "engine": {k: st[k] for k in ("events", "out_of_order", "crossed", "invalid", "suspect", "opened", "closed")},
            "latency": {k: h.as_dict() for k, h in self.histograms().items()},
        }

    def samples(self) -> list[Sample]:
        names = self.symbols.venues
        svc = {"service": "engine", "shard": self.ownership.describe()}
        rs = self.redis
        out = [
            Sample("arbsniper_uptime_seconds", "Seconds since start", time.monotonic() - self.started, svc, "gauge"),
            Sample("arbsniper_zmq_connected", "1 while at least one ingest endpoint is connected",
                   1.0 if self.subscriber.connected else 0.0, svc, "gauge"),
            Sample("arbsniper_redis_connected", "1 while Redis answers", 1.0 if rs.connected else 0.0, svc, "gauge"),
            Sample("arbsniper_instruments", "Instruments this engine holds", len(self.held_instruments()), svc, "gauge"),
            Sample("arbsniper_queue_depth", "Signals waiting for Redis", rs.pending, {**svc, "queue": "redis"}, "gauge"),
            Sample("arbsniper_signal_drops", "Signals dropped before Redis (buffer full or refused)", rs.dropped,
                   {**svc, "sink": "redis"}),
            Sample("arbsniper_redis_published", "Signals written to Redis", rs.published, svc),
            Sample("arbsniper_rejected", "ZeroMQ messages rejected (bad wire data)", self.rejected, svc),
        ]
        for ev, n in self.signals.items():
            out.append(Sample("arbsniper_signals", "Signals generated", n, {**svc, "event": ev}))
        for v, n in sorted(self.processed.items()):
            out.append(Sample("arbsniper_messages", "Market events processed", n, {**svc, "venue": names[v]}))
        return out

    def histograms(self) -> dict[str, LatencyHistogram]:
        return {STAGE_ENGINE_RECEIVE: self.lat_wire, STAGE_SIGNAL: self.lat_signal,
                STAGE_REDIS: self.redis.latency_redis, STAGE_TOTAL: self.redis.latency_total}

    # -- run ------------------------------------------------------------------------------------
    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRE_EVERY_S)
            self.engine.expire(time.time_ns())

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            log.info("stats", extra={"fields": {
                "processed": sum(self.processed.values()), "signals": sum(self.signals.values()),
                "redis_published": self.redis.published, "redis_pending": self.redis.pending,
                "redis_connected": self.redis.connected, "zmq_connected": len(self.subscriber.connected)}})

    async def start(self) -> None:
        """Connect ZeroMQ and start the ops server (so callers know the port before data flows)."""
        self.subscriber.connect()
        if self.http is not None:
            self.ops = OpsServer(make_ops_app(self.health, self.registry), *self.http)
            await self.ops.start()
        log.info("engine ready", extra={"fields": {
            "name": self.name, "owns": self.ownership.describe(), "zmq": ",".join(self.subscriber.endpoints),
            "redis": self.redis.stats()["url"], "http": f"{self.ops.host}:{self.ops.port}" if self.ops else "off"}})

    async def run(self, duration: float | None = None) -> int:
        """Run until ``duration`` elapses or SIGINT/SIGTERM; then close what is open and flush Redis."""
        if self.subscriber._asock is None:
            await self.start()
        gc.freeze()
        redis_task = asyncio.create_task(self.redis.run(), name="redis-publisher")
        tasks = [asyncio.create_task(self.subscriber.run(self.on_message), name="zmq-subscriber"),
                 asyncio.create_task(self._expire_loop(), name="expire"),
                 asyncio.create_task(self._stats_loop(), name="stats")]
        try:
            failed = await _run_until_stopped([*tasks, redis_task], duration)
        finally:
            await _cancel(tasks)
            self.subscriber.close()
            # Every open opportunity closes, so history and consumers see each one's end.
            self.engine.close_all(time.time_ns())
            await _cancel([redis_task])
            if not await self.redis.flush(SHUTDOWN_FLUSH_S):
                log.warning("redis flush timed out", extra={"fields": {"unsent": self.redis.pending}})
            await self.redis.close()
            if self.ops is not None:
                await self.ops.stop()
        log.info("stopped", extra={"fields": {
            "processed": sum(self.processed.values()), "signals": sum(self.signals.values()),
            "redis_published": self.redis.published, "redis_dropped": self.redis.dropped,
            "uptime_s": f"{time.monotonic() - self.started:.1f}"}})
        return 1 if failed is not None else 0
