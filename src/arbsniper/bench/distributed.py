"""``arbsniper bench --distributed``: ingest → ZeroMQ → engine → Redis through real processes.

The real services in two processes: an ingest running the synthetic market, an engine holding
every instrument, and a real redis-server (started here unless ``--redis URL`` is given). Every
stage keeps its raw latencies (after a warm-up) and the engine sends them back at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
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
    server = tmp = None
    try:
        if args.redis:
            url = args.redis
        else:
            server, url, tmp = _start_redis_server()
        version = _redis_version(url)
        if not args.json:
            print(f"distributed: ingest (synthetic market, {args.rate:g} updates/s) → ZeroMQ → engine → Redis "
                  f"{version}, {args.seconds:g} s per transport (first {DIST_WARMUP_S:g} s not counted) ...",
                  file=sys.stderr)
        results = [bench_distributed_once(t, url, args.rate, args.seconds) for t in transports]
    except RuntimeError as exc:
        print(f"arbsniper bench: {exc}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        print(json.dumps({"redis_version": version, "runs": results}))
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
    return 0
