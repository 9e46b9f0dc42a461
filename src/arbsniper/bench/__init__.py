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
    if args.venues < 2 or args.instruments < 1 or args.updates < 1:
        print("arbsniper bench: need at least 2 venues, 1 instrument and 1 update", file=sys.stderr)
        return 2
    stages = iter(range(1, 7))

    def stage(what: str) -> None:  # on stderr, so --json stays one object on stdout
        print(f"[{next(stages)}/6] {what} ...", file=sys.stderr, flush=True)

    result = bench_hot_path(args.updates, args.venues, args.instruments, args.seed, stage)
    result["parse"], result["pipeline"] = _bench_frames(stage)
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


def _bench_frames(stage: Callable[[str], None]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per-venue parse cost, and the whole path frame bytes -> opportunity, on simulator frames."""
    from arbsniper.bench.parse import bench_parse, bench_pipeline, collect_frames

    stage("recording 3 s of simulator frames")
    records = collect_frames()
    stage(f"parsing {len(records):,} frames per venue, then frame -> opportunity through the whole hot path")
    return bench_parse(records), bench_pipeline(records)
