"""``arbsniper bench``: the hot path measured, and the same work done the naive way.

A generated stream of quote updates (≥ 8 venues × ≥ 50 instruments, with random walks, noise and
injected dislocations so opportunities really open, update and close) goes through
state → detector → lifecycle on one core:

- a throughput pass (``updates_per_s``);
- a latency pass timing every update from the engine receiving it to its signals having been
  emitted (``p50_us``/``p99_us``/``p999_us``; the timer's own cost is included);
- the naive first version kept here — nested dicts of strings, every venue pair on every update —
  on the same stream, same rules (``naive_updates_per_s``, ``speedup_vs_naive``). Both count the
  opportunities they open, which must agree.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from typing import Any

from arbsniper.config import Config, load_config
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import Quote, Signal

NaiveTick = tuple[str, str, float, float, float, float, int]


def make_stream(n: int, n_venues: int, n_instruments: int, seed: int) -> tuple[SymbolMap, list[Quote], list[NaiveTick]]:
    """A reproducible stream of quotes, and the same ticks as strings for the naive version."""
    rng = random.Random(seed)
    symbols = SymbolMap()
    venues = [f"venue{k}" for k in range(n_venues)]
    names = [f"C{k:03d}/USDT" for k in range(n_instruments)]
    for venue in venues:
        symbols.venue_id(venue)
    for name in names:
        symbols.instrument_id(name)
    mids = [rng.uniform(1.0, 50_000.0) for _ in names]
    offset_bps = [[rng.gauss(0.0, 1.0) for _ in venues] for _ in names]
    seq = [[0] * n_venues for _ in names]
    dislocated: dict[tuple[int, int], tuple[float, int]] = {}
    quotes: list[Quote] = []
    naive: list[NaiveTick] = []
    t = 1_800_000_000_000_000_000
    gauss = rng.gauss
    randrange = rng.randrange
    for k in range(n):
        t += 20_000  # 20 µs between updates: 50,000 updates per simulated second
        if k % 4000 == 0:  # a genuine dislocation every 80 ms of simulated time, living 10-80 ms
            key = (randrange(n_instruments), randrange(n_venues))
            dislocated[key] = (rng.choice((-1.0, 1.0)) * rng.uniform(25.0, 80.0), k + rng.randint(500, 4000))
        i = randrange(n_instruments)
        v = randrange(n_venues)
        mids[i] *= 1.0 + gauss(0.0, 0.4e-4)
        bps = offset_bps[i][v] + gauss(0.0, 1.5)
        d = dislocated.get((i, v))
        if d is not None:
            if k < d[1]:
                bps += d[0]
            else:
                del dislocated[(i, v)]
        mid = mids[i] * (1.0 + bps / 1e4)
        half = mid * rng.uniform(0.5, 2.0) / 1e4
        bid = round(mid - half, 8)
        ask = round(mid + half, 8)
        bs = round(rng.uniform(0.1, 5.0), 4)
        asz = round(rng.uniform(0.1, 5.0), 4)
        seq[i][v] += 1
        quotes.append(Quote(v, i, bid, bs, ask, asz, t - 50_000, t, seq[i][v]))
        naive.append((names[i], venues[v], bid, bs, ask, asz, t))
    return symbols, quotes, naive


class NaiveDetector:
    """What a straightforward first version does: nested dicts of strings, all pairs, every time."""

    def __init__(self, config: Config) -> None:
        d = config.detector
        self.config = config
        self.books: dict[str, dict[str, dict[str, Any]]] = {}
        self.open: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.max_age_ns = d.max_quote_age_ms * 1_000_000
        self.min_spread = d.min_spread_bps
        self.min_net = d.min_net_bps
        self.max_sane = d.max_sane_spread_bps
        self.slippage = d.slippage_bps
        self.max_notional = d.max_notional
        self.update_bps = d.update_min_bps
        self.opened = 0

    def on_quote(self, symbol: str, venue: str, bid: float, bid_size: float, ask: float, ask_size: float, ts: int) -> list[dict[str, Any]]:
        book = self.books.setdefault(symbol, {})
        book[venue] = {"bid": bid, "ask": ask, "bid_size": bid_size, "ask_size": ask_size, "ts": ts}
        out: list[dict[str, Any]] = []
        for buy_venue, buy in book.items():
            for sell_venue, sell in book.items():
                if buy_venue == sell_venue:
                    continue
                key = (symbol, buy_venue, sell_venue)
                fresh = ts - buy["ts"] <= self.max_age_ns and ts - sell["ts"] <= self.max_age_ns
                spread = (sell["bid"] - buy["ask"]) / buy["ask"] * 10_000
                fees = self.config.taker_fee_bps(buy_venue, 0) + self.config.taker_fee_bps(sell_venue, 0)
                net = spread - fees - self.slippage
                if fresh and self.min_spread <= spread <= self.max_sane and net >= self.min_net:
                    size = min(buy["ask_size"], sell["bid_size"], self.max_notional / buy["ask"])
                    opp = {"symbol": symbol, "buy": buy_venue, "sell": sell_venue, "spread_bps": spread,
                           "fees_bps": fees, "net_bps": net, "size": size,
                           "confidence": min(100.0, 20 + 50 * min(spread / 50, 1.0))}
                    held = self.open.get(key)
                    if held is None:
                        self.open[key] = opp
                        self.opened += 1
                        out.append({"event": "open", **opp})
                    elif abs(net - held["net_bps"]) >= self.update_bps:
                        self.open[key] = opp
                        out.append({"event": "update", **opp})
                elif key in self.open:
                    out.append({"event": "close", **self.open.pop(key)})
        return out


NAIVE_SAMPLE = 200_000


def _opened_in(symbols: SymbolMap, config: Config, quotes: list[Quote]) -> int:
    engine = Engine(symbols, config, lambda s: None)
    for q in quotes:
        engine.on_event(q)
    return engine.lifecycle.opened


def _percentile(sorted_values: list[int], q: float) -> float:
    idx = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[idx] / 1000.0


def bench_hot_path(updates: int, venues: int, instruments: int, seed: int) -> dict[str, Any]:
    """Run the three passes; returns the figures (µs, updates/s)."""
    config = load_config(environ={})
    symbols, quotes, naive_ticks = make_stream(updates, venues, instruments, seed)
    gc.collect()
    gc.freeze()

    # Throughput pass.
    signals: list[Signal] = []
    engine = Engine(symbols, config, signals.append, clock_ns=time.time_ns)
    on_event = engine.on_event
    t0 = time.perf_counter()
    for q in quotes:
        on_event(q)
    elapsed = time.perf_counter() - t0
    opened = engine.lifecycle.opened

    # Latency pass on a fresh engine: receive -> signals emitted, per update.
    signals2: list[Signal] = []
    engine2 = Engine(symbols, config, signals2.append, clock_ns=time.time_ns)
    on_event2 = engine2.on_event
    pc = time.perf_counter_ns
    lat = [0] * len(quotes)
    for k, q in enumerate(quotes):
        t1 = pc()
        on_event2(q)
        lat[k] = pc() - t1
    lat.sort()

    # Naive pass, on the first NAIVE_SAMPLE updates (it is slow enough that the rate settles fast).
    naive = NaiveDetector(config)
    naive_on = naive.on_quote
    sample = naive_ticks[:NAIVE_SAMPLE]
    t2 = time.perf_counter()
    for tick in sample:
        naive_on(*tick)
    naive_elapsed = time.perf_counter() - t2
    opened_in_sample = _opened_in(symbols, config, quotes[:NAIVE_SAMPLE])
    gc.unfreeze()

    ups = len(quotes) / elapsed
    naive_ups = len(sample) / naive_elapsed
    return {
        "updates": len(quotes),
        "venues": venues,
        "instruments": instruments,
        "updates_per_s": round(ups),
        "p50_us": round(_percentile(lat, 0.50), 3),
        "p99_us": round(_percentile(lat, 0.99), 3),
        "p999_us": round(_percentile(lat, 0.999), 3),
        "max_us": round(lat[-1] / 1000.0, 3),
        "mean_us": round(sum(lat) / len(lat) / 1000.0, 3),
        "naive_updates_per_s": round(naive_ups),
        "naive_updates": len(sample),
        "speedup_vs_naive": round(ups / naive_ups, 2),
        "opened": opened,
        "opened_in_naive_sample": opened_in_sample,
        "naive_opened": naive.opened,
        "signals": len(signals),
    }


def run_bench(args: argparse.Namespace) -> int:
    if getattr(args, "distributed", False):
        return run_distributed_bench(args)
    if args.venues < 2 or args.instruments < 1 or args.updates < 1:
        print("arbsniper bench: need at least 2 venues, 1 instrument and 1 update", file=sys.stderr)
        return 2
    if not args.json:
        print(f"generating {args.updates:,} updates over {args.venues} venues x {args.instruments} instruments ...", file=sys.stderr)
    result = bench_hot_path(args.updates, args.venues, args.instruments, args.seed)
    result["parse"], result["pipeline"] = _bench_frames()
    if args.json:
        print(json.dumps(result))
    else:
        print("hot path: state -> detector -> lifecycle (one core)")
        print(f"  throughput          {result['updates_per_s']:>12,} updates/s")
        print(f"  latency p50/p99/p99.9  {result['p50_us']:.2f} / {result['p99_us']:.2f} / {result['p999_us']:.2f} us  (max {result['max_us']:.1f} us)")
        print(f"  naive version       {result['naive_updates_per_s']:>12,} updates/s  (first {result['naive_updates']:,} updates)")
        print(f"  speedup vs naive    {result['speedup_vs_naive']:>12.1f} x")
        print(f"  opportunities opened {result['opened']:,}, signals {result['signals']:,}; over the naive sample both opened "
              f"{result['opened_in_naive_sample']:,} / {result['naive_opened']:,}")
        print("parse: venue frames -> normalized events (simulator frames through the real parsers)")
        for key, r in result["parse"].items():
            print(f"  {key:<18} {r['ns_per_frame']:>8,.0f} ns/frame all  {r['bbo_ns_per_frame']:>7,.0f} ns/frame BBO  "
                  f"({r['frames']:,} frames, {r['bbo_frames']:,} BBO, {r['events']:,} events)")
        p = result["pipeline"]
        print("full hot path: frame bytes -> parser -> engine -> opportunity (all venues, receive order)")
        print(f"  {p['ns_per_frame']:,.0f} ns/frame ({p['frames_per_s']:,} frames/s), per frame p50 {p['p50_us']:.2f} us, "
              f"p99 {p['p99_us']:.2f} us ({p['frames']:,} frames, {p['signals']:,} signals)")
    return 0


def _bench_frames() -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per-venue parse cost, and the whole path frame bytes -> opportunity, on simulator frames."""
    from arbsniper.venues.parsebench import bench_parse, bench_pipeline, collect_frames

    records = collect_frames()
    return bench_parse(records), bench_pipeline(records)


# -- distributed: ingest → ZeroMQ → engine → Redis (``arbsniper bench --distributed``) ----------------
#
# The real services in two processes: an ingest running the synthetic market, an engine holding
# every instrument, and a real redis-server (started here unless ``--redis URL`` is given). Every
# stage keeps its raw latencies (after a warm-up) and the engine sends them back at the end.

DIST_STAGES = (
    ("receive_to_ingest_publish", "receive → ingest publish"),
    ("ingest_publish_to_engine_receive", "ingest publish → engine receive"),
    ("engine_receive_to_signal", "engine receive → signal"),
    ("signal_to_redis_publish", "signal → Redis confirmed"),
    ("receive_to_redis_publish", "receive → Redis confirmed (total)"),
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

    from arbsniper.services import IngestService
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
    conn.send({"receive_to_ingest_publish": service.publisher.latency.keep or [],
               "stats": service.publisher.stats()})


def _engine_child(conn: Any, config_data: dict[str, Any], endpoint: str, redis_url: str, seconds: float) -> None:
    """Child process: the engine service (all instruments) publishing to Redis; sends its samples back."""
    import asyncio

    import msgspec

    from arbsniper.services import EngineService

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
    return {"n": len(v), "p50_us": round(_percentile(v, 0.50), 1), "p99_us": round(_percentile(v, 0.99), 1),
            "p999_us": round(_percentile(v, 0.999), 1)}


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
    samples = {**engine_out, "receive_to_ingest_publish": ingest_out["receive_to_ingest_publish"]}
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
