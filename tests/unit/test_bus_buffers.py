"""The bounded buffers of the distributed bus: the ingest backlog, the Redis signal buffer, histograms."""

from __future__ import annotations

import asyncio
import contextlib

from arbsniper.bus.redis import RedisSignalPublisher
from arbsniper.bus.zmq import Backlog
from arbsniper.config import RedisConfig
from arbsniper.metrics import LatencyHistogram
from arbsniper.model import Funding, Quote, Signal


def q(venue: int, instrument: int, bid: float) -> Quote:
    return Quote(venue, instrument, bid, 1.0, bid + 1.0, 1.0, 0, 0, 0)


def test_backlog_keeps_the_newest_per_instrument_and_counts_drops_per_venue():
    b = Backlog(capacity=100)
    for bid in (1.0, 2.0, 3.0):
        b.push(q(0, 7, bid))
    b.push(q(1, 7, 10.0))
    b.push(Funding(0, 7, 0.0001, 8.0, 0, 0, 0))  # another kind: its own slot
    out = b.drain_nowait()
    assert [(type(e).__name__, e.venue) for e in out] == [("Quote", 0), ("Quote", 1), ("Funding", 0)]
    assert out[0].bid == 3.0
    assert b.dropped == 2 and b.dropped_by_venue == {0: 2}
    assert b.as_dict()["pushed"] == 5 and b.as_dict()["popped"] == 3 and b.as_dict()["depth"] == 0


def test_backlog_sheds_the_oldest_key_when_full_and_counts_it():
    b = Backlog(capacity=2)
    b.push(q(0, 1, 1.0))
    b.push(q(1, 2, 1.0))
    b.push(q(2, 3, 1.0))  # a third distinct key: the oldest pending goes
    assert [(e.venue, e.instrument) for e in b.drain_nowait()] == [(1, 2), (2, 3)]
    assert b.dropped_by_venue == {0: 1}


def test_requeued_events_go_back_in_front_unless_a_newer_one_replaced_them():
    b = Backlog(capacity=100)
    b.push(q(0, 1, 1.0))
    b.push(q(0, 2, 1.0))
    b.push(q(0, 3, 1.0))
    taken = b.drain_nowait()  # the sender took all three, then ZeroMQ refused them
    b.push(q(0, 2, 2.0))  # meanwhile instrument 2 moved
    b.push(q(0, 4, 1.0))
    b.requeue(taken)
    out = b.drain_nowait()
    assert [(e.instrument, e.bid) for e in out] == [(1, 1.0), (3, 1.0), (2, 2.0), (4, 1.0)]
    d = b.as_dict()
    assert (d["pushed"], d["popped"], d["dropped"], d["depth"]) == (5, 4, 1, 0)
    assert b.dropped_by_venue == {0: 1}


def sig(n: int) -> Signal:
    return Signal(action="BUY_A_SELL_B", symbol="BTC/USDT", spread_pct=0.2, buy_price=100.0, sell_price=100.2,
                  profit_estimate=0.2, timestamp=1_000 + n, detected_at=1_000 + n, id=f"o{n}", event="open",
                  buy_exchange="a", sell_exchange="b", spread_bps=20.0, fees_bps=10.0, slippage_bps=3.0,
                  funding_bps=0.0, net_bps=7.0, size=1.0, profit_quote=0.07, confidence=40.0, latency_us=5.0,
                  buy_instrument="BTC/USDT", sell_instrument="BTC/USDT", quote_currency="USDT")


def test_redis_buffer_drops_the_oldest_beyond_its_bound_and_counts_every_drop():
    pub = RedisSignalPublisher(RedisConfig(buffer=3), instance="t")
    for n in range(1, 6):
        pub.offer(sig(n))
    assert pub.dropped == 2 and pub.pending == 3 and pub.max_depth == 3
    assert [seq for seq, *_ in pub.buffer] == [3, 4, 5]  # uids t:3, t:4, t:5 survive
    assert pub.seq == 5


def test_latency_histogram_buckets_are_cumulative_and_quantiles_are_bucket_bounds():
    h = LatencyHistogram((1e-6, 1e-5, 1e-4))
    for ns in (500, 1_000, 2_000, 50_000, 2_000_000, -10):
        h.observe(ns)
    # ≤1 µs: 500, 1000, -10→0;  ≤10 µs: +2000;  ≤100 µs: +50000;  +Inf: +2 ms
    assert h.cumulative() == [("1e-06", 3), ("1e-05", 4), ("0.0001", 5), ("+Inf", 6)]
    assert h.sum_ns == 500 + 1_000 + 2_000 + 50_000 + 2_000_000
    assert h.quantile(0.5) == 1e-6  # rank 3 of 6 falls in the first bucket
    assert h.quantile(0.8) == 1e-4  # rank 4.8 → third bucket
    assert h.quantile(0.99) == float("inf")


async def test_publisher_task_ends_on_cancel_even_when_a_command_swallows_the_cancellation():
    pub = RedisSignalPublisher(RedisConfig(), instance="t")

    async def nothing_to_send() -> bool:
        return False

    async def swallowing_ping() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # what redis-py can do with a cancellation mid-command
            await asyncio.sleep(10)

    pub._take = nothing_to_send  # type: ignore[method-assign]
    pub._ping = swallowing_ping  # type: ignore[method-assign]
    task = asyncio.create_task(pub.run())
    await asyncio.sleep(0.01)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert task in done and task.cancelled()
