"""The ``arbsniper`` command: parses arguments, builds the pieces, runs them. Nothing else."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

import msgspec

from arbsniper import __version__
from arbsniper.config import Config, ConfigError, config_to_toml, load_config
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
    if args.redis is not None:
        from arbsniper.bus.redis import RedisSignalPublisher

        app.add_consumer("redis", RedisSignalPublisher(config.redis, url=args.redis or None).consume)
    return asyncio.run(app.run(args.duration))


def _hostport(text: str) -> tuple[str, int] | None:
    from arbsniper.metrics import parse_hostport

    if text.lower() == "off":
        return None
    try:
        return parse_hostport(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_ingest(args: argparse.Namespace) -> int:
    from arbsniper.instruments import SymbolMap
    from arbsniper.services import IngestService
    from arbsniper.sim.synthetic import SyntheticSource

    config = _load(args)
    setup_logging(config.log_level)
    symbols = SymbolMap()
    if not args.demo:
        print("arbsniper ingest: live venue connectors are not available in this build yet; use --demo", file=sys.stderr)
        return 2
    sources = [SyntheticSource(symbols, demo=config.demo, seed=args.seed if args.seed is not None else config.demo.seed)]
    service = IngestService(config, sources, symbols, bind=args.bind, http=_hostport(args.http))
    return _run_service("ingest", service.run(args.duration))


def _run_service(name: str, main: Coroutine[Any, Any, int]) -> int:
    """Run a distributed service; an endpoint or port that cannot be bound is a clear error, not a traceback."""
    import zmq

    try:
        return asyncio.run(main)
    except (zmq.ZMQError, OSError) as exc:
        print(f"arbsniper {name}: {exc}", file=sys.stderr)
        return 2


def cmd_engine(args: argparse.Namespace) -> int:
    from arbsniper.services import EngineService, parse_shard

    config = _load(args)
    setup_logging(config.log_level)
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        print(f"arbsniper engine: {exc}", file=sys.stderr)
        return 2
    instruments = [n.strip() for n in args.instruments.split(",") if n.strip()] if args.instruments else None
    http = args.http if args.http is not None else f"127.0.0.1:{9102 + (shard[0] if shard else 0)}"
    service = EngineService(config, shard=shard, instruments=instruments, connect=args.connect,
                            redis_url=args.redis, http=_hostport(http), name=args.name)
    return _run_service("engine", service.run(args.duration))


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
    p.add_argument("--redis", nargs="?", const="", metavar="URL",
                   help="also publish every signal to Redis (channel, history, stream); URL defaults to [redis] url")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ingest", help="distributed: run the market sources and publish their events on ZeroMQ")
    _add_common(p)
    p.add_argument("--demo", action="store_true", help="use the offline synthetic market instead of live venues")
    p.add_argument("--seed", type=int, help="seed of the demo market (reproducible runs)")
    p.add_argument("--bind", action="append", metavar="ENDPOINT",
                   help="ZeroMQ endpoint to bind (repeatable; default [zmq] bind, tcp://127.0.0.1:5555)")
    p.add_argument("--http", default="127.0.0.1:9101", metavar="HOST:PORT", help="/health and /metrics (default 127.0.0.1:9101; 'off')")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop cleanly after this long (exit 0)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("engine", help="distributed: detect on a shard of the instruments, publish signals to Redis")
    _add_common(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--shard", metavar="K/N", help="own the instruments whose group hashes to shard K of N")
    g.add_argument("--instruments", metavar="A,B,...", help="own exactly these unified instruments")
    p.add_argument("--connect", action="append", metavar="ENDPOINT",
                   help="ingest endpoint to connect to (repeatable; default [zmq] connect)")
    p.add_argument("--redis", metavar="URL", help="Redis URL (default [redis] url)")
    p.add_argument("--http", metavar="HOST:PORT", help="/health and /metrics (default 127.0.0.1:9102+K; 'off')")
    p.add_argument("--name", help="service name in logs, /health and signal uids (default engine-KofN)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop cleanly after this long (exit 0)")
    p.set_defaults(func=cmd_engine)

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
    p.add_argument("--distributed", action="store_true",
                   help="instead: receive → Redis latency through ingest → ZeroMQ → engine → Redis (real processes)")
    p.add_argument("--transport", choices=("ipc", "tcp", "both"), default="both", help="ZeroMQ transport (--distributed)")
    p.add_argument("--redis", metavar="URL", help="Redis to use (--distributed; default: start a redis-server)")
    p.add_argument("--rate", type=float, default=2000.0, help="synthetic market updates/s (--distributed; default 2000)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured run per transport (--distributed; default 10)")
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
