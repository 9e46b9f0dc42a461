"""``arbsniper engine``: market state + detector + lifecycle for one shard of the instruments.

Sharding: an instrument belongs to shard ``codec.shard_of(instrument, N)``, a stable hash of its
group (base and kind), so instruments that are compared with each other (``BTC/USD`` and
``BTC/USDT``) always share a shard. Every shard also receives the conversion-rate markets
(``[conversion] sources``), which it needs for cross-currency pairs, but signals on them only
if it owns them (elsewhere they are on the detector's deny list: rates yes, signals no).

The same ``Engine`` as the embedded app does the detection; only the transport differs: events
come off a ZeroMQ SUB socket, signals go to Redis (``bus.redis.RedisSignalPublisher``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from arbsniper.bus.codec import BROADCAST_TOPIC, Decoder, WireError, shard_of, shard_prefixes, topic_for
from arbsniper.bus.redis import RedisSignalPublisher, default_instance
from arbsniper.bus.zmq import ZmqSubscriber
from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.httpd import HttpServer, ops_app
from arbsniper.instruments import SymbolMap, parse_instrument
from arbsniper.logs import RateLimited
from arbsniper.metrics import (
    MESSAGES,
    REJECTED,
    STAGE_ENGINE_RECEIVE,
    STAGE_RECEIVE_SIGNAL,
    STAGE_SIGNAL,
    ZMQ_CONNECTED,
    LatencyHistogram,
    Part,
    ServiceCollector,
    engine_samples,
    make_registry,
    per_venue,
    process_samples,
)
from arbsniper.model import Signal
from arbsniper.runtime import run_until_stopped

log = logging.getLogger("arbsniper.services")

EXPIRE_EVERY_S = 0.1
STATS_EVERY_S = 5.0
SHUTDOWN_FLUSH_S = 3.0
RECOVER_AT_START_S = 2.0  # Redis away longer: the publisher closes the leftovers on first contact


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
        self.decoder = Decoder(self.symbols, self.engine.grow, self.ownership.accepts,
                               on_new_epoch=self.engine.state.reset_order)
        self.subscriber = ZmqSubscriber(self.config.zmq, self.ownership.prefixes(), endpoints=connect)
        self.redis = RedisSignalPublisher(self.config.redis, url=redis_url, instance=default_instance(self.name),
                                          open_set=self.name)  # the shard's name is its identity across restarts
        self.on_signal = on_signal
        self.http = http
        self.ops: HttpServer | None = None
        self.started = time.monotonic()
        self.processed: dict[int, int] = {}  # per venue id
        self.rejected = 0
        self.signals: dict[str, int] = {"open": 0, "update": 0, "close": 0}
        self.lat_wire = LatencyHistogram()  # ingest publish → engine receive
        self.lat_signal = LatencyHistogram()  # engine receive → signal emitted
        self.lat_receive = LatencyHistogram()  # venue frame received (at the ingest) → signal emitted
        self._cur_engine_recv = 0  # set while a wire message is being processed
        self._cur_venue_recv = 0
        self._warn = RateLimited(log)
        self.stop = asyncio.Event()
        self.registry = make_registry(ServiceCollector(self.samples, self.histograms))

    # -- hot path -------------------------------------------------------------------------------
    def on_message(self, topic: bytes, payload: bytes, recv_ns: int) -> bool:
        """One ZeroMQ message: decode, feed the engine (signals come back through ``_on_signal``).
        True when it produced a signal: the subscriber then lets the Redis writer run first."""
        try:
            ev, sent_ns = self.decoder.decode(topic, payload)
        except WireError as exc:
            self.rejected += 1
            self._warn.warning("wire", "rejected a message", error=str(exc))
            return False
        self.lat_wire.observe(recv_ns - sent_ns)
        v = ev.venue
        p = self.processed
        p[v] = p.get(v, 0) + 1
        self._cur_engine_recv = recv_ns
        self._cur_venue_recv = ev.recv_ts_ns
        redis = self.redis
        offered = redis.seq
        self.engine.on_event(ev)
        self._cur_engine_recv = 0
        self._cur_venue_recv = 0
        return redis.seq != offered

    def _on_signal(self, s: Signal) -> None:
        now = time.time_ns()
        self.signals[s.event] = self.signals.get(s.event, 0) + 1
        if self._cur_engine_recv:
            self.lat_signal.observe(now - self._cur_engine_recv)
        self.lat_receive.observe(round(s.latency_us * 1000))
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
                      "dropped": rs["dropped"], "restart_closed": rs["restart_closed"], "failures": rs["failures"], "reconnects": rs["reconnects"],
                      "errors": rs["errors"], "last_error": rs["last_error"]},
            "engine": {k: st[k] for k in ("events", "out_of_order", "crossed", "invalid", "suspect", "opened", "closed")},
            "latency": {k: h.as_dict() for k, h in self.histograms().items()},
        }

    def samples(self) -> list[Part]:
        out = process_samples("engine", self.started, self.name, self.ownership.describe())
        out += engine_samples(self.engine.stats(), len(self.held_instruments()))
        out += per_venue(MESSAGES, self.processed, self.symbols.venues, sorted(self.processed))
        out.append(REJECTED(self.rejected, reason="wire"))
        out.append(ZMQ_CONNECTED(1.0 if self.subscriber.connected else 0.0))
        out += self.redis.samples()
        return out

    def histograms(self) -> dict[str, LatencyHistogram]:
        return {STAGE_ENGINE_RECEIVE: self.lat_wire, STAGE_SIGNAL: self.lat_signal, STAGE_RECEIVE_SIGNAL: self.lat_receive,
                **self.redis.histograms()}

    # -- run ------------------------------------------------------------------------------------
    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRE_EVERY_S)
            self.engine.expire(time.time_ns())

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(STATS_EVERY_S)
            log.info("stats", extra={"fields": {
                "processed": sum(self.processed.values()), "signals": sum(self.signals.values()),
                "redis_published": self.redis.published, "redis_pending": self.redis.pending,
                "redis_connected": self.redis.connected, "zmq_connected": len(self.subscriber.connected)}})

    async def start(self) -> None:
        """Close what a killed predecessor left open, connect ZeroMQ and start the ops server (so
        callers know the port before data flows)."""
        await self.redis.recover(RECOVER_AT_START_S)
        self.subscriber.connect()
        if self.http is not None:
            self.ops = HttpServer(ops_app(self.health, self.registry), *self.http)
            await self.ops.start()
        log.info("engine ready", extra={"fields": {
            "name": self.name, "owns": self.ownership.describe(), "zmq": ",".join(self.subscriber.endpoints),
            "redis": self.redis.stats()["url"], "http": f"{self.ops.host}:{self.ops.port}" if self.ops else "off"}})

    async def run(self, duration: float | None = None) -> int:
        """Detect until ``duration`` elapses, ``stop`` is set or SIGINT/SIGTERM; then close what is
        open and flush Redis. Returns the exit code."""
        if self.subscriber._asock is None:
            await self.start()
        gc.freeze()
        tasks = [asyncio.create_task(self.subscriber.run(self.on_message), name="zmq-subscriber"),
                 asyncio.create_task(self._expire_loop(), name="expire"),
                 asyncio.create_task(self._stats_loop(), name="stats"),
                 asyncio.create_task(self.redis.run(), name="redis-publisher")]
        code = await run_until_stopped(tasks, duration=duration, stop=self.stop, drain=self._drain, close=self._close)
        log.info("stopped", extra={"fields": {
            "processed": sum(self.processed.values()), "signals": sum(self.signals.values()),
            "redis_published": self.redis.published, "redis_dropped": self.redis.dropped,
            "uptime_s": f"{time.monotonic() - self.started:.1f}"}})
        return code

    async def _drain(self) -> None:
        """Every open opportunity closes (history and consumers see each one's end); Redis gets it all."""
        self.subscriber.close()
        self.engine.close_all(time.time_ns())
        if not await self.redis.flush(SHUTDOWN_FLUSH_S):
            log.warning("redis flush timed out", extra={"fields": {"unsent": self.redis.pending}})

    async def _close(self) -> None:
        await self.redis.close()
        if self.ops is not None:
            await self.ops.stop()
