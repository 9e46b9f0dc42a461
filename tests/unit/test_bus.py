"""The in-process bus: conflation, fan-out and drop counting."""

from __future__ import annotations

import asyncio

from arbsniper.bus.inproc import ConflatingQueue, FanOut
from arbsniper.model import DOWN, Book, Quote, VenueStatus


def q(venue: int, inst: int, bid: float, t: int = 0) -> Quote:
    return Quote(venue, inst, bid, 1.0, bid + 1, 1.0, t, t, 0)


def test_conflating_queue_keeps_newest_per_instrument_and_counts_drops() -> None:
    cq = ConflatingQueue(capacity=100)
    cq.push(q(0, 0, 100.0))
    cq.push(q(0, 1, 200.0))
    cq.push(q(0, 0, 101.0))  # replaces the first
    cq.push(q(0, 0, 102.0))  # and again
    out = cq.drain_nowait()
    # the newest of instrument 0 moved behind instrument 1, which arrived before it
    assert [(e.instrument, e.bid) for e in out] == [(1, 200.0), (0, 102.0)]
    stats = cq.as_dict()
    assert (stats["pushed"], stats["popped"], stats["dropped"], stats["depth"]) == (4, 2, 2, 0)
    assert stats["drop_rate"] == 0.5


def test_conflation_never_reorders_a_status_after_a_later_quote() -> None:
    cq = ConflatingQueue(capacity=100)
    cq.push(q(0, 0, 100.0))
    cq.push(VenueStatus(0, DOWN, "lost", 0))
    cq.push(q(0, 0, 101.0))  # arrived after the status: must be processed after it
    out = cq.drain_nowait()
    assert [type(e).__name__ for e in out] == ["VenueStatus", "Quote"]
    assert out[1].bid == 101.0


def test_quotes_and_books_of_one_instrument_conflate_separately() -> None:
    cq = ConflatingQueue(capacity=100)
    cq.push(q(0, 0, 100.0))
    cq.push(Book(0, 0, [(100.0, 1.0)], [(101.0, 1.0)], 0, 0, 0))
    assert len(cq.drain_nowait()) == 2


def test_conflating_queue_sheds_oldest_when_capacity_of_keys_is_reached() -> None:
    cq = ConflatingQueue(capacity=2)
    for inst in range(3):
        cq.push(q(0, inst, 100.0 + inst))
    out = cq.drain_nowait()
    assert [e.instrument for e in out] == [1, 2]
    assert cq.dropped == 1


async def test_drain_waits_for_a_push() -> None:
    cq = ConflatingQueue(capacity=10)
    task = asyncio.create_task(cq.drain())
    await asyncio.sleep(0)
    assert not task.done()
    cq.push(q(1, 1, 5.0))
    out = await asyncio.wait_for(task, 1.0)
    assert [e.bid for e in out] == [5.0]


def test_fan_out_gives_every_consumer_every_item_and_counts_drops_per_consumer() -> None:
    fan: FanOut[int] = FanOut(capacity=3)
    fast = fan.subscribe("fast")
    slow = fan.subscribe("slow", capacity=2)
    for k in range(3):
        fan.publish(k)
    assert fast.get_batch_nowait() == [0, 1, 2]
    assert slow.get_batch_nowait() == [0, 1]
    assert (slow.pushed, slow.popped, slow.dropped) == (3, 2, 1)
    assert fan.stats()["slow"]["drop_rate"] == 1 / 3
    assert fan.stats()["fast"]["dropped"] == 0


async def test_closed_subscription_wakes_its_consumer() -> None:
    fan: FanOut[int] = FanOut(capacity=3)
    sub = fan.subscribe("x")
    task = asyncio.create_task(sub.get_batch())
    await asyncio.sleep(0)
    fan.close()
    assert await asyncio.wait_for(task, 1.0) == []
