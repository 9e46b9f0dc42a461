"""The ``backtest`` and ``report`` commands: arguments checked, analysis run, output written."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from arbsniper.config import Config


def _fail(command: str, message: str) -> int:
    print(f"arbsniper {command}: {message}", file=sys.stderr)
    return 2


def backtest(config: Config, args: argparse.Namespace) -> int:
    from arbsniper.capture.backtest import Backtester

    for f in args.files:
        if not Path(f).is_file():
            return _fail("backtest", f"FILE {f!r}: no such file")
    if args.latency_ms is not None and not (math.isfinite(args.latency_ms) and args.latency_ms >= 0):
        return _fail("backtest", f"--latency-ms: {args.latency_ms} is not a latency (need a number >= 0)")
    bt = Backtester(config, args.latency_ms)
    import zstandard

    try:
        run = bt.run(args.files)
    except (ValueError, UnicodeDecodeError) as exc:
        return _fail("backtest", str(exc))
    except (OSError, EOFError, zstandard.ZstdError) as exc:  # a truncated or mislabelled .gz / .zst
        return _fail("backtest", f"FILE: cannot read the recording ({type(exc).__name__}: {exc})")
    rep = bt.report(run)
    title = f"backtest of {', '.join(Path(f).name for f in args.files)} ({rep['market_s']:.0f} s of market time)"
    return _output(rep, run.opportunities, args, title)


def report(config: Config, args: argparse.Namespace) -> int:
    from arbsniper.capture.report import history_report, parse_since

    try:
        since = parse_since(args.since) if args.since else 0
        rep, opps = history_report(config, since)
    except (ValueError, FileNotFoundError) as exc:
        return _fail("report", str(exc))
    return _output(rep, opps, args, "report on the signal history")


def _output(rep: dict, opps: list, args: argparse.Namespace, title: str) -> int:  # type: ignore[type-arg]
    from arbsniper.capture.analysis import format_text

    if args.plot:
        from arbsniper.capture.plots import write_plots

        try:
            paths = write_plots(rep, opps, args.plot, title)
        except OSError as exc:
            return _fail(args.command, f"--plot {args.plot}: cannot write there ({exc.strerror or exc})")
        print(f"wrote {len(paths)} files to {args.plot} (open {paths[-1]})", file=sys.stderr)
    sys.stdout.write(json.dumps(rep) + "\n" if args.json else format_text(rep, title))
    return 0
