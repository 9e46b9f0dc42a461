"""Live signals from the Redis channel for the dashboard, caught up from the history after an outage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, cast

import msgspec
import redis.asyncio as aioredis

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
        self._sub_redis: aioredis.Redis | None = None
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
            self._redis = connect(self.url, self.config.timeout_ms, self.config.cluster)
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

    def _sub_client(self) -> aioredis.Redis:
        # On a cluster, PUBLISH reaches the subscribers of every node: a plain client on the
        # configured node subscribes (the cluster client's own pub/sub wants a key slot).
        if not self.config.cluster:
            return self._client()
        if self._sub_redis is None:
            self._sub_redis = connect(self.url, self.config.timeout_ms)
        return self._sub_redis

    async def _subscribe(self) -> None:
        r = self._client()
        ps = self._sub_client().pubsub(ignore_subscribe_messages=True)
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
            if cancel_requested():
                raise asyncio.CancelledError
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
        if self._sub_redis is not None:
            with contextlib.suppress(Exception):
                await self._sub_redis.aclose()
            self._sub_redis = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None

    def stats(self) -> dict[str, object]:
        return {"url": redact_url(self.url), "connected": self.connected, "channel": self.channel,
                "received": self.received, "caught_up": self.caught_up, "reconnects": self.reconnects,
                "undecodable": self.undecodable}
