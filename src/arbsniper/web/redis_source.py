"""Signals of a distributed deployment, read from Redis for ``arbsniper dashboard``.

Engines ``PUBLISH`` each signal's JSON on ``<prefix>arbitrage:signals`` and keep the newest in
the sorted set ``<prefix>signals:history`` (score = timestamp), per SPEC §6. This reader
subscribes first and then reads the sorted set, so nothing falls between the two; what it reads
twice is recognised by (id, event, timestamp) and skipped. It reconnects with back-off when Redis
goes away and resumes from the newest timestamp it has seen.

A small adapter of the dashboard's own: the distributed bus module may supersede it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from arbsniper.logs import RateLimited
from arbsniper.model import Signal, signal_from_json

log = logging.getLogger("arbsniper.web.redis")

SEEN_KEEP = 4096


class RedisSignals:
    """Subscribe to published signals; start from the history sorted set."""

    def __init__(self, url: str, prefix: str = "") -> None:
        self.url = url
        self.channel = f"{prefix}arbitrage:signals"
        self.history_key = f"{prefix}signals:history"
        self.redis: aioredis.Redis = aioredis.Redis.from_url(url)
        self.connected = False
        self.received = 0
        self.seeded = 0
        self.bad = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._last_ts = 0
        self._seen: dict[tuple[str, str, int], None] = {}
        self._warn = RateLimited(log, 30.0)

    def _decode(self, raw: Any) -> Signal | None:
        try:
            return signal_from_json(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self.bad += 1
            self._warn.warning("bad", "not a signal on redis", error=str(exc)[:200])
            return None

    def _first_time(self, s: Signal) -> bool:
        key = (s.id, s.event, s.timestamp)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_KEEP:
            del self._seen[next(iter(self._seen))]
        self._last_ts = max(self._last_ts, s.timestamp)
        return True

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` signals of the history sorted set, newest first."""
        members = await self.redis.zrevrange(self.history_key, 0, limit - 1)
        out = []
        for m in members:
            s = self._decode(m)
            if s is not None:
                out.append(msgspec.to_builtins(s))
        return out

    async def run(self, publish: Callable[[Signal], None], seed: Callable[[list[Signal]], None], seed_limit: int = 1000) -> None:
        """Forward live signals to ``publish``; history read at (re)connect goes to ``seed``."""
        backoff = 0.5
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                members = await self.redis.zrevrangebyscore(self.history_key, "+inf", self._last_ts, start=0, num=seed_limit)
                history = [s for s in (self._decode(m) for m in reversed(members)) if s is not None]
                history.sort(key=lambda s: s.timestamp)
                fresh = [s for s in history if self._first_time(s)]
                self.seeded += len(fresh)
                if fresh:
                    seed(fresh)
                self.connected = True
                backoff = 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    s = self._decode(message["data"])
                    if s is not None and self._first_time(s):
                        self.received += 1
                        publish(s)
            except (RedisError, OSError) as exc:
                self.connected = False
                self.reconnects += 1
                self.last_error = repr(exc)
                self._warn.warning("conn", "redis unavailable; retrying", url=self.url, error=repr(exc), retry_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                self.connected = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    def stats(self) -> dict[str, Any]:
        return {
            "url": self.url.split("@")[-1],  # never the password part
            "channel": self.channel,
            "history_key": self.history_key,
            "connected": self.connected,
            "received": self.received,
            "seeded": self.seeded,
            "bad": self.bad,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }

    async def close(self) -> None:
        await self.redis.aclose()
