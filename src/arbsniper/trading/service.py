"""``arbsniper trader --redis``: the strategy runner as its own process, on the engines' signal stream.

Signals come from ``<prefix>{signals}:stream`` through a consumer group (``sources.RedisStreamSource``),
each entry acknowledged only after the runner acted on it. There is no engine in this process, so
the paper executor fills against a book built from the signals themselves
(``market.SignalMarketView``); ``--live`` trades through ccxt instead. With ``http`` it serves
``/health`` and ``/metrics`` (off by default), with the metric names of every other role.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec

from arbsniper.config import VENUE_NAMES, Config
from arbsniper.httpd import HttpServer, ops_app
from arbsniper.metrics import REDIS_CONNECTED, REDIS_RECONNECTS, Part, ServiceCollector, make_registry, process_samples
from arbsniper.runtime import run_until_stopped
from arbsniper.trading.ledger import Ledger, ledger_path
from arbsniper.trading.market import MarketRules, SignalMarketView
from arbsniper.trading.risk import KillSwitch, halt_path
from arbsniper.trading.runner import Runner
from arbsniper.trading.sources import DEFAULT_GROUP, RedisStreamSource

log = logging.getLogger("arbsniper.trading")


def live_venues(config: Config) -> list[str]:
    """The venues a live executor trades on: every enabled one."""
    return [v for v in VENUE_NAMES if config.venue(v).enabled]


class TraderService:
    """The runner, its executor and ledger, reading the Redis signal stream until stopped."""

    def __init__(self, config: Config, *, redis_url: str | None = None, prefix: str | None = None,
                 group: str = DEFAULT_GROUP, consumer: str = "trader-1", live: bool = False, dry_run: bool = False,
                 http: tuple[str, int] | None = None, kill: KillSwitch | None = None) -> None:
        market = SignalMarketView(config)
        self.executor: Any
        if live:
            from arbsniper.trading.live import LiveExecutor

            self.executor = LiveExecutor.from_config(config, live_venues(config), dry_run=dry_run)
            ledger = Ledger(":memory:") if dry_run else Ledger(ledger_path(config.data_dir, "live"))
        else:
            from arbsniper.trading.paper import PaperExecutor

            self.executor = PaperExecutor(market, MarketRules(config), config.trading.latency_s)
            ledger = Ledger(ledger_path(config.data_dir, "paper"))
        redis = msgspec.structs.replace(config.redis, prefix=prefix) if prefix is not None else config.redis
        self.source = RedisStreamSource(redis, group=group, consumer=consumer, url=redis_url)
        self.runner = Runner(config, self.executor, market, ledger, kill=kill or KillSwitch(halt_path(config.data_dir)))
        self.http = http
        self.ops: HttpServer | None = None
        self.started = time.monotonic()
        self.stop = asyncio.Event()
        self.registry = make_registry(ServiceCollector(self.samples))

    def health(self) -> dict[str, Any]:
        reader = self.source.reader
        runner = self.runner.stats()
        return {
            "service": "trader",
            # degraded: Redis unreachable (no signals arrive), or no new trade may open
            "status": "ok" if reader.connected and runner["halted"] is None else "degraded",
            "uptime_s": round(time.monotonic() - self.started, 3),
            "executor": self.executor.name,
            "trader": runner,
            "redis": reader.stats(),
        }

    def samples(self) -> list[Part]:
        reader = self.source.reader
        return [*process_samples("trader", self.started, self.source.reader.consumer), *self.runner.samples(),
                REDIS_CONNECTED(1.0 if reader.connected else 0.0), REDIS_RECONNECTS(reader.reconnects)]

    async def run(self, duration: float | None = None) -> int:
        """Trade until ``duration`` elapses, ``stop`` is set or SIGINT/SIGTERM; returns the exit code.

        At the stop the reader returns within one block interval and the runner finishes what it
        read (trades in flight complete, their entries are acked) before the ledger closes.
        """
        if self.http is not None:
            self.ops = HttpServer(ops_app(self.health, self.registry), *self.http)
            await self.ops.start()
            log.info("trader ready", extra={"fields": {"http": f"{self.ops.host}:{self.ops.port}"}})
        runner = asyncio.create_task(self.runner.run(self.source), name="trader")
        return await run_until_stopped([], [runner], duration=duration, stop=self.stop, drain=self._drain,
                                       close=self._close)

    async def _drain(self) -> None:
        self.source.closed = True  # the runner then stops on its own, after the batch in hand

    async def _close(self) -> None:
        await self.source.close()
        close = getattr(self.executor, "close", None)
        if close is not None:
            await close()
        if self.ops is not None:
            await self.ops.stop()
