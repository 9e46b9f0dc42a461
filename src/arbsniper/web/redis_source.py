"""Signals of a distributed deployment, read from Redis for ``arbsniper dashboard``.

A thin adapter of ``bus.redis.SignalFeed`` (the one reader of the published channel): the page
starts from the history sorted set, then follows the live channel; after an outage the feed
catches up from the history, so nothing falls between and nothing repeats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from arbsniper.bus.redis import BACKOFF_MAX_S, BACKOFF_MIN_S, RETRYABLE, SignalFeed
from arbsniper.config import RedisConfig
from arbsniper.logs import RateLimited
from arbsniper.metrics import REDIS_CONNECTED, REDIS_RECONNECTS, Part
from arbsniper.model import Signal

log = logging.getLogger("arbsniper.web.redis")


class RedisSignals:
    """The dashboard's signal source: history first, then live, through ``SignalFeed``."""

    def __init__(self, config: RedisConfig, url: str | None = None) -> None:
        self.feed = SignalFeed(config, url=url)
        self.seeded = 0
        self.last_error: str | None = None
        self._warn = RateLimited(log, 30.0)

    @property
    def connected(self) -> bool:
        return self.feed.connected

    @property
    def reconnects(self) -> int:
        return self.feed.reconnects

    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` signals of the history sorted set, newest first (``/api/history``)."""
        return [msgspec.to_builtins(s) for s in reversed(await self.feed.recent(limit))]

    async def run(self, publish: Callable[[Signal], None], seed: Callable[[list[Signal]], None], seed_limit: int = 1000) -> None:
        """The history goes to ``seed`` once Redis answers; every later signal to ``publish``."""
        backoff = BACKOFF_MIN_S
        while True:
            try:
                history = await self.feed.start_from_history(seed_limit)
                break
            except RETRYABLE as exc:
                self.last_error = repr(exc)
                self._warn.warning("conn", "redis unavailable; retrying", error=repr(exc), retry_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        self.seeded = len(history)
        if history:
            seed(history)
        async for s in self.feed:
            publish(s)

    def samples(self) -> list[Part]:
        return [REDIS_CONNECTED(1.0 if self.connected else 0.0), REDIS_RECONNECTS(self.reconnects)]

    def stats(self) -> dict[str, Any]:
        return {**self.feed.stats(), "history_key": self.feed.history_key, "seeded": self.seeded,
                "last_error": self.last_error}

    async def close(self) -> None:
        await self.feed.close()
