"""``arbsniper bench``: every speed claim measured.

- ``engine``: the engine alone on a generated stream, and the same work done the naive way;
- ``parse``: each venue's parser on simulator frames, and the whole hot path frame → opportunity;
- ``distributed``: receive → Redis through real ingest and engine processes (``--distributed``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from arbsniper.bench.distributed import run_distributed_bench
from arbsniper.bench.engine import bench_hot_path


def run_bench(args: argparse.Namespace) -> int:
    if getattr(args, "distributed", False):
        return run_distributed_bench(args)
    if getattr(args, "scale", False) and not args.json:
        return _print_scale()
    if args.venues < 2 or args.instruments < 1 or args.updates < 1:
        print("arbsniper bench: need at least 2 venues, 1 instrument and 1 update", file=sys.stderr)
        return 2
    stages = iter(range(1, 9))
    total = 6 if not args.json or getattr(args, "quick", False) else 8

    def stage(what: str) -> None:  # on stderr, so --json stays one object on stdout
        print(f"[{next(stages)}/{total}] {what} ...", file=sys.stderr, flush=True)

    result = bench_hot_path(args.updates, args.venues, args.instruments, args.seed, stage)
    result["parse"], result["pipeline"] = _bench_frames(stage)
    result["depth_floor_ratio"] = {k: r["depth_floor_ratio"] for k, r in result["parse"].items()}
    if args.json and not getattr(args, "quick", False):
        from arbsniper.bench.scale import bench_scale

        stage("scale: 8 venues x 25 / 100 / 300 instruments against the simulator")
        result["scale"] = bench_scale()
        stage("distributed: ingest -> ZeroMQ -> engine -> Redis")
        result["distributed"] = _distributed(args)
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
            ratio = r["depth_floor_ratio"]
            floor = f"depth {r['depth_ns_per_frame']:>6,} ns = {ratio:.2f}x decode" if ratio is not None else "depth: binary (no JSON floor)"
            print(f"  {key:<18} {r['ns_per_frame']:>8,.0f} ns/frame all  {r['bbo_ns_per_frame']:>7,.0f} ns/frame BBO  "
                  f"{floor}  ({r['frames']:,} frames, {r['bbo_frames']:,} BBO, {r['events']:,} events)")
        p = result["pipeline"]
        print("full hot path: frame bytes -> parser -> engine -> opportunity (all venues, receive order)")
        print(f"  {p['ns_per_frame']:,.0f} ns/frame ({p['frames_per_s']:,} frames/s), per frame p50 {p['p50_us']:.2f} us, "
              f"p99 {p['p99_us']:.2f} us ({p['frames']:,} frames, {p['signals']:,} signals)")
    return 0


def _bench_frames(stage: Callable[[str], None]) -> tuple[dict[str, dict[str, float | None]], dict[str, float]]:
    """Per-venue parse cost, and the whole path frame bytes -> opportunity, on simulator frames."""
    from arbsniper.bench.parse import bench_parse, bench_pipeline, collect_frames

    stage("recording 3 s of simulator frames")
    records, metadata = collect_frames()
    stage(f"parsing {len(records):,} frames per venue, then frame -> opportunity through the whole hot path")
    return bench_parse(records, metadata=metadata), bench_pipeline(records, metadata=metadata)


def _distributed(args: argparse.Namespace) -> object:
    """The distributed figures (``bench --distributed``'s own function), or why there are none."""
    from arbsniper.bench import distributed

    try:
        with distributed.redis_server() as url:
            return [distributed.bench_distributed_once(t, url, args.rate, args.seconds) for t in ("ipc", "tcp")]
    except (RuntimeError, OSError) as exc:
        return {"error": str(exc)}


def _print_scale() -> int:
    from arbsniper.bench.scale import RATE_PER_INSTRUMENT, bench_scale

    print(f"scale: 8 venues x N instruments, real sessions vs the simulator (own process), "
          f"{RATE_PER_INSTRUMENT:g} market moves/s per listing ...", file=sys.stderr)
    try:
        rows = bench_scale()
    except RuntimeError as exc:
        print(f"arbsniper bench: {exc}", file=sys.stderr)
        return 2
    print(f"{'instr/venue':>11} {'offered/s':>10} {'handled/s':>10} {'CPU s/10k':>10} {'recv->sig p50 us':>17} "
          f"{'p99 us':>9} {'coalesced':>10} {'peak RSS MB':>12}")
    for r in rows:
        print(f"{r['instruments_per_venue'] or 'demo':>11} {r['frames_offered_per_s']:>10,} {r['frames_handled_per_s']:>10,} "
              f"{r['cpu_s_per_10k_frames']:>10.3f} {r['receive_signal_p50_us'] or 0:>17.1f} {r['receive_signal_p99_us'] or 0:>9.1f} "
              f"{r['conflation_drops']:>10,} {r['peak_rss_mb']:>12.1f}")
    return 0
