"""``arbsniper bench --distributed``: ingest → ZeroMQ → engine → Redis through real processes.

- Latency (``bench_distributed_once``): the real services in two processes, an ingest running the
  synthetic market and an engine holding every instrument, and a real redis-server (started
  here unless ``--redis URL`` is given). Every stage keeps its raw latencies (after a warm-up)
  and the engine sends them back at the end.
- Scale-out (``bench_shards``): one generated stream of 200,000 quotes (8 venues × 100
  instruments) sent at once over ZeroMQ to one engine, then to two shards (``--shard 0/2`` and
  ``1/2``, one process per core); throughput is the messages over the slowest shard's
  first-to-last-message time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from arbsniper.bench.engine import percentile
from arbsniper.config import Config, load_config
from arbsniper.instruments import SymbolMap
from arbsniper.metrics import STAGE_ENGINE_RECEIVE, STAGE_INGEST_PUBLISH, STAGE_REDIS, STAGE_SIGNAL, STAGE_TOTAL

DIST_STAGES = (
    (STAGE_INGEST_PUBLISH, "receive → ingest publish"),
    (STAGE_ENGINE_RECEIVE, "ingest publish → engine receive"),
    (STAGE_SIGNAL, "engine receive → signal"),
    (STAGE_REDIS, "signal → Redis confirmed"),
    (STAGE_TOTAL, "receive → Redis confirmed (total)"),
)
DIST_WARMUP_S = 1.0


def _dist_config(rate: float, prefix: str) -> Config:
    import msgspec

    config = load_config(environ={})
    return msgspec.structs.replace(
        config,
        # Dislocations every 0.3 s: enough signals for a p99 in a few seconds.
        demo=msgspec.structs.replace(config.demo, updates_per_s=rate, seed=7, dislocation_every_s=0.3),
        redis=msgspec.structs.replace(config.redis, prefix=prefix),
    )


def _keep_after_warmup(hists: list[Any], warmup_s: float) -> Any:
    import asyncio

    async def start_keeping() -> None:
        await asyncio.sleep(warmup_s)
        for h in hists:
            h.keep = []

    return start_keeping()


def _ingest_child(conn: Any, config_data: dict[str, Any], endpoint: str, seconds: float) -> None:
    """Child process: the ingest service on the synthetic market; sends its samples back."""
    import asyncio

    import msgspec

    from arbsniper.services.ingest import IngestService
    from arbsniper.sim.synthetic import SyntheticSource

    config = msgspec.convert(config_data, Config)
    symbols = SymbolMap()
    # 1 ms ticks: frames spread in time as from real venue sockets, not 10 ms bursts.
    service = IngestService(config, [SyntheticSource(symbols, demo=config.demo, seed=7, tick_s=0.001)], symbols,
                            bind=[endpoint], http=None)

    async def main() -> None:
        await service.start()
        conn.send("bound")
        if not await service.publisher.wait_for_subscribers(30):  # start the market once the engine listens
            raise RuntimeError("no engine subscribed")
        keeper = asyncio.create_task(_keep_after_warmup([service.publisher.latency], DIST_WARMUP_S))
        await service.run(seconds)
        keeper.cancel()

    asyncio.run(main())
    conn.send({STAGE_INGEST_PUBLISH: service.publisher.latency.keep or [],
               "stats": service.publisher.stats()})


def _engine_child(conn: Any, config_data: dict[str, Any], endpoint: str, redis_url: str, seconds: float) -> None:
    """Child process: the engine service (all instruments) publishing to Redis; sends its samples back."""
    import asyncio

    import msgspec

    from arbsniper.services.engine import EngineService

    config = msgspec.convert(config_data, Config)
    service = EngineService(config, connect=[endpoint], redis_url=redis_url, http=None, name="bench")

    async def main() -> None:
        await service.start()
        conn.send("connected")
        keeper = asyncio.create_task(_keep_after_warmup(list(service.histograms().values()), DIST_WARMUP_S))
        await service.run(seconds)
        keeper.cancel()

    asyncio.run(main())
    out: dict[str, Any] = {name: h.keep or [] for name, h in service.histograms().items()}
    out["stats"] = {"processed": sum(service.processed.values()), "signals": sum(service.signals.values()),
                    "redis": service.redis.stats()}
    conn.send(out)


@contextlib.contextmanager
def redis_server(url: str | None = None) -> Iterator[str]:
    """The Redis to benchmark against: ``url`` as given, or a throwaway ``redis-server`` (stopped after)."""
    if url:
        yield url
        return
    proc, started, tmp = _start_redis_server()
    try:
        yield started
    finally:
        proc.terminate()
        proc.wait(10)
        tmp.cleanup()


def _start_redis_server() -> tuple[Any, str, Any]:
    import shutil
    import socket
    import subprocess
    import tempfile

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; install it or pass --redis URL")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.TemporaryDirectory(prefix="arbsniper-bench-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", tmp.name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0", tmp
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def _redis_version(url: str) -> str:
    import redis

    r = redis.Redis.from_url(url)
    try:
        return str(r.info("server").get("redis_version", "?"))
    finally:
        r.close()


def _summary(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50_us": None, "p99_us": None, "p999_us": None}
    v = sorted(values)
    return {"n": len(v), "p50_us": round(percentile(v, 0.50), 1), "p99_us": round(percentile(v, 0.99), 1),
            "p999_us": round(percentile(v, 0.999), 1)}


def bench_distributed_once(transport: str, redis_url: str, rate: float, seconds: float) -> dict[str, Any]:
    """One run over ``transport`` ("ipc" or "tcp"); returns per-stage p50/p99/p99.9 in µs."""
    import multiprocessing as mp
    import os
    import socket
    import tempfile

    import msgspec

    prefix = f"bench:{os.getpid()}:{transport}:"
    config_data = msgspec.to_builtins(_dist_config(rate, prefix))
    with tempfile.TemporaryDirectory(prefix="arbsniper-zmq-") as tmp:
        if transport == "ipc":
            endpoint = f"ipc://{tmp}/ingest.sock"
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                endpoint = f"tcp://127.0.0.1:{s.getsockname()[1]}"
        ctx = mp.get_context("spawn")
        ingest_conn, ingest_child = ctx.Pipe()
        engine_conn, engine_child = ctx.Pipe()
        ingest = ctx.Process(target=_ingest_child, args=(ingest_child, config_data, endpoint, seconds), daemon=True)
        engine = ctx.Process(target=_engine_child, args=(engine_child, config_data, endpoint, redis_url, seconds + 1.5),
                             daemon=True)
        ingest.start()
        if not ingest_conn.poll(30) or ingest_conn.recv() != "bound":
            raise RuntimeError("ingest did not start")
        engine.start()
        try:
            for conn, name, timeout in ((engine_conn, "engine", 30), (ingest_conn, "ingest", seconds + 30),
                                        (engine_conn, "engine", seconds + 30)):
                if not conn.poll(timeout):
                    raise RuntimeError(f"{name} did not answer")
                msg = conn.recv()
                if name == "ingest":
                    ingest_out = msg
                elif msg != "connected":
                    engine_out = msg
        finally:
            for p in (ingest, engine):
                p.join(10)
                if p.is_alive():
                    p.kill()
    _clear_prefix(redis_url, prefix)
    samples = {**engine_out, STAGE_INGEST_PUBLISH: ingest_out[STAGE_INGEST_PUBLISH]}
    return {
        "transport": transport,
        "endpoint": endpoint.split("://")[0],
        "updates_per_s": rate,
        "seconds": seconds,
        "events_sent": ingest_out["stats"]["sent"],
        "events_processed": engine_out["stats"]["processed"],
        "signals": engine_out["stats"]["signals"],
        "redis_published": engine_out["stats"]["redis"]["published"],
        "redis_dropped": engine_out["stats"]["redis"]["dropped"],
        "stages": {name: _summary(samples.get(name, [])) for name, _ in DIST_STAGES},
    }


def _clear_prefix(url: str, prefix: str) -> None:
    import redis

    r = redis.Redis.from_url(url)
    try:
        keys = list(r.scan_iter(match=prefix + "*", count=1000))
        for k in range(0, len(keys), 500):
            r.delete(*keys[k:k + 500])
    finally:
        r.close()


def run_distributed_bench(args: argparse.Namespace) -> int:
    """``arbsniper bench --distributed``: receive → Redis latency over ZeroMQ ipc and/or tcp."""
    transports = ("ipc", "tcp") if args.transport == "both" else (args.transport,)
    try:
        with redis_server(args.redis) as url:
            version = _redis_version(url)
            if not args.json:
                print(f"distributed: ingest (synthetic market, {args.rate:g} updates/s) → ZeroMQ → engine → Redis "
                      f"{version}, {args.seconds:g} s per transport (first {DIST_WARMUP_S:g} s not counted) ...",
                      file=sys.stderr)
            results = [bench_distributed_once(t, url, args.rate, args.seconds) for t in transports]
            shards = bench_shards(url)
    except RuntimeError as exc:
        print(f"arbsniper bench: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"redis_version": version, "runs": results, "shards": shards}))
        return 0
    for res in results:
        print(f"over ZeroMQ {res['transport']}: {res['events_sent']:,} events sent, {res['events_processed']:,} "
              f"processed, {res['signals']:,} signals, {res['redis_published']:,} in Redis "
              f"({res['redis_dropped']} dropped)")
        print(f"  {'stage':<36} {'p50 µs':>9} {'p99 µs':>9} {'p99.9 µs':>9} {'n':>8}")
        for name, label in DIST_STAGES:
            st = res["stages"][name]
            if st["n"]:
                print(f"  {label:<36} {st['p50_us']:>9.1f} {st['p99_us']:>9.1f} {st['p999_us']:>9.1f} {st['n']:>8,}")
    print(f"engine shards on {shards['cores']} cores, the same {shards['updates']:,} quotes (8 venues × 100 instruments) "
          "over ZeroMQ ipc, signals to Redis:")
    for key in ("one", "two"):
        res = shards[key]
        split = " + ".join(f"{r['messages']:,}" for r in res["per_shard"])
        print(f"  {res['shards']} shard{'s' if res['shards'] > 1 else ' '}  {res['updates_per_s']:>10,} updates/s  "
              f"({split} messages in {res['seconds']:.3f} s; {res['updates_per_cpu_s']:,} per CPU-second of the "
              "busiest shard)")
    print(f"  two vs one: {shards['speedup']:.2f}x wall clock, {shards['cpu_speedup']:.2f}x per CPU-second")
    return 0


# -- engine shards: the throughput of one vs two ---------------------------------------------------
SHARD_UPDATES = 200_000


def _shard_child(conn: Any, config_data: dict[str, Any], endpoint: str, redis_url: str, shard: tuple[int, int],
                 expected: int) -> None:
    """Child process: one engine shard; times its share of the stream from first to last message."""
    import asyncio

    import msgspec

    from arbsniper.services.engine import EngineService

    config = msgspec.convert(config_data, Config)
    service = EngineService(config, shard=shard, connect=[endpoint], redis_url=redis_url, http=None,
                            name=f"bench-{shard[0]}of{shard[1]}")
    handle = service.on_message
    clock = time.perf_counter
    marks = [0.0, 0.0]
    count = [0]

    def timed(topic: bytes, payload: bytes, recv_ns: int) -> bool:
        if not count[0]:
            marks[0] = clock()
        signalled = handle(topic, payload, recv_ns)
        count[0] += 1
        if count[0] >= expected:
            marks[1] = clock()
            service.stop.set()
        return signalled

    service.on_message = timed  # type: ignore[method-assign]

    async def main() -> None:
        await service.start()
        conn.send("connected")
        await service.run(120.0)

    cpu0 = time.process_time()
    asyncio.run(main())
    conn.send({"shard": f"{shard[0]}/{shard[1]}", "messages": count[0], "seconds": marks[1] - marks[0],
               "cpu_s": time.process_time() - cpu0, "signals": sum(service.signals.values()),
               "redis_published": service.redis.published})


def _shard_frames(updates: int) -> list[tuple[bytes, bytes]]:
    from arbsniper.bench.engine import make_stream
    from arbsniper.bus.codec import Encoder

    symbols, quotes, _ = make_stream(updates, 8, 100, seed=11)
    enc = Encoder(symbols)
    return [enc.encode(q, 0) for q in quotes]


def bench_shards_once(redis_url: str, frames: list[tuple[bytes, bytes]], shards: int) -> dict[str, Any]:
    """The same stream (8 venues × 100 instruments, ``make_stream``) blasted over ZeroMQ ipc to
    ``shards`` engine processes; throughput = messages / the slowest shard's first-to-last time."""
    import multiprocessing as mp
    import os
    import tempfile

    import msgspec
    import zmq

    from arbsniper.bus.codec import shard_of

    prefix = f"bench:{os.getpid()}:shards{shards}:"
    config = _dist_config(2000.0, prefix)
    # Deep socket queues: the stream is sent at once and every message must arrive (no conflation).
    config = msgspec.structs.replace(config, zmq=msgspec.structs.replace(config.zmq, rcvhwm=10_000_000,
                                                                         sndhwm=10_000_000))
    config_data = msgspec.to_builtins(config)
    names = {t: t.split(b"|")[1].decode() for t in {topic for topic, _ in frames}}
    per_shard = [0] * shards
    for topic, _ in frames:
        per_shard[shard_of(names[topic], shards)] += 1
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="arbsniper-zmq-") as tmp:
        endpoint = f"ipc://{tmp}/blast.sock"
        zctx = zmq.Context()
        pub = zctx.socket(zmq.XPUB)
        pub.setsockopt(zmq.SNDHWM, 0)
        pub.setsockopt(zmq.XPUB_NODROP, 1)
        pub.bind(endpoint)
        children = []
        try:
            for k in range(shards):
                parent, child = ctx.Pipe()
                p = ctx.Process(target=_shard_child, args=(child, config_data, endpoint, redis_url, (k, shards),
                                                           per_shard[k]), daemon=True)
                p.start()
                children.append((p, parent))
            for _, parent in children:
                if not parent.poll(60) or parent.recv() != "connected":
                    raise RuntimeError("an engine shard did not start")
            # Every shard subscribed (128 buckets each + the rate markets + broadcast) before sending.
            deadline = time.monotonic() + 30
            subs = 0
            while subs < shards * (256 // shards) and time.monotonic() < deadline:
                if pub.poll(200) and pub.recv()[:1] == b"\x01":
                    subs += 1
            time.sleep(0.2)
            for topic, payload in frames:
                pub.send_multipart((topic, payload))
            results = []
            for _, parent in children:
                if not parent.poll(120):
                    raise RuntimeError("an engine shard did not finish")
                results.append(parent.recv())
        finally:
            for p, _ in children:
                p.join(10)
                if p.is_alive():
                    p.kill()
            pub.close(0)
            zctx.term()
    _clear_prefix(redis_url, prefix)
    wall = max(r["seconds"] for r in results)
    total = sum(r["messages"] for r in results)
    cpu = max(r["cpu_s"] for r in results)
    return {"shards": shards, "messages": total, "seconds": round(wall, 4),
            "updates_per_s": round(total / wall) if wall > 0 else None,
            "busiest_cpu_s": round(cpu, 3),
            # What the shards manage when each has a core to itself (the machine may be shared).
            "updates_per_cpu_s": round(total / cpu) if cpu > 0 else None, "per_shard": results}


def bench_shards(redis_url: str, updates: int = SHARD_UPDATES) -> dict[str, Any]:
    """One engine vs two shards (one per core) on the same stream: ``{"one": ..., "two": ..., "speedup": x}``.

    ``speedup`` is wall-clock (what this machine gave, shared or not); ``cpu_speedup`` compares
    messages per CPU-second of the busiest shard (what two free cores give)."""
    import os

    frames = _shard_frames(updates)
    one = bench_shards_once(redis_url, frames, 1)
    two = bench_shards_once(redis_url, frames, 2)
    speedup = two["updates_per_s"] / one["updates_per_s"] if one["updates_per_s"] and two["updates_per_s"] else None
    cpu_speedup = (two["updates_per_cpu_s"] / one["updates_per_cpu_s"]
                   if one["updates_per_cpu_s"] and two["updates_per_cpu_s"] else None)
    return {"updates": updates, "one": one, "two": two, "speedup": round(speedup, 2) if speedup else None,
            "cpu_speedup": round(cpu_speedup, 2) if cpu_speedup else None, "cores": os.cpu_count()}
