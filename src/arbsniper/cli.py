"""The ``arbsniper`` command: parses arguments, builds the pieces, runs them. Nothing else."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import sys
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn

import msgspec

from arbsniper import __version__
from arbsniper.config import ENV_WEB_TOKEN, Config, ConfigError, config_to_toml, load_config
from arbsniper.logs import setup_logging


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line naming the problem (no usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def _seconds(text: str) -> float:
    """A duration: finite and > 0 (``nan`` and ``-5`` would stop at once or never)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds > 0, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535 (0 = any free port), got {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_REDIS_URL = re.compile(r"^(redis|rediss|unix)://")


def _redis_url(option: str, url: str | None) -> str | None:
    """A Redis URL given on the command line, checked before anything starts (ConfigError)."""
    if url and not _REDIS_URL.match(url):
        raise ConfigError(f"{option}: expected a redis://, rediss:// or unix:// URL, got {url!r}")
    return url


def _check_data_dir(path: str) -> None:
    """A data directory the run will write to: created if missing; a file or an unwritable place
    is a ConfigError naming it, before anything starts."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise ConfigError(f"data_dir: {p} is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"data_dir: cannot create {p}: {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise ConfigError(f"data_dir: {p} is not writable")


def _load(args: argparse.Namespace, writes: bool = False) -> Config:
    """The configuration with ``--data-dir`` applied; ``writes``: the command writes there."""
    config = load_config(getattr(args, "config", None))
    data_dir = getattr(args, "data_dir", None)
    if data_dir:
        config = msgspec.structs.replace(config, data_dir=data_dir)
    if writes:
        _check_data_dir(config.data_dir)
    return config


def _add_common(p: argparse.ArgumentParser, default: Any = argparse.SUPPRESS) -> None:
    """``--config`` and ``--data-dir``, accepted before the subcommand (the main parser, ``default=None``)
    and after it (each subcommand's, which leaves an option given before it alone)."""
    p.add_argument("--config", metavar="PATH", default=default,
                   help="TOML config file (default: $ARBSNIPER_CONFIG, else built-in defaults)")
    p.add_argument("--data-dir", metavar="DIR", default=default,
                   help="where history and ledger files live (overrides data_dir)")


def _add_web(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", metavar="ADDR", help="dashboard bind address (default web.host: 127.0.0.1; "
                   "anything but loopback needs a token)")
    p.add_argument("--port", type=_port, metavar="N", help="dashboard port (default web.port: 8000; 0 = any free port)")
    p.add_argument("--token", metavar="TOKEN", help=f"require this token on every dashboard request "
                   f"(default ${ENV_WEB_TOKEN}; prefer the environment: arguments are visible to other users)")


def _web_args(args: argparse.Namespace, config: Config) -> tuple[str, int, str | None]:
    host = args.host or config.web.host
    port = config.web.port if args.port is None else args.port
    return host, port, args.token or os.environ.get(ENV_WEB_TOKEN) or None


def cmd_run(args: argparse.Namespace) -> int:
    from arbsniper.app import App
    from arbsniper.instruments import SymbolMap
    from arbsniper.sim.launch import SimulatedVenues
    from arbsniper.venues.connect import NothingToWatch, live_source

    config = _load(args, writes=True)
    _redis_url("--redis", args.redis)
    # On a terminal: the live view instead of event lines (unless --verbose; never with --json).
    live = sys.stdout.isatty() and not args.json and not args.verbose
    tally = None
    if live:
        from arbsniper.logs import WarningTally

        tally = WarningTally()
    setup_logging(config.log_level, tally)
    symbols = SymbolMap()
    seed = args.seed if args.seed is not None else config.demo.seed
    if args.demo and args.live and not args.dry_run:
        print("arbsniper run: --live on the demo market would send real orders at simulated prices; add --dry-run",
              file=sys.stderr)
        return 2
    recorder = None
    if args.record:
        from arbsniper.record import Recorder, recording_path

        if args.record_rotate_mb < 0 or args.record_rotate_s < 0:
            print("arbsniper run: --record-rotate-mb and --record-rotate-s must be >= 0", file=sys.stderr)
            return 2
        recorder = Recorder(recording_path(args.record, args.record_plain), rotate_bytes=int(args.record_rotate_mb * 2**20),
                            rotate_s=args.record_rotate_s)
    # --demo: the real connectors against the local exchange simulator; else the live venues.
    try:
        sources = [SimulatedVenues(config, symbols, seed=seed, separate_process=True, tap=recorder) if args.demo
                   else live_source(config, symbols, tap=recorder)]
    except NothingToWatch as exc:
        print(f"arbsniper run: {exc}", file=sys.stderr)
        return 1
    trade = config.trading.enabled and not args.no_trade
    app = App(config, sources, symbols, json_out=sys.stdout if args.json else None, history=not args.no_history,
              trade=trade and not args.live, human_out=None if live else sys.stderr)
    if recorder is not None:
        app.record_to(recorder)
    if trade and args.live:
        from arbsniper.trading.cmd import live_runner

        app.attach_runner(live_runner(config, app.engine, dry_run=args.dry_run))
    url = None
    if config.web.enabled and not args.no_web:
        from arbsniper.web.app import WebError

        try:
            url = app.add_dashboard(*_web_args(args, config))
        except WebError as exc:
            print(f"arbsniper run: {exc}", file=sys.stderr)
            return 2
    view = None
    if tally is not None:
        from rich.console import Console

        from arbsniper.terminal import LiveView

        view = LiveView(app.engine, app.processed, app.pnl, Console(), tally, tuple(config.bases))
        view.url = url
        app.add_consumer("view", view.consume)
    if config.alerts.urls:
        app.add_alerts()
    if args.redis is not None:
        from arbsniper.bus.redis import RedisSignalPublisher

        app.add_redis(RedisSignalPublisher(config.redis, url=args.redis or None))
    code = asyncio.run(app.run(args.duration))
    from arbsniper.terminal import exit_summary

    summary = exit_summary(time.monotonic() - app.started, int(app.engine.stats()["opened"]),  # type: ignore[call-overload]
                           app.pnl() if app.pnl is not None else None)
    print(summary, file=sys.stdout if view is not None else sys.stderr)
    return code


def cmd_dashboard(args: argparse.Namespace) -> int:
    from arbsniper.web.app import Dashboard, WebError

    config = _load(args)
    _redis_url("--redis-url", args.redis_url)
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


def _http(command: str, text: str) -> tuple[str, int] | None:
    """``--http HOST:PORT`` (``off``: None); a bad value stops the command with a message (exit 2)."""
    from arbsniper.httpd import parse_hostport

    if text.lower() == "off":
        return None
    try:
        return parse_hostport(text)
    except ValueError as exc:
        print(f"arbsniper {command}: --http: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_ingest(args: argparse.Namespace) -> int:
    from arbsniper.instruments import SymbolMap
    from arbsniper.services.ingest import IngestService
    from arbsniper.sim.synthetic import SyntheticSource
    from arbsniper.venues.connect import NothingToWatch, live_source

    config = _load(args)
    http = _http("ingest", args.http)  # a bad value stops here, before any venue is contacted
    setup_logging(config.log_level)
    symbols = SymbolMap()
    if args.demo:
        # The synthetic market published straight as events: a light, reproducible feed for trying
        # out and testing the distributed services (the connectors are exercised by `run --demo`).
        sources: list[Any] = [SyntheticSource(symbols, demo=config.demo,
                                              seed=args.seed if args.seed is not None else config.demo.seed)]
    else:
        try:
            sources = [live_source(config, symbols)]
        except NothingToWatch as exc:
            print(f"arbsniper ingest: {exc}", file=sys.stderr)
            return 1
    service = IngestService(config, sources, symbols, bind=args.bind, http=http)
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
    from arbsniper.services.engine import EngineService, parse_shard

    config = _load(args)
    setup_logging(config.log_level)
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        print(f"arbsniper engine: {exc}", file=sys.stderr)
        return 2
    instruments = [n.strip() for n in args.instruments.split(",") if n.strip()] if args.instruments else None
    _redis_url("--redis", args.redis)
    from arbsniper.instruments import InstrumentError, parse_instrument

    for name in instruments or ():
        try:
            parse_instrument(name)
        except InstrumentError as exc:
            print(f"arbsniper engine: --instruments: {exc}", file=sys.stderr)
            return 2
    http = args.http if args.http is not None else f"127.0.0.1:{9102 + (shard[0] if shard else 0)}"
    service = EngineService(config, shard=shard, instruments=instruments, connect=args.connect,
                            redis_url=args.redis, http=_http("engine", http), name=args.name)
    return _run_service("engine", service.run(args.duration))


def _utc_iso(ms: int) -> str:
    """Epoch milliseconds as ``2026-12-02T16:04:14.123Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


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
            sys.stdout.write(f"{_utc_iso(s.timestamp)} {describe(s)}\n")
    return 0


def cmd_trader(args: argparse.Namespace) -> int:
    from arbsniper.trading.cmd import run_trader

    if args.halt and args.resume:
        print("arbsniper trader: --halt and --resume contradict each other: give one", file=sys.stderr)
        return 2
    config = _load(args, writes=True)
    _redis_url("--redis", args.redis)
    setup_logging(config.log_level)
    return run_trader(config, args, http=_http("trader", args.http))


def cmd_ledger(args: argparse.Namespace) -> int:
    from arbsniper.trading.cmd import show_ledger

    return show_ledger(_load(args), args)


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


def cmd_parse(args: argparse.Namespace) -> int:
    from arbsniper.parse import parse_stream
    from arbsniper.venues import REGISTRY
    from arbsniper.venues.catalog import Catalog

    config = _load(args)
    market = args.market or next(iter(REGISTRY[args.venue].markets))
    try:
        contracts = REGISTRY[args.venue].venue_class(market).sizes_in_contracts
    except ValueError as exc:  # a market the venue lacks
        print(f"arbsniper parse: {exc}", file=sys.stderr)
        return 2
    catalog = Catalog(config.data_dir)
    cached = catalog.read_cache(args.venue, market)  # the listing `markets` or `run` last fetched: the size units
    if cached is None and contracts:
        print(f"arbsniper parse: no cached {args.venue} {market} listing in {catalog.dir}: its sizes are contracts, "
              f"frames without a known unit are refused (run `arbsniper markets --venue {args.venue}` first)", file=sys.stderr)
    try:
        fh = open(args.file, "rb") if args.file else sys.stdin.buffer  # noqa: SIM115 -- bytes: invalid UTF-8 is a bad frame
    except OSError as exc:
        print(f"arbsniper parse: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    with fh:
        try:
            frames, events, bad = parse_stream(args.venue, market, fh, sys.stdout, sys.stderr,
                                               cached.instruments if cached is not None else ())
        except (OSError, ValueError) as exc:  # a directory given as the file
            print(f"arbsniper parse: {exc}", file=sys.stderr)
            return 2
    print(f"{frames} frames, {events} events, {bad} bad", file=sys.stderr)
    return 0


def cmd_markets(args: argparse.Namespace) -> int:
    from arbsniper.markets import gather, write
    from arbsniper.venues import REGISTRY

    config = _load(args)
    setup_logging(config.log_level)
    if args.venue is not None and args.venue not in REGISTRY:
        print(f"arbsniper markets: --venue {args.venue!r}: unknown venue (known: {', '.join(REGISTRY)})", file=sys.stderr)
        return 2
    listings, universe = asyncio.run(gather(config, args.demo))
    n = write(listings, universe, config, sys.stdout, sys.stderr, args.venue, args.json)
    return 0 if n else 1


def cmd_record(args: argparse.Namespace) -> int:
    from arbsniper.instruments import SymbolMap
    from arbsniper.record import Recorder
    from arbsniper.sim.launch import SimulatedVenues
    from arbsniper.venues.connect import NothingToWatch, live_source, run_for

    config = _load(args)
    setup_logging(config.log_level)
    symbols = SymbolMap()
    recorder = Recorder(args.out)
    try:
        recorder.open()  # now: a place that cannot be written is an error before anything runs
    except OSError as exc:
        print(f"arbsniper record: --out {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        source = (SimulatedVenues(config, symbols, seed=args.seed, tap=recorder) if args.demo
                  else live_source(config, symbols, tap=recorder))
    except NothingToWatch as exc:
        print(f"arbsniper record: {exc}", file=sys.stderr)
        return 1

    async def main() -> None:
        flusher = asyncio.create_task(recorder.run())
        try:
            await run_for(source, lambda _ev: None, args.duration)
        finally:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)

    asyncio.run(main())
    print(f"recorded {recorder.written} lines to {args.out}", file=sys.stderr)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from arbsniper.app import describe
    from arbsniper.model import signal_to_json
    from arbsniper.replay import replay

    config = _load(args)
    out = sys.stdout

    def emit(s: object) -> None:
        out.write(signal_to_json(s).decode() + "\n" if args.json else describe(s) + "\n")  # type: ignore[arg-type]

    def bad(n: int, why: str) -> None:
        print(f"{args.file}:{n}: {why}", file=sys.stderr)

    try:
        st = replay(args.file, config, emit, on_bad=bad)
    except OSError as exc:
        print(f"arbsniper replay: {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"arbsniper replay: {exc}", file=sys.stderr)
        return 2
    span = (st.last_ns - st.first_ns) / 1e9
    print(f"replayed {st.records} records ({st.frames} frames, {span:.1f} s of market time): {st.events} events, "
          f"{st.signals} signals, {st.bad_frames} bad frames", file=sys.stderr)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from arbsniper.capture.cmd import backtest

    return backtest(_load(args), args)


def cmd_report(args: argparse.Namespace) -> int:
    from arbsniper.capture.cmd import report

    return report(_load(args), args)


def cmd_simulate(args: argparse.Namespace) -> int:
    from arbsniper.sim.exchange import serve

    config = _load(args)
    setup_logging(config.log_level)
    return asyncio.run(serve(config, args.port, args.seed, args.duration, args.fault, args.until_stdin_closes))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="arbsniper", description="Cross-venue crypto arbitrage detection.")
    parser.add_argument("--version", action="version", version=f"arbsniper {__version__}")
    _add_common(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="watch markets, emit signals, trade them on paper and serve the dashboard (embedded: one process)")
    _add_common(p)
    p.add_argument("--demo", action="store_true",
                   help="the real connectors against the local exchange simulator (offline) instead of live venues")
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help="stop cleanly after this long (exit 0)")
    p.add_argument("--json", action="store_true", help="print each signal as one JSON line on stdout")
    p.add_argument("--verbose", action="store_true",
                   help="event lines on stderr instead of the live view (the default when stdout is not a terminal)")
    p.add_argument("--seed", type=int, help="seed of the demo market (reproducible runs)")
    p.add_argument("--no-history", action="store_true", help="do not write signals to the SQLite history")
    p.add_argument("--no-trade", action="store_true", help="only watch: do not trade the signals on paper")
    p.add_argument("--live", action="store_true", help="trade through ccxt instead of on paper (demo: with --dry-run only)")
    p.add_argument("--dry-run", action="store_true", help="with --live: build and print the orders, send nothing")
    _add_web(p)
    p.add_argument("--no-web", action="store_true", help="do not serve the dashboard")
    p.add_argument("--redis", nargs="?", const="", metavar="URL",
                   help="also publish every signal to Redis (channel, history, stream); URL defaults to [redis] url")
    p.add_argument("--record", metavar="FILE", help="also record every frame of this run to FILE (zstd: FILE.zst "
                   "unless it ends in .gz/.zst); rotated into FILE.0001…, FILE.0002… by size or age")
    p.add_argument("--record-rotate-mb", type=float, default=512.0, metavar="MB",
                   help="start the next recording file after this many MB of frames (default 512; 0: never)")
    p.add_argument("--record-rotate-s", type=float, default=3600.0, metavar="SECONDS",
                   help="... or after this long (default 3600; 0: never)")
    p.add_argument("--record-plain", action="store_true", help="record uncompressed JSON lines")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("trader", help="the strategy runner as its own process (distributed mode), and its kill switch")
    _add_common(p)
    p.add_argument("--redis", nargs="?", const="", metavar="URL",
                   help="read signals from the engines' Redis stream (<prefix>signals:stream); URL defaults to [redis] url")
    p.add_argument("--prefix", help="Redis key prefix (default [redis] prefix)")
    p.add_argument("--group", default="traders", help="consumer group (default traders)")
    p.add_argument("--consumer", default="trader-1", help="consumer name within the group (default trader-1)")
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help="stop cleanly after this long")
    p.add_argument("--http", default="off", metavar="HOST:PORT", help="serve /health and /metrics (default off)")
    p.add_argument("--live", action="store_true", help="trade through ccxt with keys from the environment")
    p.add_argument("--dry-run", action="store_true", help="with --live: build and print the orders, send nothing")
    p.add_argument("--halt", action="store_true", help="engage the kill switch: running traders open no new trade")
    p.add_argument("--flatten", action="store_true", help="with --halt: also close open positions at market")
    p.add_argument("--reason", default="manual halt", help="with --halt: why (shown by `arbsniper pnl`)")
    p.add_argument("--resume", action="store_true", help="release the kill switch")
    p.set_defaults(func=cmd_trader)

    for name, helptext in (("trades", "the newest trades from the trading ledger"),
                           ("positions", "open positions (trades not yet closed) with their legs and marks"),
                           ("pnl", "P&L overall and per venue pair, balances, refusals")):
        p = sub.add_parser(name, help=helptext)
        _add_common(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument("--live", action="store_true", help="read the live ledger instead of the paper one")
        if name == "trades":
            p.add_argument("--limit", type=_positive, default=50, metavar="N", help="how many (default 50)")
        p.set_defaults(func=cmd_ledger, view=name)


    p = sub.add_parser("dashboard", help="serve the dashboard (and alerts) for signals published to Redis")
    _add_common(p)
    _add_web(p)
    p.add_argument("--redis-url", metavar="URL", help="where the engines publish (default [redis] url)")
    p.add_argument("--prefix", help="key prefix of the signal channel and history set (default [redis] prefix)")
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help="stop cleanly after this long (exit 0)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("ingest", help="distributed: run the market sources and publish their events on ZeroMQ")
    _add_common(p)
    p.add_argument("--demo", action="store_true", help="use the offline synthetic market instead of live venues")
    p.add_argument("--seed", type=int, help="seed of the demo market (reproducible runs)")
    p.add_argument("--bind", action="append", metavar="ENDPOINT",
                   help="ZeroMQ endpoint to bind (repeatable; default [zmq] bind, tcp://127.0.0.1:5555)")
    p.add_argument("--http", default="127.0.0.1:9101", metavar="HOST:PORT", help="/health and /metrics (default 127.0.0.1:9101; 'off')")
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help="stop cleanly after this long (exit 0)")
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
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help="stop cleanly after this long (exit 0)")
    p.set_defaults(func=cmd_engine)

    p = sub.add_parser("history", help="print the newest signals from the history")
    _add_common(p)
    p.add_argument("--limit", type=_positive, default=20, metavar="N", help="how many (default 20)")
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
    p.add_argument("--scale", action="store_true", help="instead: real sessions at 8 venues x {25,100,300} instruments")
    p.add_argument("--quick", action="store_true", help="with --json: leave out the scale and distributed runs")
    p.set_defaults(func=cmd_bench)

    from arbsniper.venues import REGISTRY

    p = sub.add_parser("parse", help="raw venue frames (one per line) to normalized events as JSON lines")
    _add_common(p)
    p.add_argument("--venue", required=True, choices=tuple(REGISTRY), help="venue name")
    p.add_argument("--market", choices=("spot", "perp"), help="endpoint family where a venue has both (default: its first)")
    p.add_argument("file", nargs="?", help="file of frames (default: stdin)")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("markets", help="what each venue lists (units, lot, tick, funding, status) and the universe chosen")
    _add_common(p)
    p.add_argument("--venue", metavar="NAME", help="only this venue")
    p.add_argument("--json", action="store_true", help="one JSON object per instrument and venue market")
    p.add_argument("--demo", action="store_true", help="the exchange simulator's demo market instead of the live venues")
    p.set_defaults(func=cmd_markets)

    p = sub.add_parser("record", help="record raw venue frames as received (JSON lines, .gz/.zst)")
    _add_common(p)
    p.add_argument("--out", required=True, metavar="FILE", help="recording to write")
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help="stop after this long")
    p.add_argument("--demo", action="store_true", help="record the local exchange simulator instead of live venues")
    p.add_argument("--seed", type=int, help="seed of the simulated market")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("replay", help="run a recording through parsers, engine and detector, deterministically")
    _add_common(p)
    p.add_argument("file", help="recording (from arbsniper record)")
    p.add_argument("--json", action="store_true", help="print each signal as one JSON line, as run --json does")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("backtest", help="recordings through parsers, engine, detector and the paper executor: "
                       "lifetimes, capturable fraction, P&L, latency sweep")
    _add_common(p)
    p.add_argument("files", nargs="+", metavar="FILE", help="recordings (from arbsniper record / run --record)")
    p.add_argument("--latency-ms", type=float, metavar="MS", help="order latency on every venue (default [trading] latencies)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--plot", metavar="DIR", help="also write PNG charts and a self-contained report.html there")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("report", help="the backtest's analysis on the SQLite history of live runs")
    _add_common(p)
    p.add_argument("--since", metavar="WHEN", help="only opportunities closed since: 30m, 6h, 2d or an ISO date-time")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--plot", metavar="DIR", help="also write PNG charts and a self-contained report.html there")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("simulate", help="serve every venue's protocol locally, driven by the synthetic market")
    _add_common(p)
    p.add_argument("--port", type=_port, default=0, help="first port (venues take consecutive ports; default: any free)")
    p.add_argument("--seed", type=int, help="seed of the simulated market")
    p.add_argument("--duration", type=_seconds, metavar="SECONDS", help="stop after this long")
    p.add_argument("--fault", action="append", default=[], metavar="VENUE:FAULT[:EVERY_S]",
                   help="inject a fault periodically: drop, mute-pongs, skip-seq, bad-checksum, garbage, delay")
    p.add_argument("--until-stdin-closes", action="store_true", help="also stop when standard input closes (for a parent process)")
    p.set_defaults(func=cmd_simulate)
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
