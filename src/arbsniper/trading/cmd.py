"""What the trading subcommands do (``arbsniper trader / trades / positions / pnl``); cli.py parses."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

import msgspec

from arbsniper.config import Config
from arbsniper.trading.ledger import Ledger, ledger_path, pnl_summary
from arbsniper.trading.market import MarketRules, SignalMarketView
from arbsniper.trading.risk import KillSwitch, halt_path


def _live_venues(config: Config) -> list[str]:
    from arbsniper.config import VENUE_NAMES

    return [v for v in VENUE_NAMES if config.venue(v).enabled]


def live_runner(config: Config, engine: Any, *, dry_run: bool) -> Any:
    """An embedded runner whose orders go through ccxt (or are only printed, with ``dry_run``)."""
    from arbsniper.trading.live import LiveExecutor
    from arbsniper.trading.runner import embedded_runner

    executor = LiveExecutor.from_config(config, _live_venues(config), dry_run=dry_run)
    ledger = Ledger(":memory:") if dry_run else Ledger(ledger_path(config.data_dir, "live"))
    return embedded_runner(config, engine, executor=executor, ledger=ledger)


def run_trader(config: Config, args: argparse.Namespace) -> int:
    kill = KillSwitch(halt_path(config.data_dir))
    if args.halt:
        kill.engage(args.reason, flatten=args.flatten)
        print(f"kill switch engaged ({kill.path}): no new trades{'; open positions will be closed' if args.flatten else ''}",
              file=sys.stderr)
        return 0
    if args.resume:
        released = kill.release()
        print("kill switch released" if released else "kill switch was not engaged", file=sys.stderr)
        return 0
    if args.redis is None:
        print("arbsniper trader: give --redis [URL] (distributed mode); in embedded mode `arbsniper run` trades itself",
              file=sys.stderr)
        return 2
    if args.dry_run and not args.live:
        print("arbsniper trader: --dry-run goes with --live (paper trading sends nothing anyway)", file=sys.stderr)
        return 2
    return asyncio.run(_trader(config, args, kill))


async def _trader(config: Config, args: argparse.Namespace, kill: KillSwitch) -> int:
    from arbsniper.trading.paper import PaperExecutor
    from arbsniper.trading.runner import Runner
    from arbsniper.trading.sources import RedisStreamSource

    market = SignalMarketView(config)
    executor: Any
    if args.live:
        from arbsniper.trading.live import LiveExecutor

        executor = LiveExecutor.from_config(config, _live_venues(config), dry_run=args.dry_run)
        ledger = Ledger(":memory:") if args.dry_run else Ledger(ledger_path(config.data_dir, "live"))
    else:
        executor = PaperExecutor(market, MarketRules(config), config.trading.latency_s)
        ledger = Ledger(ledger_path(config.data_dir, "paper"))
    redis_config = msgspec.structs.replace(config.redis, prefix=args.prefix) if args.prefix is not None else config.redis
    source = RedisStreamSource(redis_config, group=args.group, consumer=args.consumer, url=args.redis or None)
    runner = Runner(config, executor, market, ledger, kill=kill)
    task = asyncio.create_task(runner.run(source))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([task, waiter], timeout=args.duration, return_when=asyncio.FIRST_COMPLETED)
    source.closed = True  # the reader returns within one block interval; the runner then stops cleanly
    waiter.cancel()
    failed = False
    try:
        await task
    except Exception as exc:
        print(f"arbsniper trader: {exc!r}", file=sys.stderr)
        failed = True
    await source.close()
    close = getattr(executor, "close", None)
    if close is not None:
        await close()
    return 1 if failed else 0


def show_ledger(config: Config, args: argparse.Namespace) -> int:
    from arbsniper.trading.report import format_pnl, format_positions, format_trades

    path = ledger_path(config.data_dir, "live" if args.live else "paper")
    try:
        ledger = Ledger(path, create=False)
    except FileNotFoundError as exc:
        print(f"arbsniper {args.view}: {exc}", file=sys.stderr)
        return 1
    try:
        data: Any
        if args.view == "trades":
            data = ledger.trades(args.limit)
            text = format_trades(data)
        elif args.view == "positions":
            data = ledger.positions()
            text = format_positions(data)
        else:
            data = pnl_summary(ledger, config.conversion.reference,
                               halted=KillSwitch(halt_path(config.data_dir)).state() is not None)
            text = format_pnl(data)
    finally:
        ledger.close()
    sys.stdout.write(json.dumps(data, indent=None) + "\n" if args.json else text)
    return 0
