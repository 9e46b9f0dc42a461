"""Where the runner's signals come from: one small interface with explicit acknowledgement.

``receive`` returns a batch of deliveries (an empty list only once the source is closed and
drained); the runner acks each delivery after it has acted on it (refused it, or written the trade
to the ledger). In-process, ack is free: nothing is redelivered. From a Redis stream, ack is
``XACK``: a trader killed between reading and acting gets the same signals again on restart (its
consumer's pending list is read first), and the ledger's record of traded opportunities makes the
replay harmless.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from arbsniper.bus.inproc import Subscription
from arbsniper.config import RedisConfig
from arbsniper.model import Signal

log = logging.getLogger("arbsniper.trading")


@dataclass(slots=True)
class Delivery:
    signal: Signal
    token: Any = None  # what ``ack`` needs (a Redis stream entry id); None in-process


class SignalSource(Protocol):
    async def receive(self, max_items: int = 256) -> list[Delivery]:
        """Wait for signals; an empty list means the source is closed and nothing is left."""
        ...

    async def ack(self, deliveries: list[Delivery]) -> None:
        """The runner is done with these: never deliver them again."""
        ...


class InprocSource:
    """The embedded app's per-consumer queue (``App.add_consumer``)."""

    def __init__(self, sub: Subscription[Signal]) -> None:
        self.sub = sub

    async def receive(self, max_items: int = 256) -> list[Delivery]:
        while True:
            batch = await self.sub.get_batch(max_items)
            if batch or self.sub.closed:
                return [Delivery(s) for s in batch]

    async def ack(self, deliveries: list[Delivery]) -> None:
        return None


DEFAULT_GROUP = "traders"


class RedisStreamSource:
    """The engines' signal stream (``bus.redis.SignalStreamReader``: ``XREADGROUP``/``XACK``).

    A new consumer group starts from the oldest entry the stream still holds, so nothing written
    before the trader started is missed (the runner refuses what is too old). On start the
    consumer's pending entries (delivered before a crash, never acked) come first.
    """

    def __init__(self, config: RedisConfig, group: str = DEFAULT_GROUP, consumer: str = "trader-1", *,
                 url: str | None = None, block_ms: int = 1000) -> None:
        from arbsniper.bus.redis import SignalStreamReader

        self.reader = SignalStreamReader(config, group, consumer, url=url, start_id="0", block_ms=block_ms)
        self.closed = False

    @property
    def bad(self) -> int:
        """Entries that were not a signal (acked away, never redelivered)."""
        return self.reader.undecodable

    async def receive(self, max_items: int = 256) -> list[Delivery]:
        self.reader.count = max_items
        while not self.closed:
            entries = await self.reader.read()
            if entries:
                return [Delivery(e.signal, e.entry_id) for e in entries]
        return []

    async def ack(self, deliveries: list[Delivery]) -> None:
        ids = [d.token for d in deliveries if d.token is not None]
        if ids:
            await self.reader.ack(*ids)

    async def close(self) -> None:
        self.closed = True
        await self.reader.close()


async def wait_closed(source: object) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        res = close()
        if asyncio.iscoroutine(res):
            await res
