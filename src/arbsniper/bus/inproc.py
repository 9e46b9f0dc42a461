"""In-process bus: a conflating queue for market data, a fan-out for signals.

Neither ever blocks a producer. When the engine lags, market data conflates to the newest event
per (kind, venue, instrument) — no instrument starves, stale intermediate quotes are skipped —
and every replaced or shed event is counted. Each signal consumer has its own bounded queue and
sees every signal unless its queue is full, in which case the drop is counted for that consumer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from arbsniper.model import Book, Funding, MarketEvent, Quote, Signal, VenueStatus

T = TypeVar("T")

_QUOTE, _BOOK, _FUNDING = 0, 1 << 60, 2 << 60


def _key(ev: MarketEvent) -> object:
    t = type(ev)
    if t is Quote:
        return _QUOTE | ev.venue << 32 | ev.instrument  # type: ignore[union-attr]
    if t is Book:
        return _BOOK | ev.venue << 32 | ev.instrument  # type: ignore[union-attr]
    if t is Funding:
        return _FUNDING | ev.venue << 32 | ev.instrument  # type: ignore[union-attr]
    if t is VenueStatus:
        return ("status", ev.venue, ev.market, ev.instrument)  # type: ignore[union-attr]
    raise TypeError(f"not a market event: {ev!r}")


class Counters:
    __slots__ = ("pushed", "popped", "dropped")

    def __init__(self) -> None:
        self.pushed = 0
        self.popped = 0
        self.dropped = 0

    def as_dict(self) -> dict[str, float]:
        """``pushed`` counts every offer; each one is later ``popped``, or ``dropped`` (never both)."""
        return {
            "pushed": self.pushed,
            "popped": self.popped,
            "dropped": self.dropped,
            "depth": self.pushed - self.popped - self.dropped,
            "drop_rate": self.dropped / self.pushed if self.pushed else 0.0,
        }


class ConflatingQueue(Counters):
    """Market events in arrival order, at most one pending per (kind, venue, instrument).

    A newer event for a pending key replaces the older one and moves to the back, so the
    consumer sees events in the order of their latest arrival (a status never jumps ahead of a
    quote that came after it). ``pushed`` counts events accepted, ``dropped`` those replaced or
    shed because ``capacity`` distinct keys were already pending (``dropped_by_venue`` per venue).
    """

    __slots__ = ("capacity", "dropped_by_venue", "_items", "_wakeup", "_waiting")

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.dropped_by_venue: dict[int, int] = {}  # venue id -> its events dropped
        self._items: dict[object, MarketEvent] = {}
        self._wakeup = asyncio.Event()
        self._waiting = False

    def __len__(self) -> int:
        return len(self._items)

    def push(self, ev: MarketEvent) -> None:
        """Enqueue without blocking (hot path); conflates when the consumer lags."""
        key = _key(ev)
        items = self._items
        if key in items:
            del items[key]  # re-inserted below, at the back
            self._drop(ev.venue)  # same key: same venue
        elif len(items) >= self.capacity:
            self._drop(items.pop(next(iter(items))).venue)
        items[key] = ev
        self.pushed += 1
        if self._waiting:
            self._waiting = False
            self._wakeup.set()

    def _drop(self, venue: int) -> None:
        self.dropped += 1
        d = self.dropped_by_venue
        d[venue] = d.get(venue, 0) + 1

    def drain_nowait(self) -> list[MarketEvent]:
        """Take everything pending, oldest first."""
        if not self._items:
            return []
        out = list(self._items.values())
        self._items.clear()
        self.popped += len(out)
        return out

    async def drain(self) -> list[MarketEvent]:
        """Wait until something is pending, then take all of it."""
        while not self._items:
            self._waiting = True
            self._wakeup.clear()
            await self._wakeup.wait()
        return self.drain_nowait()


class Subscription(Counters, Generic[T]):
    """One consumer's bounded queue of the fan-out."""

    __slots__ = ("name", "capacity", "_items", "_wakeup", "_waiting", "closed")

    def __init__(self, name: str, capacity: int) -> None:
        super().__init__()
        self.name = name
        self.capacity = capacity
        self._items: deque[T] = deque()
        self._wakeup = asyncio.Event()
        self._waiting = False
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: T) -> bool:
        self.pushed += 1
        if len(self._items) >= self.capacity:
            self.dropped += 1
            return False
        self._items.append(item)
        if self._waiting:
            self._waiting = False
            self._wakeup.set()
        return True

    def get_batch_nowait(self, max_items: int = 1 << 30) -> list[T]:
        items = self._items
        n = min(len(items), max_items)
        out = [items.popleft() for _ in range(n)]
        self.popped += n
        return out

    async def get_batch(self, max_items: int = 1 << 30) -> list[T]:
        """Wait for at least one item (or close), then take up to ``max_items``."""
        while not self._items and not self.closed:
            self._waiting = True
            self._wakeup.clear()
            await self._wakeup.wait()
        return self.get_batch_nowait(max_items)

    def close(self) -> None:
        """No more items will come; a waiting consumer wakes with what is left."""
        self.closed = True
        self._wakeup.set()


class FanOut(Generic[T]):
    """Every subscriber sees every published item, each through its own bounded queue."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.subscriptions: list[Subscription[T]] = []
        self.published = 0

    def subscribe(self, name: str, capacity: int | None = None) -> Subscription[T]:
        sub: Subscription[T] = Subscription(name, capacity or self.capacity)
        self.subscriptions.append(sub)
        return sub

    def publish(self, item: T) -> None:
        """Hand an item to every subscriber without blocking; full queues count a drop."""
        self.published += 1
        for sub in self.subscriptions:
            sub.offer(item)

    def close(self) -> None:
        for sub in self.subscriptions:
            sub.close()

    def stats(self) -> dict[str, dict[str, float]]:
        return {sub.name: sub.as_dict() for sub in self.subscriptions}


SignalBus = FanOut[Signal]
