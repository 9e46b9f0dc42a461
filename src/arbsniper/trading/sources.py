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
from arbsniper.model import Signal, signal_from_json

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


DEFAULT_STREAM = "signals:stream"
DEFAULT_GROUP = "traders"


class RedisStreamSource:
    """Reads signals from a Redis stream through a consumer group (``XREADGROUP``/``XACK``).

    Each entry carries the signal JSON in the field ``json`` (``data`` is accepted too). On start
    it first re-reads this consumer's pending entries (delivered before a crash, never acked).
    """

    def __init__(self, url: str, stream: str = DEFAULT_STREAM, group: str = DEFAULT_GROUP,
                 consumer: str = "trader-1", block_ms: int = 1000) -> None:
        import redis.asyncio as aioredis

        self.redis = aioredis.from_url(url)
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.block_ms = block_ms
        self._pending_done = False
        self._ready = False
        self.closed = False
        self.bad = 0

    async def _ensure_group(self) -> None:
        import redis.exceptions

        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._ready = True

    def _decode(self, entries: list) -> list[Delivery]:
        out = []
        for entry_id, fields in entries:
            raw = fields.get(b"json") or fields.get(b"data") if fields else None
            if raw is None:
                self.bad += 1
                out.append(Delivery(None, entry_id))  # type: ignore[arg-type]
                continue
            try:
                out.append(Delivery(signal_from_json(raw), entry_id))
            except Exception:
                self.bad += 1
                out.append(Delivery(None, entry_id))  # type: ignore[arg-type]
        return out

    async def receive(self, max_items: int = 256) -> list[Delivery]:
        if not self._ready:
            await self._ensure_group()
        while not self.closed:
            start = "0" if not self._pending_done else ">"
            resp: Any = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: start}, count=max_items,
                                               block=None if start == "0" else self.block_ms)
            entries = resp[0][1] if resp else []
            if start == "0" and not entries:
                self._pending_done = True
                continue
            if entries:
                deliveries = self._decode(entries)
                bad = [d for d in deliveries if d.signal is None]
                if bad:
                    # Undecodable entries are acked away (and counted) so they are not redelivered forever.
                    log.warning("undecodable stream entries", extra={"fields": {"count": len(bad), "total_bad": self.bad}})
                    await self.ack(bad)
                good = [d for d in deliveries if d.signal is not None]
                if good:
                    return good
        return []

    async def ack(self, deliveries: list[Delivery]) -> None:
        ids = [d.token for d in deliveries if d.token is not None]
        if ids:
            await self.redis.xack(self.stream, self.group, *ids)

    async def close(self) -> None:
        self.closed = True
        await self.redis.aclose()


async def wait_closed(source: object) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        res = close()
        if asyncio.iscoroutine(res):
            await res
