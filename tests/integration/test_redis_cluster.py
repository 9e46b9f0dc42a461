"""The Redis side of the bus on a real 3-node Redis Cluster that this test starts.

Every key carries the ``{signals}`` hash tag, so the publish script (seen-guard, history, stream,
open set) runs unchanged on a cluster; the clients use redis-py's cluster client
(``[redis] cluster = true``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio.cluster as aiocluster

from arbsniper.bus.redis import RedisSignalPublisher, SignalFeed, SignalStreamReader
from arbsniper.config import RedisConfig
from tests.integration.test_redis_bus import running, sig, wait_until

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cluster(tmp_path: Path) -> Iterator[list[int]]:
    """Three redis-server nodes with ``--cluster-enabled yes`` joined by ``redis-cli --cluster create``."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server / redis-cli are not installed (Debian: apt-get install redis-server redis-tools)")
    ports = cluster_ports(3)
    procs = []
    try:
        for port in ports:
            d = tmp_path / f"node-{port}"
            d.mkdir()
            procs.append(subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", str(d / "nodes.conf"), "--save", "", "--appendonly", "no",
                 "--dir", str(d), "--protected-mode", "no", "--logfile", str(d / "redis.log")]))
        for port in ports:
            _wait_ping(port)
        subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-replicas", "0",
                        "--cluster-yes"], check=True, capture_output=True, timeout=30)
        deadline = time.monotonic() + 15
        while redis.Redis(port=ports[0]).cluster("info")["cluster_state"] != "ok":
            assert time.monotonic() < deadline, "the cluster did not reach state ok"
            time.sleep(0.05)
        yield ports
    finally:
        for p in procs:
            p.kill()
            p.wait(5)


def cluster_ports(n: int) -> list[int]:
    """``n`` free ports whose cluster-bus ports (port + 10000) are free too, all below 65536."""
    out: list[int] = []
    for _ in range(500):
        port = random.randrange(20_000, 50_000)
        if port in out:
            continue
        try:
            for p in (port, port + 10_000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        out.append(port)
        if len(out) == n:
            return out
    raise RuntimeError("no free ports for a cluster")


def _wait_ping(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            if redis.Redis(port=port, socket_timeout=0.5).ping():
                return
        except redis.ConnectionError:
            assert time.monotonic() < deadline, f"node {port} did not start"
            time.sleep(0.02)


async def test_publisher_stream_reader_and_feed_run_unchanged_on_a_redis_cluster(redis_cluster):
    # The client is given the *last* node: the slot of {signals} may live on any of the three.
    cfg = RedisConfig(url=f"redis://127.0.0.1:{redis_cluster[-1]}/0", cluster=True, prefix="c:")
    r = aiocluster.RedisCluster.from_url(cfg.url)
    slots = {r.keyslot(k) for k in ("c:{signals}:history", "c:{signals}:stream", "c:{signals}:seen:x",
                                    "c:{signals}:open:engine-0of2")}
    assert len(slots) == 1  # one slot: the multi-key script is legal on a cluster

    reader = SignalStreamReader(cfg, "traders", "t1", start_id="0", block_ms=200)
    feed = SignalFeed(cfg, catch_up=False)
    got: list[str] = []

    async def follow() -> None:
        async for s in feed:
            got.append(s.id)

    follower = asyncio.create_task(follow())
    await wait_until(lambda: feed.connected)
    pub = RedisSignalPublisher(cfg, instance="eng", open_set="engine-0of2")
    async with running(pub):
        for n in range(1, 6):
            pub.offer(sig(n))
        pub.offer(sig(2, "close"))
        await wait_until(lambda: pub.published == 6)
    assert pub.errors == 0 and pub.dropped == 0
    assert await r.zcard("c:{signals}:history") == 6
    assert sorted(await r.hkeys("c:{signals}:open:engine-0of2")) == [b"opp1", b"opp3", b"opp4", b"opp5"]

    entries = []
    while len(entries) < 6:
        batch = await reader.read()
        entries += batch
        await reader.ack(*(e.entry_id for e in batch))
    assert [e.uid for e in entries] == [f"eng:{n}" for n in range(1, 7)]
    await wait_until(lambda: len(got) == 6)  # PUBLISH from the script reaches a subscriber on any node

    # A restarted shard on the cluster closes the leftovers, as on a single Redis.
    again = RedisSignalPublisher(cfg, instance="eng2", open_set="engine-0of2")
    async with running(again):
        await wait_until(lambda: again.published == 4)
    assert again.restart_closed == 4 and await r.hlen("c:{signals}:open:engine-0of2") == 0

    follower.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await follower
    await feed.close()
    await reader.close()
    await r.aclose()
