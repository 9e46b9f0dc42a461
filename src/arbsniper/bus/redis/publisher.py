"""The signal publisher (engine, ``run --redis``): Redis without ever making the hot path wait.

Per signal, in one atomic server-side script (``publish_script``):

- ``PUBLISH <prefix>arbitrage:signals <json>`` — live push for dashboards (fire and forget);
- ``ZADD <prefix>signals:history <timestamp ms> <json>`` and trims it to the newest ``history_max``;
- ``XADD <prefix>signals:stream MAXLEN ~ <stream_maxlen> * signal <json> uid <uid>`` — for consumers
  that must not miss one (they read it with a consumer group, ``stream.SignalStreamReader``);
- with ``open_key`` (an engine shard: ``<prefix>signals:open:<shard name>``), ``HSET`` of an
  opening signal under its id and ``HDEL`` at its close: the shard's open set, in Redis. A shard
  that starts again under the same name first closes whatever that hash still holds (its killed
  predecessor's opportunities) with reason ``engine_restart``, before any signal of its own.

On a Redis Cluster (``[redis] cluster = true``) the prefix carries a hash tag (``{arb}:``), so every
key the script touches is in one slot and the script runs unchanged (``RedisConfig`` checks it).

The hot path only appends to a bounded in-memory buffer (``offer``); a task drains it in pipelined
batches. When Redis is down or slower than ``timeout_ms``, the batch stays in hand and is retried
with back-off, new signals keep buffering, and past ``buffer`` the *oldest* are dropped and
counted — nothing is lost silently. A retried batch may have been applied already (the reply was
lost, not the write): each signal carries a unique ``uid`` (``<instance>:<seq>``) and the script
first does ``SET <prefix>signals:seen:<uid> NX PX <ttl>``, so a retry never writes a signal twice.
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

# The script, with this publisher's constants written in (fewer arguments per call: redis-py
# packs each one in Python, and the JSON goes last so the packing never copies it twice).
# KEYS: seen-guard (<seen prefix><uid>), history, stream, open set.  ARGV: score, event ('' = no
# open set), id, json.
_SCRIPT = """
local uid = string.sub(KEYS[1], {seen_len} + 1)
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', '{ttl_ms}') then return 0 end
redis.call('PUBLISH', {channel}, ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -{history_cut})
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '{stream_maxlen}', '*', 'signal', ARGV[4], 'uid', uid)
if ARGV[2] == 'open' then redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
elseif ARGV[2] == 'close' then redis.call('HDEL', KEYS[4], ARGV[3]) end
return 1
"""


def _lua_string(text: str) -> str:
    """A Lua long-bracket literal of ``text`` (no escaping needed: the level avoids its content)."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def publish_script(config: RedisConfig) -> str:
    """The publish script for ``config`` (its channel, seen-guard prefix, bounds and TTL)."""
    return _SCRIPT.format(seen_len=len(config.key(config.SEEN).encode()), ttl_ms=config.dedupe_ttl_s * 1000,
                          channel=_lua_string(config.key(config.channel)), history_cut=config.history_max + 1,
                          stream_maxlen=config.stream_maxlen)


class _Pending(msgspec.Struct, array_like=True, gc=False):
    key: bytes  # the seen-guard key, <seen prefix><uid>
    json: bytes
    score: bytes
    emit_ns: int
    recv_ns: int
    event: bytes  # b"" when there is no open set to keep
    id: bytes


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
        self.seen_prefix = config.key(config.SEEN)
        # The open set of a named engine shard (None: not kept, e.g. the embedded app).
        self.open_key = config.key(config.OPEN + open_set) if open_set else None
        self._recovered = self.open_key is None
        self._keys = (self.history_key.encode(), self.stream_key.encode(),
                      (self.open_key or self.seen_prefix).encode())  # the 4th key must be in the slot even unused
        self.restart_closed = 0  # a predecessor's leftovers closed with ENGINE_RESTART
        self.script = publish_script(config)
        self._sha = hashlib.sha1(self.script.encode()).hexdigest()
        self.buffer: deque[tuple[int, Signal, int, int]] = deque()
        self.capacity = config.buffer
        self.seq = 0  # signals offered; the n-th has uid "<instance>:<n>"
        self.published = 0  # confirmed written by Redis (or already there: a retried duplicate)
        self.duplicates = 0  # retried signals Redis already had (the first attempt's reply was lost)
        self.dropped = 0  # shed from a full buffer, or refused by Redis with a non-retryable error
        self.failures = 0  # failed round trips (each retried)
        self.errors = 0  # non-retryable errors (their batch was dropped and counted)
        self.reconnects = 0  # times Redis came back after being unreachable
        self.wakes = 0  # offers that woke the idle writer (the engine then lets it run at once)
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
            self.wakes += 1
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
        prefix = (self.seen_prefix + self.instance + ":").encode()
        enc = self._json
        track = self.open_key is not None
        out = []
        for _ in range(n):
            seq, sig, emit_ns, recv_ns = buf.popleft()
            out.append(_Pending(prefix + b"%d" % seq, enc(sig), b"%d" % sig.timestamp, emit_ns, recv_ns,
                                sig.event.encode() if track else b"", sig.id.encode()))
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
            await r.script_load(self.script)
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
        history, stream, open_set = self._keys
        sha = self._sha
        if len(batch) == 1:
            p = batch[0]
            try:
                return [await r.execute_command("EVALSHA", sha, 4, p.key, history, stream, open_set, p.score,
                                                p.event, p.id, p.json)]
            except ResponseError as exc:
                return [exc]
        pipe = r.pipeline(transaction=False)
        for p in batch:
            # execute_command: redis-py's cluster pipeline refuses the evalsha() helper, not the command
            pipe.execute_command("EVALSHA", sha, 4, p.key, history, stream, open_set, p.score, p.event, p.id,
                                 p.json)
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
