"""Signals in Redis: the publisher (engine, ``run --redis``) and the two readers other services use.

Per signal, in one atomic server-side script (``PUBLISH_SCRIPT``), the publisher:

- ``PUBLISH <prefix>arbitrage:signals <json>`` — live push for dashboards (fire and forget);
- ``ZADD <prefix>signals:history <timestamp ms> <json>`` and trims it to the newest ``history_max``;
- ``XADD <prefix>signals:stream MAXLEN ~ <stream_maxlen> * signal <json> uid <uid>`` — for consumers
  that must not miss one (they read it with a consumer group, ``SignalStreamReader``).

The hot path only appends to a bounded in-memory buffer (``offer``); a task drains it in pipelined
batches. When Redis is down or slower than ``timeout_ms``, the batch stays in hand and is retried
with back-off, new signals keep buffering, and past ``buffer`` the *oldest* are dropped and
counted — nothing is lost silently. A retried batch may have been applied already (the reply was
lost, not the write): each signal carries a unique ``uid`` (``<instance>:<seq>``) and the script
first does ``SET <prefix>signals:seen:<uid> NX PX <ttl>``, so a retry never writes a signal twice.

Readers, for the other services:

- ``SignalFeed`` (dashboard): ``async for signal in feed`` yields live signals from the channel,
  reconnecting on its own and catching up from the history after a reconnect;
  ``await feed.recent(100)`` gives the newest history for a page's first paint.
- ``SignalStreamReader`` (trader): a consumer-group reader. ``await reader.read()`` returns up to
  ``count`` ``StreamEntry``s (first this consumer's own pending ones, then new ones); handle each,
  then ``await reader.ack(entry.entry_id)``. An entry not acknowledged (the trader crashed) is
  delivered again on restart, so handling must be idempotent by ``entry.uid``. Each entry goes to
  one consumer of the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from arbsniper.bus.inproc import Subscription
from arbsniper.config import RedisConfig, redact_password
from arbsniper.logs import RateLimited
from arbsniper.metrics import LatencyHistogram
from arbsniper.model import Signal, signal_from_json, signal_to_json

log = logging.getLogger("arbsniper.bus.redis")

# Errors after which the same command may succeed later: Redis down, restarting, loading, slow.
RETRYABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, asyncio.TimeoutError)

PING_EVERY_S = 1.0  # when idle, how often the publisher checks that Redis is there
BACKOFF_MIN_S = 0.05
BACKOFF_MAX_S = 1.0

# KEYS: seen-guard, history, stream.  ARGV: json, score, channel, history_max, stream_maxlen, ttl_ms, uid
PUBLISH_SCRIPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[6]) then return 0 end
redis.call('PUBLISH', ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'signal', ARGV[1], 'uid', ARGV[7])
return 1
"""
PUBLISH_SHA = hashlib.sha1(PUBLISH_SCRIPT.encode()).hexdigest()


def redact_url(url: str) -> str:
    """The URL without its password, for logs and ``/health``."""
    return redact_password(url)


def connect(url: str, timeout_ms: int) -> aioredis.Redis:
    """A client that fails fast (no hidden retries): our callers decide when to retry."""
    t = timeout_ms / 1000.0
    return aioredis.Redis.from_url(
        url, socket_timeout=t, socket_connect_timeout=t, retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False, health_check_interval=0,
    )


def default_instance(name: str = "arbsniper") -> str:
    """A name unique to this process: ``<name>-<host>-<pid>-<random>``."""
    return f"{name}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class _Pending(msgspec.Struct, array_like=True, gc=False):
    uid: str
    json: bytes
    score: int
    emit_ns: int
    recv_ns: int


class RedisSignalPublisher:
    """Publishes signals to Redis without ever making the caller wait (see the module docstring).

    ``offer`` from the hot path; run ``run()`` as a task; ``flush(timeout)`` at shutdown. For the
    embedded app, ``consume`` is an ``App.add_consumer`` callback.
    """

    def __init__(self, config: RedisConfig, *, url: str | None = None, instance: str | None = None) -> None:
        self.config = config
        self.url = url or config.url
        self.instance = instance or default_instance()
        self.channel = config.key(config.channel)
        self.history_key = config.key(config.history_key)
        self.stream_key = config.key(config.stream_key)
        self.seen_prefix = config.key("signals:seen:")
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
            if not self._inflight and not await self._take():
                await self._ping()
                continue
            try:
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
        out = []
        for _ in range(n):
            seq, sig, emit_ns, recv_ns = buf.popleft()
            out.append(_Pending(prefix + str(seq), enc(sig), sig.timestamp, emit_ns, recv_ns))
        self._inflight = out
        return True

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = connect(self.url, self.config.timeout_ms)
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
        keys = (self.history_key, self.stream_key)
        channel = self.channel
        hmax, smax, ttl = self._static_args
        seen = self.seen_prefix
        if len(batch) == 1:
            p = batch[0]
            try:
                return [await r.evalsha(PUBLISH_SHA, 3, seen + p.uid, *keys, p.json, p.score, channel, hmax, smax,
                                        ttl, p.uid)]
            except ResponseError as exc:
                return [exc]
        pipe = r.pipeline(transaction=False)
        for p in batch:
            pipe.evalsha(PUBLISH_SHA, 3, seen + p.uid, *keys, p.json, p.score, channel, hmax, smax, ttl, p.uid)
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
            if not self._inflight:
                await self._take()
            try:
                async with asyncio.timeout(max(0.01, deadline - time.monotonic())):
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
            "failures": self.failures,
            "errors": self.errors,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
            "channel": self.channel,
            "history_key": self.history_key,
            "stream_key": self.stream_key,
        }


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One signal read from the stream: ack ``entry_id`` once handled; ``uid`` is unique per signal."""

    entry_id: str
    uid: str
    signal: Signal


class SignalStreamReader:
    """Reads the signal stream through a consumer group, with explicit acknowledgement.

    ``start_id`` is where a *new* group starts: ``"$"`` (only signals from now on, the default for
    a trader) or ``"0"`` (everything the stream still holds). If Redis restarts and loses the
    stream (or the group), the group is recreated from ``"0"`` of the new stream, so nothing
    written after the restart is missed. While Redis is unreachable ``read`` waits (with back-off)
    and returns ``[]``; after a reconnect the consumer first re-reads its own pending entries.
    """

    def __init__(self, config: RedisConfig, group: str, consumer: str, *, url: str | None = None,
                 start_id: str = "$", count: int = 100, block_ms: int = 1000) -> None:
        self.config = config
        self.url = url or config.url
        self.stream_key = config.key(config.stream_key)
        self.group = group
        self.consumer = consumer
        self.start_id = start_id
        self.count = count
        self.block_ms = block_ms
        self.read_count = 0
        self.redelivered = 0
        self.acked = 0
        self.undecodable = 0
        self.reconnects = 0
        self.connected = False
        self._pending_pass = True  # read our own un-acked entries first ...
        self._cursor = "0"  # ... from this id on
        self._group_ready = False
        self._backoff = BACKOFF_MIN_S
        self._redis: aioredis.Redis | None = None
        self._warn = RateLimited(log)
        self._buffer: deque[StreamEntry] = deque()

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            # Blocking reads need a socket time-out longer than the block.
            self._redis = connect(self.url, self.config.timeout_ms + self.block_ms)
        return self._redis

    async def _ensure_group(self, start_id: str) -> None:
        try:
            await self._client().xgroup_create(self.stream_key, self.group, id=start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def read(self) -> list[StreamEntry]:
        """Up to ``count`` entries for this consumer (pending ones first); ``[]`` after ``block_ms``."""
        try:
            if not self._group_ready:
                await self._ensure_group(self.start_id)
            r = self._client()
            if self._pending_pass:
                resp = await r.xreadgroup(self.group, self.consumer, {self.stream_key: self._cursor}, count=self.count)
            else:
                resp = await r.xreadgroup(self.group, self.consumer, {self.stream_key: ">"}, count=self.count,
                                          block=self.block_ms)
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                # The stream or the group vanished (Redis restarted without persistence).
                self._group_ready = False
                await self._recreate_group()
                return []
            raise
        except RETRYABLE as exc:
            if self.connected:
                self._warn.warning("down", "redis unreachable; stream reader waiting", error=repr(exc))
            self.connected = False
            self._pending_pass, self._cursor = True, "0"
            await asyncio.sleep(self._backoff)
            self._backoff = min(BACKOFF_MAX_S, self._backoff * 2)
            return []
        if not self.connected:
            if self.read_count or self.acked:
                self.reconnects += 1
            self.connected = True
        self._backoff = BACKOFF_MIN_S
        entries, poison = self._parse(resp)
        if poison:
            # Undecodable, or trimmed away while pending: nothing to handle, so never redeliver.
            with contextlib.suppress(*RETRYABLE, ResponseError):
                await r.xack(self.stream_key, self.group, *poison)
        if self._pending_pass:
            self.redelivered += len(entries)
            n = sum(len(messages) for _stream, messages in cast(Any, resp) or ())
            if n < self.count:
                self._pending_pass = False  # our backlog is drained: from now on, new entries
                self._cursor = "0"
            else:
                self._cursor = entries[-1].entry_id if entries else poison[-1]
        self.read_count += len(entries)
        return entries

    async def _recreate_group(self) -> None:
        try:
            await self._ensure_group("0")
        except RETRYABLE:
            self.connected = False

    def _parse(self, resp: Any) -> tuple[list[StreamEntry], list[str]]:
        out: list[StreamEntry] = []
        poison: list[str] = []
        for _stream, messages in resp or ():
            for raw_id, fields in messages:
                entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                if not fields:
                    poison.append(entry_id)  # trimmed away while pending: nothing left to handle
                    continue
                try:
                    sig = signal_from_json(fields[b"signal"])
                    uid = fields.get(b"uid", b"").decode()
                except (KeyError, msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
                    self.undecodable += 1
                    poison.append(entry_id)
                    continue
                out.append(StreamEntry(entry_id, uid, sig))
        return out, poison

    async def ack(self, *entry_ids: str) -> int:
        """Acknowledge handled entries; returns how many Redis still had pending (0 if unreachable)."""
        if not entry_ids:
            return 0
        try:
            n = int(await self._client().xack(self.stream_key, self.group, *entry_ids))
        except RETRYABLE as exc:
            # The entries stay pending and come back after the reconnect: handling is idempotent by uid.
            self.connected = False
            self._pending_pass, self._cursor = True, "0"
            self._warn.warning("ack", "could not acknowledge (will be redelivered)", error=repr(exc))
            return 0
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                self._group_ready = False
                return 0
            raise
        self.acked += n
        return n

    def __aiter__(self) -> AsyncIterator[StreamEntry]:
        return self

    async def __anext__(self) -> StreamEntry:
        """The next entry (waiting as long as it takes); ack it when handled."""
        while not self._buffer:
            self._buffer.extend(await self.read())
        return self._buffer.popleft()

    async def close(self) -> None:
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None

    def stats(self) -> dict[str, object]:
        return {
            "url": redact_url(self.url), "connected": self.connected, "stream": self.stream_key,
            "group": self.group, "consumer": self.consumer, "read": self.read_count,
            "redelivered": self.redelivered, "acked": self.acked, "undecodable": self.undecodable,
            "reconnects": self.reconnects,
        }


class SignalFeed:
    """Live signals from the Redis channel, as an async iterator (for the dashboard).

    Reconnects on its own; after a reconnect it first yields, from the history sorted set, the
    signals published while it was away (those at or after the last timestamp it saw, minus the
    ones it already yielded), then resumes the live channel.
    """

    def __init__(self, config: RedisConfig, *, url: str | None = None, catch_up: bool = True) -> None:
        self.config = config
        self.url = url or config.url
        self.channel = config.key(config.channel)
        self.history_key = config.key(config.history_key)
        self.catch_up = catch_up
        self.received = 0
        self.caught_up = 0
        self.undecodable = 0
        self.reconnects = 0
        self.connected = False
        self._redis: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._last_ts = -1
        self._recent: deque[bytes] = deque(maxlen=4096)
        self._recent_set: set[bytes] = set()
        self._pending: deque[Signal] = deque()
        self._backoff = BACKOFF_MIN_S
        self._warn = RateLimited(log)
        self._subscribed = False  # a later subscription is a reconnect

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = connect(self.url, self.config.timeout_ms)
        return self._redis

    async def recent(self, limit: int = 100) -> list[Signal]:
        """The newest ``limit`` signals of the history, oldest first."""
        raw = await self._client().zrange(self.history_key, -limit, -1)
        out = []
        for item in raw:
            try:
                out.append(signal_from_json(cast(bytes, item)))
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.undecodable += 1
        return out

    async def start_from_history(self, limit: int = 1000) -> list[Signal]:
        """The newest ``limit`` signals of the history (oldest first), as already seen.

        Call before iterating: the live feed then starts with the signals published after the
        newest of these (caught up from the history, so none falls between the two) and never
        repeats one of them.
        """
        return self._unseen(await self._client().zrange(self.history_key, -limit, -1))

    def _unseen(self, raw_items: list[Any]) -> list[Signal]:
        """Decode history members, keeping (and remembering) those not yielded yet."""
        out = []
        for raw in raw_items:
            try:
                sig = signal_from_json(cast(bytes, raw))
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.undecodable += 1
                continue
            if self._remember(cast(bytes, raw), sig):
                out.append(sig)
        return out

    def _remember(self, raw: bytes, sig: Signal) -> bool:
        """False when this exact signal was already yielded."""
        if raw in self._recent_set:
            return False
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(raw)
        self._recent_set.add(raw)
        if sig.timestamp > self._last_ts:
            self._last_ts = sig.timestamp
        return True

    async def _subscribe(self) -> None:
        r = self._client()
        ps = r.pubsub(ignore_subscribe_messages=True)
        await ps.subscribe(self.channel)
        self._pubsub = ps
        was_seen = self._last_ts >= 0
        if self._subscribed:
            self.reconnects += 1
        self._subscribed = True
        self.connected = True
        if self.catch_up and was_seen:
            missed = self._unseen(await r.zrangebyscore(self.history_key, self._last_ts, "+inf"))
            self.caught_up += len(missed)
            self._pending.extend(missed)

    async def _drop_pubsub(self) -> None:
        ps, self._pubsub = self._pubsub, None
        if ps is not None:
            with contextlib.suppress(Exception):
                await ps.aclose()

    def __aiter__(self) -> AsyncIterator[Signal]:
        return self

    async def __anext__(self) -> Signal:
        while True:
            if self._pending:
                return self._pending.popleft()
            try:
                if self._pubsub is None:
                    await self._subscribe()
                    continue
                msg = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            except RETRYABLE as exc:
                if self.connected:
                    self._warn.warning("down", "redis unreachable; signal feed reconnecting", error=repr(exc))
                self.connected = False
                await self._drop_pubsub()
                await asyncio.sleep(self._backoff)
                self._backoff = min(BACKOFF_MAX_S, self._backoff * 2)
                continue
            self._backoff = BACKOFF_MIN_S
            if msg is None or msg.get("type") != "message":
                continue
            raw = cast(bytes, msg["data"])
            try:
                sig = signal_from_json(raw)
            except (msgspec.DecodeError, msgspec.ValidationError):
                self.undecodable += 1
                continue
            if self._remember(raw, sig):
                self.received += 1
                return sig

    async def close(self) -> None:
        await self._drop_pubsub()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None

    def stats(self) -> dict[str, object]:
        return {"url": redact_url(self.url), "connected": self.connected, "channel": self.channel,
                "received": self.received, "caught_up": self.caught_up, "reconnects": self.reconnects,
                "undecodable": self.undecodable}
