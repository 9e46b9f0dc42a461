"""The Redis side of the bus against a real redis-server: publisher, stream reader, signal feed."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
import redis.asyncio as aioredis

from arbsniper.bus.redis import RedisSignalPublisher, SignalFeed, SignalStreamReader, redact_url
from arbsniper.config import RedisConfig
from arbsniper.model import Signal, signal_from_json

pytestmark = pytest.mark.redis


def sig(n: int, event: str = "open") -> Signal:
    return Signal(action="BUY_A_SELL_B", symbol="BTC/USDT", spread_pct=0.2, buy_price=100.0, sell_price=100.2,
                  profit_estimate=0.2, timestamp=1_000 + n, detected_at=990 + n, id=f"opp{n}", event=event,
                  buy_exchange="a", sell_exchange="b", spread_bps=20.0, fees_bps=10.0, slippage_bps=3.0,
                  funding_bps=0.0, net_bps=7.0, size=1.0, profit_quote=0.07, confidence=40.0, latency_us=5.0,
                  buy_instrument="BTC/USDT", sell_instrument="BTC/USDT", quote_currency="USDT")


async def wait_until(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(pub: RedisSignalPublisher):
    task = asyncio.create_task(pub.run())
    try:
        yield pub
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await pub.close()


async def test_publisher_writes_channel_history_and_stream_with_the_prefix(redis_server):
    cfg = RedisConfig(url=redis_server.url, prefix="t1:")
    r = aioredis.Redis.from_url(redis_server.url)
    ps = r.pubsub(ignore_subscribe_messages=True)
    await ps.subscribe("t1:arbitrage:signals")
    pub = RedisSignalPublisher(cfg, instance="eng")
    async with running(pub):
        for n in (1, 2, 3):
            pub.offer(sig(n))
        await wait_until(lambda: pub.published == 3)
    live = []
    deadline = time.monotonic() + 5
    while len(live) < 3 and time.monotonic() < deadline:
        msg = await ps.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if msg is not None:  # None: the subscribe confirmation, skipped
            live.append(signal_from_json(msg["data"]).id)
    assert live == ["opp1", "opp2", "opp3"]
    kept = await r.zrange("t1:{signals}:history", 0, -1, withscores=True)
    assert [(signal_from_json(m).id, score) for m, score in kept] == [("opp1", 1001.0), ("opp2", 1002.0), ("opp3", 1003.0)]
    stream = await r.xrange("t1:{signals}:stream")
    assert [f[b"uid"] for _, f in stream] == [b"eng:1", b"eng:2", b"eng:3"]
    assert [signal_from_json(f[b"signal"]).id for _, f in stream] == ["opp1", "opp2", "opp3"]
    assert pub.stats()["connected"] is True
    await ps.aclose()
    await r.aclose()


async def test_history_keeps_only_the_newest_history_max_by_timestamp(redis_server):
    cfg = RedisConfig(url=redis_server.url, history_max=5)
    pub = RedisSignalPublisher(cfg, instance="eng")
    # Offered out of timestamp order (two shards interleave): the sorted set orders by score.
    order = [3, 1, 8, 2, 7, 4, 6, 5]
    async with running(pub):
        for n in order:
            pub.offer(sig(n))
        await wait_until(lambda: pub.published == 8)
    r = aioredis.Redis.from_url(redis_server.url)
    kept = await r.zrange("{signals}:history", 0, -1, withscores=True)
    assert [s for _, s in kept] == [1004.0, 1005.0, 1006.0, 1007.0, 1008.0]
    assert [signal_from_json(m).id for m, _ in kept] == ["opp4", "opp5", "opp6", "opp7", "opp8"]
    assert await r.xlen("{signals}:stream") == 8  # the stream is not trimmed by the history's bound
    await r.aclose()


async def test_a_retried_batch_is_not_written_twice(redis_server):
    pub = RedisSignalPublisher(RedisConfig(url=redis_server.url), instance="eng")
    for n in (1, 2):
        pub.offer(sig(n))
    assert await pub._take()
    batch = list(pub._inflight)
    await pub._write(batch)
    # As if the reply to that round trip had been lost: the same batch goes again.
    pub._inflight = batch
    await pub._write(batch)
    r = aioredis.Redis.from_url(redis_server.url)
    assert await r.xlen("{signals}:stream") == 2
    assert await r.zcard("{signals}:history") == 2
    assert pub.duplicates == 2 and pub.published == 4
    await r.aclose()
    await pub.close()


async def test_signals_offered_while_redis_is_down_reach_it_after_a_restart_none_lost(redis_server):
    pub = RedisSignalPublisher(RedisConfig(url=redis_server.url, buffer=100), instance="eng")
    async with running(pub):
        pub.offer(sig(1))
        await wait_until(lambda: pub.published == 1)
        redis_server.kill()
        for n in range(2, 7):
            pub.offer(sig(n))
        await wait_until(lambda: pub.failures >= 2)
        assert pub.published == 1 and pub.pending == 5 and not pub.connected
        await asyncio.to_thread(redis_server.start)
        await wait_until(lambda: pub.published == 6)
    r = aioredis.Redis.from_url(redis_server.url)
    # Redis lost signal 1 with its memory; everything offered during the outage is there.
    assert [f[b"uid"] for _, f in await r.xrange("{signals}:stream")] == [b"eng:2", b"eng:3", b"eng:4", b"eng:5", b"eng:6"]
    assert pub.dropped == 0 and pub.reconnects == 1
    await r.aclose()


async def test_a_full_buffer_while_redis_is_down_drops_the_oldest_and_counts_them(redis_server):
    pub = RedisSignalPublisher(RedisConfig(url=redis_server.url, buffer=3, batch=2), instance="eng")
    redis_server.kill()
    async with running(pub):
        pub.offer(sig(1))
        pub.offer(sig(2))
        await wait_until(lambda: pub.failures >= 1)  # it took [1, 2] as a batch and failed: kept in hand
        for n in range(3, 9):
            pub.offer(sig(n))  # the buffer of 3 keeps 6, 7, 8; 3, 4, 5 are shed
        assert pub.dropped == 3 and pub.pending == 5
        await asyncio.to_thread(redis_server.start)
        await wait_until(lambda: pub.pending == 0)
    r = aioredis.Redis.from_url(redis_server.url)
    uids = [f[b"uid"].decode() for _, f in await r.xrange("{signals}:stream")]
    assert uids == ["eng:1", "eng:2", "eng:6", "eng:7", "eng:8"]
    assert pub.dropped == 3 and pub.published == 5
    await r.aclose()


async def test_consumer_group_delivers_each_entry_to_one_consumer_and_redelivers_unacked(redis_server):
    cfg = RedisConfig(url=redis_server.url)
    a = SignalStreamReader(cfg, "g", "a", start_id="0", count=4, block_ms=100)
    b = SignalStreamReader(cfg, "g", "b", start_id="0", count=4, block_ms=100)
    assert await a.read() == []  # creates the group on an empty stream
    pub = RedisSignalPublisher(cfg, instance="eng")
    async with running(pub):
        for n in range(1, 11):
            pub.offer(sig(n))
        await wait_until(lambda: pub.published == 10)
    got_a = await a.read()
    got_b = await b.read()
    got_a += await a.read()
    got_b += await b.read()
    got_a += await a.read()
    uids = sorted(e.uid for e in got_a + got_b)
    assert uids == sorted(f"eng:{n}" for n in range(1, 11))  # each exactly once across the group
    # a handles (acks) all but its first entry, then "crashes"; its replacement gets that one back.
    await a.ack(*(e.entry_id for e in got_a[1:]))
    await b.ack(*(e.entry_id for e in got_b))
    await a.close()
    a2 = SignalStreamReader(cfg, "g", "a", start_id="0", count=4, block_ms=100)
    again = await a2.read()
    assert [e.uid for e in again] == [got_a[0].uid] and a2.redelivered == 1
    assert await a2.ack(again[0].entry_id) == 1
    assert await a2.read() == []  # nothing pending, nothing new
    await a2.close()
    await b.close()


async def test_stream_reader_recreates_its_group_after_redis_loses_it(redis_server):
    cfg = RedisConfig(url=redis_server.url)
    reader = SignalStreamReader(cfg, "g", "a", start_id="$", block_ms=100)
    assert await reader.read() == []
    redis_server.kill()
    assert await reader.read() == [] and not reader.connected
    await asyncio.to_thread(redis_server.start)
    pub = RedisSignalPublisher(cfg, instance="eng")
    async with running(pub):
        pub.offer(sig(1))
        await wait_until(lambda: pub.published == 1)
    got = []
    for _ in range(20):
        got += await reader.read()
        if got:
            break
    assert [e.uid for e in got] == ["eng:1"]
    await reader.close()


async def test_signal_feed_yields_live_signals_and_catches_up_after_a_reconnect(redis_server):
    cfg = RedisConfig(url=redis_server.url)
    feed = SignalFeed(cfg)
    it = feed.__aiter__()
    first = asyncio.create_task(it.__anext__())
    await wait_until(lambda: feed.connected)
    pub = RedisSignalPublisher(cfg, instance="eng")
    async with running(pub):
        pub.offer(sig(1))
        assert (await asyncio.wait_for(first, 5)).id == "opp1"
        # The feed's connection drops (Redis restarts); signals keep coming meanwhile.
        redis_server.kill()
        nxt = asyncio.create_task(it.__anext__())
        await wait_until(lambda: not feed.connected)
        await asyncio.to_thread(redis_server.start)
        await wait_until(lambda: pub.connected)
        pub.offer(sig(2))
        pub.offer(sig(3))
        await wait_until(lambda: pub.published == 3)
        got = [(await asyncio.wait_for(nxt, 5)).id]
        while len(got) < 2:
            got.append((await asyncio.wait_for(it.__anext__(), 5)).id)
    assert got == ["opp2", "opp3"]
    assert feed.reconnects == 1
    assert [s.id for s in await feed.recent(10)] == ["opp2", "opp3"]
    await feed.close()


async def test_feed_started_from_history_neither_repeats_nor_misses_a_signal(redis_server):
    cfg = RedisConfig(url=redis_server.url)
    pub = RedisSignalPublisher(cfg, instance="eng")
    async with running(pub):
        pub.offer(sig(1))
        pub.offer(sig(2))
        await wait_until(lambda: pub.published == 2)
        feed = SignalFeed(cfg)
        assert [s.id for s in await feed.start_from_history(10)] == ["opp1", "opp2"]
        pub.offer(sig(3))  # published before the feed subscribes: must come from the catch-up
        await wait_until(lambda: pub.published == 3)
        it = feed.__aiter__()
        assert (await asyncio.wait_for(it.__anext__(), 5)).id == "opp3"
        await wait_until(lambda: feed.connected)
        pub.offer(sig(4))  # live
        assert (await asyncio.wait_for(it.__anext__(), 5)).id == "opp4"
    assert feed.reconnects == 0
    await feed.close()


def test_redact_url_hides_the_password():
    assert redact_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("redis://user:s3cret@h/1") == "redis://user:***@h/1"
    assert redact_url("redis://h:6379/0") == "redis://h:6379/0"


async def test_a_restarted_shard_closes_what_its_killed_predecessor_left_open(redis_server):
    # Defect 9: the predecessor opened opp1..opp3 and closed opp2, then died (no shutdown, no
    # close_all). Its successor under the same shard name closes opp1 and opp3 with engine_restart
    # before anything of its own, and the open set then holds only what the successor opened.
    cfg = RedisConfig(url=redis_server.url)
    r = aioredis.Redis.from_url(redis_server.url)
    first = RedisSignalPublisher(cfg, instance="eng-a", open_set="engine-0of2")
    async with running(first):
        for s in (sig(1), sig(2), sig(3), sig(2, "close")):
            first.offer(s)
        await wait_until(lambda: first.published == 4)
    assert sorted(await r.hkeys("{signals}:open:engine-0of2")) == [b"opp1", b"opp3"]

    second = RedisSignalPublisher(cfg, instance="eng-b", open_set="engine-0of2")
    second.offer(sig(4))  # detected before Redis was read: still written after the leftovers' closes
    async with running(second):
        await wait_until(lambda: second.published == 3)
    assert second.restart_closed == 2
    entries = [(f[b"uid"].decode(), signal_from_json(f[b"signal"])) for _, f in await r.xrange("{signals}:stream")]
    tail = [(s.id, s.event, s.close_reason) for _, s in entries[4:]]
    assert tail == [("opp1", "close", "engine_restart"), ("opp3", "close", "engine_restart"), ("opp4", "open", None)]
    assert len({uid for uid, _ in entries}) == len(entries) == 7
    assert await r.hkeys("{signals}:open:engine-0of2") == [b"opp4"]
    # Another shard's open set is its own: untouched.
    other = RedisSignalPublisher(cfg, instance="eng-c", open_set="engine-1of2")
    async with running(other):
        await wait_until(lambda: other._recovered)
    assert other.restart_closed == 0
    await r.aclose()
