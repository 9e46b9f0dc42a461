"""The ZeroMQ bus on real sockets: back-pressure conflates at the ingest, shards filter at the source."""

from __future__ import annotations

import asyncio
import contextlib
import time

import zmq
import zmq.asyncio

from arbsniper.bus.codec import Decoder, shard_of, shard_prefixes, topic_for
from arbsniper.bus.zmq import ZmqPublisher, ZmqSubscriber
from arbsniper.config import ZmqConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import Quote


async def wait_until(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_lagging_subscriber_gets_the_newest_quote_per_instrument_in_order_and_drops_are_counted():
    ctx = zmq.asyncio.Context()
    cfg = ZmqConfig(bind=["inproc://lag"], connect=["inproc://lag"], sndhwm=4, rcvhwm=4)
    symbols = SymbolMap()
    venue = symbols.venue_id("binance")
    btc, eth = symbols.instrument_id("BTC/USDT"), symbols.instrument_id("ETH/USDT")
    pub = ZmqPublisher(symbols, cfg, context=ctx)
    pub.bind()
    task = asyncio.create_task(pub.run())
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 4)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect("inproc://lag")
    sync_sub = zmq.Socket.shadow(sub.underlying)
    try:
        await wait_until(lambda: b"" in pub.subscriptions)
        # The subscriber reads nothing while 200 quotes arrive: its queue fills, then the ingest conflates.
        for k in range(200):
            inst = btc if k % 2 == 0 else eth
            pub.publish(Quote(venue, inst, 100.0 + k, 1.0, 101.0 + k, 1.0, 0, time.time_ns(), k + 1))
        assert pub.blocked > 0 and len(pub.backlog) == 2  # newest BTC and newest ETH wait

        dec = Decoder(SymbolMap())
        got: dict[str, list[float]] = {"BTC/USDT": [], "ETH/USDT": []}

        def drain() -> None:
            while True:
                try:
                    topic, payload = sync_sub.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    return
                ev, _ = dec.decode(topic, payload)
                got[dec.symbols.instrument_name(ev.instrument)].append(ev.bid)

        async def both_newest_arrived() -> None:
            while not (got["BTC/USDT"][-1:] == [298.0] and got["ETH/USDT"][-1:] == [299.0]):
                drain()
                await asyncio.sleep(0.002)

        await asyncio.wait_for(both_newest_arrived(), 5.0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        pub.close()
        sub.close()
        ctx.term()
    for bids in got.values():
        assert bids == sorted(bids) and len(set(bids)) == len(bids)  # in order, none twice
    received = len(got["BTC/USDT"]) + len(got["ETH/USDT"])
    st = pub.stats()
    assert st["sent"] == received  # everything handed to ZeroMQ arrived
    assert st["sent"] + st["dropped"] == 200 and st["dropped"] > 0  # the rest were conflated, counted
    assert st["by_venue"] == {"binance": {"received": 200, "sent": received, "dropped": st["dropped"]}}
    assert st["backlog"] == 0


async def test_engine_shard_receives_only_its_instruments_from_two_ingest_processes(tmp_path):
    ctx = zmq.asyncio.Context()
    mine = "BTC/USDT"
    shard = shard_of(mine, 2)
    other = next(n for n in ("SOL/USDT:USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT:USDT") if shard_of(n, 2) != shard)
    endpoints = [f"ipc://{tmp_path}/ingest{k}.sock" for k in range(2)]
    pubs = []
    for k, ep in enumerate(endpoints):
        s = SymbolMap()
        s.venue_id(f"venue{k}")
        s.instrument_id(other)
        s.instrument_id(mine)
        p = ZmqPublisher(s, ZmqConfig(bind=[ep], connect=[ep]), context=ctx)
        p.bind()
        pubs.append(p)
    prefixes = shard_prefixes(shard, 2)
    sub = ZmqSubscriber(ZmqConfig(bind=endpoints, connect=endpoints), prefixes, context=ctx)
    received: list[tuple[bytes, bytes]] = []
    tasks = [asyncio.create_task(p.run()) for p in pubs]
    tasks.append(asyncio.create_task(sub.run(lambda t, m, now: received.append((t, m)))))
    try:
        await wait_until(lambda: all(len(p.subscriptions) == len(prefixes) for p in pubs))
        await wait_until(lambda: len(sub.connected) == 2)
        for p in pubs:
            # The other shard's instrument first: anything of it that got through would arrive first.
            for k in range(10):
                p.publish(Quote(0, 0, 1.0 + k, 1.0, 2.0 + k, 1.0, 0, time.time_ns(), k + 1))
            for k in range(10):
                p.publish(Quote(0, 1, 1.0 + k, 1.0, 2.0 + k, 1.0, 0, time.time_ns(), k + 1))
        await wait_until(lambda: len(received) >= 20)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for p in pubs:
            p.close()
        sub.close()
        ctx.term()
    assert len(received) == 20
    assert {t for t, _ in received} == {topic_for(mine)}
    dec = Decoder(SymbolMap())
    venues = {dec.symbols.venue_name(dec.decode(t, m)[0].venue) for t, m in received}
    assert venues == {"venue0", "venue1"}  # both ingest processes fed the one engine
    assert sorted(sub.connected) == sorted(endpoints)


async def test_a_handler_that_signalled_lets_the_loop_run_before_the_rest_of_the_batch():
    # 50 messages wait in the socket; the handler "emits a signal" on the 10th. The writer woken
    # by it must run before message 11 is handled, not after the whole drain.
    ctx = zmq.asyncio.Context()
    pub = ctx.socket(zmq.PUB)
    pub.bind("inproc://yield")
    cfg = ZmqConfig(connect=["inproc://yield"])
    sub = ZmqSubscriber(cfg, [b""], context=ctx)
    sub.connect()
    await asyncio.sleep(0.05)
    for k in range(50):
        await pub.send_multipart([b"t", b"%d" % k])
    await asyncio.sleep(0.05)  # all 50 queued at the SUB socket
    wake = asyncio.Event()
    handled: list[int] = []
    writer_saw: list[int] = []

    async def writer() -> None:
        await wake.wait()
        writer_saw.append(len(handled))

    def handle(topic: bytes, payload: bytes, recv_ns: int) -> bool:
        handled.append(int(payload))
        if int(payload) == 9:
            wake.set()
            return True
        return False

    w = asyncio.create_task(writer())
    task = asyncio.create_task(sub.run(handle))
    try:
        await wait_until(lambda: len(handled) == 50)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await w
        sub.close()
        pub.close(0)
        ctx.term()
    assert handled == list(range(50))  # nothing lost or reordered by the early yield
    assert writer_saw == [10] and sub.yields == 1
