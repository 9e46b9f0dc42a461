"""The signal stream's consumer-group reader (the trader): ``XREADGROUP`` / ``XACK``.

``await reader.read()`` returns up to ``count`` ``StreamEntry``s (first this consumer's own pending
ones, then new ones); handle each, then ``await reader.ack(entry.entry_id)``. An entry not
acknowledged (the trader crashed) is delivered again on restart, so handling must be idempotent by
``entry.uid``. Each entry goes to one consumer of the group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from arbsniper.bus.redis.connection import (
    BACKOFF_MAX_S,
    BACKOFF_MIN_S,
    RETRYABLE,
    cancel_requested,
    connect,
    redact_url,
)
from arbsniper.config import RedisConfig
from arbsniper.logs import RateLimited
from arbsniper.model import Signal, signal_from_json

log = logging.getLogger("arbsniper.bus.redis")


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
            self._redis = connect(self.url, self.config.timeout_ms + self.block_ms, self.config.cluster)
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
            if cancel_requested():
                raise asyncio.CancelledError
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
