"""The ``arbsniper`` command: parses arguments, builds the pieces, runs them. Nothing else."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

import msgspec

from arbsniper import __version__
from arbsniper.config import ENV_WEB_TOKEN, Config, ConfigError, config_to_toml, load_config
from arbsniper.logs import setup_logging


def _load(args: argparse.Namespace) -> Config:
    config = load_config(getattr(args, "config", None))
    data_dir = getattr(args, "data_dir", None)
    if data_dir:
        config = msgspec.structs.replace(config, data_dir=data_dir)
    return config


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="PATH", help="TOML config file (default: $ARBSNIPER_CONFIG, else built-in defaults)")
    p.add_argument("--data-dir", metavar="DIR", help="where history and ledger files live (overrides data_dir)")


def _add_web(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", metavar="ADDR", help="dashboard bind address (default web.host: 127.0.0.1; "
                   "anything but loopback needs a token)")
    p.add_argument("--port", type=int, metavar="N", help="dashboard port (default web.port: 8000; 0 = any free port)")
    p.add_argument("--token", metavar="TOKEN", help=f"require this token on every dashboard request "
                   f"(default ${ENV_WEB_TOKEN}; prefer the environment: arguments are visible to other users)")


def _web_args(args: argparse.Namespace, config: Config) -> tuple[str, int, str | None]:
    host = args.host or config.web.host
    port = config.web.port if args.port is None else args.port
    return host, port, args.token or os.environ.get(ENV_WEB_TOKEN) or None


def cmd_run(args: argparse.Namespace) -> int:
    from arbsniper.app import App
    from arbsniper.instruments import SymbolMap
    from arbsniper.sim.synthetic import SyntheticSource

    config = _load(args)
    setup_logging(config.log_level)
    symbols = SymbolMap()
    if not args.demo:
        print("arbsniper run: live venue connectors are not available in this build yet; use --demo", file=sys.stderr)
        return 2
    sources = [SyntheticSource(symbols, demo=config.demo, seed=args.seed if args.seed is not None else config.demo.seed)]
    app = App(config, sources, symbols, json_out=sys.stdout if args.json else None, history=not args.no_history)
    if config.web.enabled and not args.no_web:
        from arbsniper.web.app import WebError

        try:
            app.add_dashboard(*_web_args(args, config))
        except WebError as exc:
            print(f"arbsniper run: {exc}", file=sys.stderr)
            return 2
    if config.alerts.urls:
        app.add_alerts()
    return asyncio.run(app.run(args.duration))


def cmd_dashboard(args: argparse.Namespace) -> int:
    from arbsniper.web.app import Dashboard, WebError

    config = _load(args)
    setup_logging(config.log_level)
    host, port, token = _web_args(args, config)

    async def run() -> int:
        dashboard = Dashboard(config, host=host, port=port, token=token, redis_url=args.redis_url, prefix=args.prefix)
        return await dashboard.run(args.duration)

    try:
        return asyncio.run(run())
    except WebError as exc:
        print(f"arbsniper dashboard: {exc}", file=sys.stderr)
        return 2


def cmd_history(args: argparse.Namespace) -> int:
    from arbsniper.app import describe
    from arbsniper.history import history_path, read_recent
    from arbsniper.model import signal_to_json

    config = _load(args)
    try:
        signals = read_recent(history_path(config.data_dir), args.limit)
    except FileNotFoundError as exc:
        print(f"arbsniper history: {exc}", file=sys.stderr)
        return 1
    for s in signals:
        if args.json:
            sys.stdout.write(signal_to_json(s).decode() + "\n")
        else:
            sys.stdout.write(f"{s.timestamp} {describe(s)}\n")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    config = _load(args)
    if args.print:
        sys.stdout.write(config_to_toml(config))
    else:
        print("configuration is valid (use --print to show it)", file=sys.stderr)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from arbsniper.bench import run_bench

    return run_bench(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbsniper", description="Cross-venue crypto arbitrage detection.")
    parser.add_argument("--version", action="version", version=f"arbsniper {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="watch markets and emit signals (embedded: one process, no server)")
    _add_common(p)
    p.add_argument("--demo", action="store_true", help="use the offline synthetic market instead of live venues")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop cleanly after this long (exit 0)")
    p.add_argument("--json", action="store_true", help="print each signal as one JSON line on stdout")
    p.add_argument("--seed", type=int, help="seed of the demo market (reproducible runs)")
    p.add_argument("--no-history", action="store_true", help="do not write signals to the SQLite history")
    _add_web(p)
    p.add_argument("--no-web", action="store_true", help="do not serve the dashboard")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("dashboard", help="serve the dashboard (and alerts) for signals published to Redis")
    _add_common(p)
    _add_web(p)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", metavar="URL",
                   help="where the engines publish (default redis://127.0.0.1:6379/0)")
    p.add_argument("--prefix", default="", help="key prefix of the signal channel and history set (default none)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop cleanly after this long (exit 0)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("history", help="print the newest signals from the history")
    _add_common(p)
    p.add_argument("--limit", type=int, default=20, metavar="N", help="how many (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON signal per line")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("config", help="validate and show the resolved configuration")
    _add_common(p)
    p.add_argument("--print", action="store_true", help="print the resolved config as TOML")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("bench", help="measure the hot path (state → detector → lifecycle) against a naive version")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--updates", type=int, default=1_000_000, help="quote updates in the stream (default 1,000,000)")
    p.add_argument("--venues", type=int, default=8, help="venues (default 8)")
    p.add_argument("--instruments", type=int, default=50, help="instruments (default 50)")
    p.add_argument("--seed", type=int, default=7, help="stream seed")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"arbsniper: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
