"""The signal publisher (engine, ``run --redis``): Redis without ever making the hot path wait.

Per signal, in one atomic server-side script (``PUBLISH_SCRIPT``):

- ``PUBLISH <prefix>arbitrage:signals <json>`` — live push for dashboards (fire and forget);
- ``ZADD <prefix>{signals}:history <timestamp ms> <json>`` and trims it to the newest ``history_max``;
- ``XADD <prefix>{signals}:stream MAXLEN ~ <stream_maxlen> * signal <json> uid <uid>`` — for consumers
  that must not miss one (they read it with a consumer group, ``stream.SignalStreamReader``);
- with ``open_key`` (an engine shard: ``<prefix>{signals}:open:<shard name>``), ``HSET`` of an
  opening signal under its id and ``HDEL`` at its close: the shard's open set, in Redis. A shard
  that starts again under the same name first closes whatever that hash still holds (its killed
  predecessor's opportunities) with reason ``engine_restart``, before any signal of its own.

Every key carries the hash tag ``{signals}`` (one cluster slot), so the script runs unchanged on a
Redis Cluster (``[redis] cluster = true``).

The hot path only appends to a bounded in-memory buffer (``offer``); a task drains it in pipelined
batches. When Redis is down or slower than ``timeout_ms``, the batch stays in hand and is retried
with back-off, new signals keep buffering, and past ``buffer`` the *oldest* are dropped and
counted — nothing is lost silently. A retried batch may have been applied already (the reply was
lost, not the write): each signal carries a unique ``uid`` (``<instance>:<seq>``) and the script
first does ``SET <prefix>{signals}:seen:<uid> NX PX <ttl>``, so a retry never writes a signal twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import deque
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from arbsniper.bus.inproc import Subscription
from arbsniper.bus.redis.connection import (
    BACKOFF_MAX_S,
    BACKOFF_MIN_S,
    RETRYABLE,
    cancel_requested,
    connect,
    default_instance,
    redact_url,
)
from arbsniper.config import RedisConfig
from arbsniper.logs import RateLimited
from arbsniper.metrics import (
    REDIS_CONNECTED,
    REDIS_PUBLISHED,
    REDIS_RECONNECTS,
    STAGE_REDIS,
    STAGE_TOTAL,
    LatencyHistogram,
    Part,
    queue_samples,
)
from arbsniper.model import Signal, signal_from_json, signal_to_json

log = logging.getLogger("arbsniper.bus.redis")

PING_EVERY_S = 1.0  # when idle, how often the publisher checks that Redis is there

ENGINE_RESTART = "engine_restart"  # close reason of what a killed shard left open

# KEYS: seen-guard, history, stream, open set.
# ARGV: json, score, channel, history_max, stream_maxlen, ttl_ms, uid, event ('' = no open set), id
PUBLISH_SCRIPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[6]) then return 0 end
redis.call('PUBLISH', ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'signal', ARGV[1], 'uid', ARGV[7])
if ARGV[8] == 'open' then redis.call('HSET', KEYS[4], ARGV[9], ARGV[1])
elseif ARGV[8] == 'close' then redis.call('HDEL', KEYS[4], ARGV[9]) end
return 1
"""
PUBLISH_SHA = hashlib.sha1(PUBLISH_SCRIPT.encode()).hexdigest()


class _Pending(msgspec.Struct, array_like=True, gc=False):
    uid: str
    json: bytes
    score: int
    emit_ns: int
    recv_ns: int
    event: str  # "" when there is no open set to keep
    id: str


class RedisSignalPublisher:
    """Publishes signals to Redis without ever making the caller wait (see the module docstring).

    ``offer`` from the hot path; run ``run()`` as a task; ``flush(timeout)`` at shutdown. For the
    embedded app, ``consume`` is an ``App.add_consumer`` callback.
    """

    def __init__(self, config: RedisConfig, *, url: str | None = None, instance: str | None = None,
                 open_set: str | None = None) -> None:
        self.config = config
        self.url = url or config.url
        self.instance = instance or default_instance()
        self.channel = config.key(config.channel)
        self.history_key = config.key(config.history_key)
        self.stream_key = config.key(config.stream_key)
        self.seen_prefix = config.key("{signals}:seen:")
        # The open set of a named engine shard (None: not kept, e.g. the embedded app).
        self.open_key = config.key("{signals}:open:" + open_set) if open_set else None
        self._recovered = self.open_key is None
        self.restart_closed = 0  # a predecessor's leftovers closed with ENGINE_RESTART
        self._static_args = (str(config.history_max), str(config.stream_maxlen), str(config.dedupe_ttl_s * 1000))
        self.buffer: deque[tuple[int, Signal, int, int]] = deque()
        self.capacity = config.buffer
        self.seq = 0  # signals offered; the n-th has uid "<instance>:<n>"
        self.published = 0  # confirmed written by Redis (or already there: a retried duplicate)
        self.duplicates = 0  # retried signals Redis already had (the first attempt's reply was lost)
        self.dropped = 0  # shed from a full buffer, or refused by Redis with a non-retryable error
        self.failures = 0  # failed round trips (each retried)
        self.errors = 0  # non-retryable errors (their batch was dropped and counted)
        self.reconnects = 0  # times Redis came back after being unreachable
        self.max_depth = 0
        self.connected = False
        self.last_error: str | None = None
        self.latency_redis = LatencyHistogram()  # signal emitted → Redis confirmed
        self.latency_total = LatencyHistogram()  # venue frame received → Redis confirmed
        self._inflight: list[_Pending] = []
        self._redis: aioredis.Redis | None = None
        self._wake = asyncio.Event()
        self._waiting = False
        self._json = signal_to_json
        self._warn = RateLimited(log)
        self._down_since: float | None = None

    # -- hot path --------------------------------------------------------------------------------
    def offer(self, signal: Signal, emit_ns: int = 0, recv_ns: int = 0) -> None:
        """Queue a signal (never blocks). ``emit_ns``/``recv_ns`` feed the latency histograms."""
        self.seq += 1
        buf = self.buffer
        if len(buf) >= self.capacity:
            buf.popleft()
            self.dropped += 1
        buf.append((self.seq, signal, emit_ns, recv_ns))
        if len(buf) > self.max_depth:
            self.max_depth = len(buf)
        if self._waiting:
            self._waiting = False
            self._wake.set()

    @property
    def pending(self) -> int:
        """Signals not yet confirmed by Redis (buffered + in flight)."""
        return len(self.buffer) + len(self._inflight)

    # -- the task --------------------------------------------------------------------------------
    async def run(self) -> None:
        """Drain the buffer into Redis until cancelled; retry with back-off while Redis is away."""
        backoff = BACKOFF_MIN_S
        while True:
            if cancel_requested():
                raise asyncio.CancelledError
            try:
                if not self._recovered:
                    await self._recover()
                if not self._inflight and not await self._take():
                    await self._ping()
                    continue
                await self._write(self._inflight)
            except RETRYABLE as exc:
                self._mark_down(exc)
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_MAX_S, backoff * 2)
                continue
            except ResponseError as exc:
                # Not a transport problem (wrong key type, script refused): retrying cannot help.
                self.errors += 1
                self.dropped += len(self._inflight)
                self._inflight = []
                self.last_error = repr(exc)
                self._recovered = True  # an open set Redis refuses to read cannot be recovered
                self._warn.warning("response", "redis refused a batch of signals (dropped, counted)", error=repr(exc))
                continue
            backoff = BACKOFF_MIN_S

    async def _take(self) -> bool:
        """Move up to ``batch`` signals from the buffer to in-flight; False after an idle period."""
        buf = self.buffer
        if not buf:
            self._waiting = True
            self._wake.clear()
            try:
                async with asyncio.timeout(PING_EVERY_S):
                    await self._wake.wait()
            except TimeoutError:
                return False
            finally:
                self._waiting = False
            if not buf:
                return False
        n = min(len(buf), self.config.batch)
        prefix = self.instance + ":"
        enc = self._json
        track = self.open_key is not None
        out = []
        for _ in range(n):
            seq, sig, emit_ns, recv_ns = buf.popleft()
            out.append(_Pending(prefix + str(seq), enc(sig), sig.timestamp, emit_ns, recv_ns,
                                sig.event if track else "", sig.id))
        self._inflight = out
        return True

    async def recover(self, timeout_s: float) -> bool:
        """Close a predecessor's leftovers now (an engine calls it before taking any data, so the
        closes come first in its numbering too); False when Redis did not answer in time, in
        which case ``run`` does it on the first contact, still before anything else."""
        if self._recovered:
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self._recover()
        except RETRYABLE as exc:
            self._mark_down(exc)
            return False
        except ResponseError as exc:
            self.errors += 1
            self.last_error = repr(exc)
            self._recovered = True
            return False
        self._mark_up()
        return True

    async def _recover(self) -> None:
        """Close what a predecessor under the same name left open (once, before anything else is
        written): each leftover gets a close signal with reason ``engine_restart`` at the front of
        the buffer, so its ``HDEL`` reaches Redis before any signal of this incarnation."""
        assert self.open_key is not None
        raw = await self._client().hgetall(self.open_key)
        now_ms = time.time_ns() // 1_000_000
        opened = []
        for item in raw.values():
            try:
                opened.append(signal_from_json(item))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        if len(opened) < len(raw):  # undecodable members: nothing to close, drop them
            await self._client().delete(self.open_key)
        opened.sort(key=lambda s: s.timestamp)  # closed in the order they opened
        closes = [msgspec.structs.replace(sig, event="close", close_reason=ENGINE_RESTART, timestamp=now_ms,
                                          latency_us=0.0, duration_ms=max(0, now_ms - sig.timestamp))
                  for sig in opened]
        first = self.seq + 1
        self.seq += len(closes)
        # Numbered after what is already buffered (if Redis was away at start), written before it.
        self.buffer.extendleft(reversed([(first + k, sig, 0, 0) for k, sig in enumerate(closes)]))
        self.restart_closed += len(closes)
        self._recovered = True
        if closes:
            log.info("closed what the previous incarnation left open", extra={"fields": {
                "open_set": self.open_key, "closed": len(closes)}})

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = connect(self.url, self.config.timeout_ms, self.config.cluster)
        return self._redis

    async def _ping(self) -> None:
        try:
            await self._client().ping()
        except RETRYABLE as exc:
            self._mark_down(exc)
            return
        self._mark_up()

    async def _write(self, batch: list[_Pending]) -> None:
        r = self._client()
        results = await self._send(r, batch)
        if any(isinstance(x, NoScriptError) for x in results):
            # A restarted Redis forgot the script: load it and send the whole batch again (the
            # seen-guard makes the ones that went through no-ops).
            await r.script_load(PUBLISH_SCRIPT)
            results = await self._send(r, batch)
        for x in results:
            if isinstance(x, Exception):
                raise x
        done_ns = time.time_ns()
        self._mark_up()
        self.published += len(batch)
        self.duplicates += sum(1 for x in results if x == 0)
        self._inflight = []
        for p in batch:
            if p.emit_ns:
                self.latency_redis.observe(done_ns - p.emit_ns)
            if p.recv_ns:
                self.latency_total.observe(done_ns - p.recv_ns)

    async def _send(self, r: aioredis.Redis, batch: list[_Pending]) -> list[Any]:
        """One round trip: the script once per signal; a lone signal skips the pipeline's overhead."""
        keys = (self.history_key, self.stream_key, self.open_key or self.seen_prefix)
        channel = self.channel
        hmax, smax, ttl = self._static_args
        seen = self.seen_prefix
        if len(batch) == 1:
            p = batch[0]
            try:
                return [await r.evalsha(PUBLISH_SHA, 4, seen + p.uid, *keys, p.json, p.score, channel, hmax, smax,
                                        ttl, p.uid, p.event, p.id)]
            except ResponseError as exc:
                return [exc]
        pipe = r.pipeline(transaction=False)
        for p in batch:
            # execute_command: redis-py's cluster pipeline refuses the evalsha() helper, not the command
            pipe.execute_command("EVALSHA", PUBLISH_SHA, 4, seen + p.uid, *keys, p.json, p.score, channel, hmax, smax,
                                 ttl, p.uid, p.event, p.id)
        return await pipe.execute(raise_on_error=False)

    def _mark_down(self, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = repr(exc)
        if self.connected or self._down_since is None:
            self._down_since = time.monotonic()
            self._warn.warning("down", "redis unreachable; buffering signals", url=redact_url(self.url),
                               error=repr(exc), pending=self.pending)
        self.connected = False

    def _mark_up(self) -> None:
        if not self.connected:
            if self._down_since is not None:
                self.reconnects += 1
                log.info("redis reachable again", extra={"fields": {
                    "url": redact_url(self.url), "pending": self.pending,
                    "down_s": f"{time.monotonic() - self._down_since:.1f}"}})
            self._down_since = None
            self.connected = True

    # -- shutdown and embedded use ----------------------------------------------------------------
    async def flush(self, timeout_s: float) -> bool:
        """Write everything pending (while ``run`` is *not* running); False if time ran out."""
        deadline = time.monotonic() + timeout_s
        while self.pending:
            if time.monotonic() >= deadline:
                return False
            try:
                async with asyncio.timeout(max(0.01, deadline - time.monotonic())):
                    if not self._recovered:
                        await self._recover()
                    if not self._inflight:
                        await self._take()
                    await self._write(self._inflight)
            except RETRYABLE as exc:
                self._mark_down(exc)
                await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
            except ResponseError as exc:
                self.errors += 1
                self.dropped += len(self._inflight)
                self._inflight = []
                self.last_error = repr(exc)
        return True

    async def close(self) -> None:
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None

    async def consume(self, sub: Subscription[Signal], flush_timeout_s: float = 5.0) -> None:
        """``App.add_consumer`` callback: move the app's signals into Redis until the app stops."""
        task = asyncio.create_task(self.run(), name="redis-publisher")
        try:
            while True:
                batch = await sub.get_batch()
                now = time.time_ns()
                for s in batch:
                    self.offer(s, now, now - int(s.latency_us * 1000) if s.latency_us > 0 else 0)
                if not batch and sub.closed:
                    break
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if not await self.flush(flush_timeout_s):
                log.warning("redis flush timed out", extra={"fields": {"unsent": self.pending}})
            await self.close()

    def samples(self) -> list[Part]:
        """For ``/metrics``: connection, signals written, reconnects, and the buffer as queue ``redis``."""
        return [REDIS_CONNECTED(1.0 if self.connected else 0.0), REDIS_PUBLISHED(self.published),
                REDIS_RECONNECTS(self.reconnects), *queue_samples("redis", self.seq, self.dropped, self.pending)]

    def histograms(self) -> dict[str, LatencyHistogram]:
        return {STAGE_REDIS: self.latency_redis, STAGE_TOTAL: self.latency_total}

    def stats(self) -> dict[str, object]:
        return {
            "url": redact_url(self.url),
            "connected": self.connected,
            "instance": self.instance,
            "offered": self.seq,
            "published": self.published,
            "duplicates": self.duplicates,
            "pending": self.pending,
            "max_pending": self.max_depth,
            "buffer_capacity": self.capacity,
            "dropped": self.dropped,
            "restart_closed": self.restart_closed,
            "failures": self.failures,
            "errors": self.errors,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "channel": self.channel,
            "history_key": self.history_key,
            "stream_key": self.stream_key,
        }
