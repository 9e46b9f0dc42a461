"""``bench --distributed``'s scale-out part on a small stream: one engine, then two shards, each
message handled exactly once by the shard that owns its instrument (real processes and Redis)."""

from __future__ import annotations

import pytest

from arbsniper.bench.distributed import _shard_frames, bench_shards_once
from arbsniper.bus.codec import shard_of

pytestmark = pytest.mark.redis


def test_one_engine_and_two_shards_each_handle_their_share_of_the_same_stream(redis_server):
    frames = _shard_frames(4000)
    one = bench_shards_once(redis_server.url, frames, 1)
    two = bench_shards_once(redis_server.url, frames, 2)
    assert one["messages"] == two["messages"] == 4000
    expected = [0, 0]
    for topic, _ in frames:
        expected[shard_of(topic.split(b"|")[1].decode(), 2)] += 1
    assert [r["messages"] for r in two["per_shard"]] == expected and min(expected) > 1000
    for res in (one, two):
        assert res["updates_per_s"] > 0 and res["updates_per_cpu_s"] > 0
        assert all(r["signals"] == r["redis_published"] for r in res["per_shard"])  # every signal reached Redis
    assert one["per_shard"][0]["signals"] > 0
