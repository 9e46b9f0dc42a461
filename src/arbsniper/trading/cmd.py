"""What the trading subcommands do (``arbsniper trader / trades / positions / pnl``); cli.py parses."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from arbsniper.config import Config
from arbsniper.trading.ledger import Ledger, ledger_path, pnl_summary
from arbsniper.trading.risk import KillSwitch, halt_path


def live_runner(config: Config, engine: Any, *, dry_run: bool) -> Any:
    """An embedded runner whose orders go through ccxt (or are only printed, with ``dry_run``)."""
    from arbsniper.trading.live import LiveExecutor
    from arbsniper.trading.runner import embedded_runner
    from arbsniper.trading.service import live_venues

    executor = LiveExecutor.from_config(config, live_venues(config), dry_run=dry_run)
    ledger = Ledger(":memory:") if dry_run else Ledger(ledger_path(config.data_dir, "live"))
    return embedded_runner(config, engine, executor=executor, ledger=ledger)


def run_trader(config: Config, args: argparse.Namespace, http: tuple[str, int] | None = None) -> int:
    """The kill switch (``--halt``/``--resume``), or the distributed trader until stopped."""
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
    from arbsniper.trading.service import TraderService

    async def main() -> int:
        service = TraderService(config, redis_url=args.redis or None, prefix=args.prefix, group=args.group,
                                consumer=args.consumer, live=args.live, dry_run=args.dry_run, http=http, kill=kill)
        return await service.run(args.duration)

    return asyncio.run(main())


def show_ledger(config: Config, args: argparse.Namespace) -> int:
    from arbsniper.trading.report import format_pnl, format_positions, format_trades, marks_note

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
            if data:
                text += marks_note(ledger.meta("run_pid"), ledger.meta("run_stopped_ns"))
        else:
            data = pnl_summary(ledger, config.conversion.reference,
                               halted=KillSwitch(halt_path(config.data_dir)).state() is not None)
            text = format_pnl(data)
    finally:
        ledger.close()
    sys.stdout.write(json.dumps(data, indent=None) + "\n" if args.json else text)
    return 0
