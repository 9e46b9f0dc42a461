"""Composition root of the embedded deployment: sources → bus → engine → consumers.

One asyncio loop runs everything. Sources push normalized events into a conflating queue; the
engine task drains it in batches (one await per batch, none per event) and publishes signals to
a fan-out; cold-path consumers (history, JSON output, log lines) each read their own queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from arbsniper.bus.inproc import ConflatingQueue, FanOut, Subscription
from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.history import HistoryWriter, history_path
from arbsniper.instruments import SymbolMap
from arbsniper.model import Signal, signal_to_json
from arbsniper.venues.base import MarketSource

if TYPE_CHECKING:
    from arbsniper.alerts import Alerter

log = logging.getLogger("arbsniper.app")

EXPIRE_EVERY_S = 0.1
STATS_EVERY_S = 5.0
PNL_EVERY_S = 1.0  # the P&L summary reads the ledger: at most this often, however often it is asked


def _every(period_s: float, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn``'s result, recomputed at most once per ``period_s``."""
    at = float("-inf")
    value: Any = None

    def cached() -> Any:
        nonlocal at, value
        now = time.monotonic()
        if now - at >= period_s:
            at, value = now, fn()
        return value

    return cached


def describe(s: Signal) -> str:
    """One human-readable line per signal event."""
    if s.event == "close":
        return (f"CLOSE  {s.symbol:<14} buy {s.buy_exchange:<11} sell {s.sell_exchange:<11} "
                f"reason={s.close_reason} lived={s.duration_ms} ms (last net {s.net_bps:.1f} bps)")
    return (f"{s.event.upper():<6} {s.symbol:<14} buy {s.buy_exchange:<11} @ {s.buy_price:<12.6g} "
            f"sell {s.sell_exchange:<11} @ {s.sell_price:<12.6g} spread {s.spread_bps:6.1f} bps "
            f"net {s.net_bps:6.1f} bps size {s.size:.6g} profit {s.profit_quote:.2f} {s.quote_currency} "
            f"conf {s.confidence:.0f}")


class App:
    """The embedded pipeline: everything in one process, no server needed."""

    def __init__(self, config: Config, sources: Sequence[MarketSource], symbols: SymbolMap, *,
                 json_out: TextIO | None = None, human_out: TextIO | None = sys.stderr,
                 history: bool = True, trade: bool = False) -> None:
        self.config = config
        self.symbols = symbols
        self.sources = list(sources)
        self.market = ConflatingQueue(config.bus.market_capacity)
        self.signals: FanOut[Signal] = FanOut(config.bus.signal_capacity)
        self.engine = Engine(symbols, config, self.signals.publish)
        self.json_out = json_out
        self.human_out = human_out
        self.history_enabled = history and config.history.enabled
        self.history_file = history_path(config.data_dir)
        self.history_written = 0
        self.started = time.monotonic()
        self._consumers: list[tuple[Subscription[Signal], Callable[[Subscription[Signal]], Coroutine[Any, Any, None]]]] = []
        self.pnl: Callable[[], Mapping[str, Any] | None] | None = None  # paper P&L, shown by the dashboard
        self.alerter: Alerter | None = None
        self._stop: asyncio.Event | None = None
        # Subscriptions exist before the engine can emit, so no consumer misses a signal.
        if self.history_enabled:
            self._consumers.append((self.signals.subscribe("history"), self._history_consumer))
        if json_out is not None:
            self._consumers.append((self.signals.subscribe("json"), self._json_consumer))
        if human_out is not None:
            self._consumers.append((self.signals.subscribe("log"), self._human_consumer))
        self.runner: Any = None  # the strategy runner (trading.runner.Runner) when trading
        if trade:
            from arbsniper.trading.runner import embedded_runner

            self.attach_runner(embedded_runner(config, self.engine, out=human_out))

    def attach_runner(self, runner: Any) -> None:
        """Trade the signals: the runner gets its own queue and reads ``self.engine``'s books."""
        self.runner = runner
        self.add_consumer("trader", runner.consume)
        self.pnl = _every(PNL_EVERY_S, runner.pnl_summary)  # the dashboard's P&L panel

    def add_consumer(self, name: str, consume: Callable[[Subscription[Signal]], Coroutine[Any, Any, None]]) -> Subscription[Signal]:
        """Give another cold-path consumer (dashboard, trader, Redis publisher) its own queue."""
        sub = self.signals.subscribe(name)
        self._consumers.append((sub, consume))
        return sub

    def add_dashboard(self, host: str, port: int, token: str | None) -> str:
        """Serve the dashboard from this process (a consumer of its own); returns its URL."""
        from arbsniper.web.app import mount_embedded

        return mount_embedded(self, host, port, token).url

    def add_alerts(self) -> None:
        """Send alerts on new opportunities (``[alerts]``) from a consumer of their own."""
        from arbsniper.alerts import Alerter

        self.alerter = Alerter(self.config.alerts)
        self.add_consumer("alerts", self.alerter.consume)

    def stop(self) -> None:
        """Ask a running ``run()`` to shut down cleanly, as SIGINT would."""
        if self._stop is not None:
            self._stop.set()

    # -- tasks -------------------------------------------------------------------------------
    async def _engine_loop(self) -> None:
        on_event = self.engine.on_event
        market = self.market
        while True:
            for ev in await market.drain():
                on_event(ev)

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRE_EVERY_S)
            self.engine.expire(time.time_ns())

    async def _stats_loop(self) -> None:
        """Every few seconds: one stats line, and a warning when quotes were refused meanwhile."""
        last_events = 0
        last_t = time.monotonic()
        refused_keys = ("crossed", "out_of_order", "invalid", "suspect")
        last_refused = dict.fromkeys(refused_keys, 0)
        while True:
            await asyncio.sleep(STATS_EVERY_S)
            now = time.monotonic()
            st = self.engine.stats()
            rate = (st["events"] - last_events) / max(1e-9, now - last_t)  # type: ignore[operator]
            last_events, last_t = st["events"], now  # type: ignore[assignment]
            q = self.market.as_dict()
            log.info(
                "stats",
                extra={"fields": {
                    "events_per_s": f"{rate:.0f}", "open": st["open"], "opened": st["opened"],
                    "closed": st["closed"], "out_of_order": st["out_of_order"], "crossed": st["crossed"],
                    "market_drops": q["dropped"], "signal_drops": sum(s.dropped for s in self.signals.subscriptions),
                }},
            )
            refused = {k: int(st[k]) - last_refused[k] for k in refused_keys}  # type: ignore[call-overload]
            if any(refused.values()):
                log.warning("quotes refused by the engine", extra={"fields": {k: v for k, v in refused.items() if v}})
                last_refused = {k: int(st[k]) for k in refused_keys}  # type: ignore[call-overload]

    async def _history_consumer(self, sub: Subscription[Signal]) -> None:
        writer = await asyncio.to_thread(HistoryWriter, self.history_file)
        try:
            while True:
                batch = await sub.get_batch(self.config.history.batch)
                if not batch:
                    if sub.closed:
                        return
                    continue
                self.history_written += await asyncio.to_thread(writer.write, batch)
        finally:
            writer.close()

    async def _json_consumer(self, sub: Subscription[Signal]) -> None:
        out = self.json_out
        assert out is not None
        while True:
            batch = await sub.get_batch()
            if not batch and sub.closed:
                return
            out.write("".join(signal_to_json(s).decode() + "\n" for s in batch))
            out.flush()

    async def _human_consumer(self, sub: Subscription[Signal]) -> None:
        out = self.human_out
        assert out is not None
        while True:
            batch = await sub.get_batch()
            if not batch and sub.closed:
                return
            lines = [describe(s) for s in batch if s.event != "update"]
            if lines:
                out.write("\n".join(lines) + "\n")
                out.flush()

    # -- run -----------------------------------------------------------------------------------
    async def run(self, duration: float | None = None) -> int:
        """Run until ``duration`` elapses or SIGINT/SIGTERM; then shut down cleanly."""
        self.engine.grow()
        gc.freeze()  # long-lived setup objects leave the GC's generations: shorter pauses later
        loop = asyncio.get_running_loop()
        self._stop = stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        consumers = [asyncio.create_task(consume(sub), name=f"consumer:{sub.name}") for sub, consume in self._consumers]
        workers = [
            asyncio.create_task(self._engine_loop(), name="engine"),
            asyncio.create_task(self._expire_loop(), name="expire"),
            asyncio.create_task(self._stats_loop(), name="stats"),
        ]
        sources = [asyncio.create_task(src.run(self.market.push), name=f"source:{type(src).__name__}") for src in self.sources]
        failed: BaseException | None = None
        try:
            waiters = [asyncio.create_task(stop.wait())] + sources + workers
            done, _ = await asyncio.wait(waiters, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t is not waiters[0] and not t.cancelled() and t.exception() is not None:
                    failed = t.exception()
                    log.error("task %s failed: %r", t.get_name(), failed)
            waiters[0].cancel()
        finally:
            for t in sources + workers:
                t.cancel()
            await asyncio.gather(*sources, *workers, return_exceptions=True)
            # Whatever arrived before the stop still goes through the engine, then every open
            # opportunity closes, so history holds the end of each one.
            for ev in self.market.drain_nowait():
                self.engine.on_event(ev)
            self.engine.close_all(time.time_ns())
            self.signals.close()
            await asyncio.gather(*consumers, return_exceptions=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
        st = self.engine.stats()
        log.info("stopped", extra={"fields": {
            "events": st["events"], "opened": st["opened"], "closed": st["closed"],
            "history_written": self.history_written, "uptime_s": f"{time.monotonic() - self.started:.1f}",
        }})
        return 1 if failed is not None else 0

    def stats(self) -> dict[str, object]:
        return {
            "uptime_s": time.monotonic() - self.started,
            "engine": self.engine.stats(),
            "market_queue": self.market.as_dict(),
            "signal_queues": self.signals.stats(),
            "history_written": self.history_written,
            "trader": self.runner.stats() if self.runner is not None else None,
        }
