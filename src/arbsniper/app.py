"""Composition root of the embedded deployment: sources → bus → engine → consumers.

One asyncio loop runs everything. Sources call the engine synchronously with each normalized
event (socket read → parse → engine → signal in one call stack, no queue to wait in; depth
still coalesces per socket read in the session) and the engine publishes signals to a fan-out; cold-path consumers (history, JSON output, log lines, dashboard, trader, alerts, Redis)
each read their own queue. ``runtime.run_until_stopped`` runs it; ``App`` is the ``Pipeline`` the
dashboard reads (``web.pipeline``), and reports the same metric names as the distributed roles.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from arbsniper.bus.inproc import ConflatingQueue, FanOut, Subscription
from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.history import HistoryWriter, history_path
from arbsniper.instruments import SymbolMap
from arbsniper.metrics import (
    DROPS,
    MESSAGES,
    STAGE_RECEIVE_SIGNAL,
    LatencyHistogram,
    Part,
    engine_samples,
    per_venue,
    process_samples,
    queue_samples,
)
from arbsniper.model import MarketEvent, Signal, signal_to_json
from arbsniper.runtime import run_until_stopped
from arbsniper.venues.base import MarketSource
from arbsniper.venues.metadata import InstrumentMeta

if TYPE_CHECKING:
    from arbsniper.alerts import Alerter
    from arbsniper.bus.redis import RedisSignalPublisher
    from arbsniper.trading.runner import Runner

Consumer = Callable[[Subscription[Signal]], Coroutine[Any, Any, None]]

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
        self.engine = Engine(symbols, config, self._emit)
        self.json_out = json_out
        self.human_out = human_out
        self.history_enabled = history and config.history.enabled
        self.history_file = history_path(config.data_dir)
        self.history_written = 0
        self.started = time.monotonic()
        self.processed: list[int] = []  # market events through the engine, by venue id
        self.lat_receive = LatencyHistogram()  # the signals' latency_us: venue frame received → emitted
        self._consumers: list[tuple[Subscription[Signal], Consumer]] = []
        self.pnl: Callable[[], Mapping[str, Any] | None] | None = None  # paper P&L, shown by the dashboard
        self.alerter: Alerter | None = None
        self.redis: RedisSignalPublisher | None = None
        self._stop = asyncio.Event()
        # Subscriptions exist before the engine can emit, so no consumer misses a signal.
        if self.history_enabled:
            self._consumers.append((self.signals.subscribe("history"), self._history_consumer))
        if json_out is not None:
            self._consumers.append((self.signals.subscribe("json"), self._json_consumer))
        if human_out is not None:
            self._consumers.append((self.signals.subscribe("log"), self._human_consumer))
        self.runner: Runner | None = None  # the strategy runner when trading
        if trade:
            from arbsniper.trading.runner import embedded_runner

            self.attach_runner(embedded_runner(config, self.engine, out=human_out))

    def attach_runner(self, runner: Runner) -> None:
        """Trade the signals: the runner gets its own queue and reads ``self.engine``'s books."""
        self.runner = runner
        self.add_consumer("trader", runner.consume)
        self.pnl = _every(PNL_EVERY_S, runner.pnl_summary)  # the dashboard's P&L panel

    def set_metadata(self, metas: Sequence[InstrumentMeta]) -> None:
        """The venues' listings size the detector and the trader (cold path: start, refresh)."""
        self.engine.set_metadata(metas)
        if self.runner is not None:
            self.runner.rules.set_metadata(metas)

    def add_consumer(self, name: str, consume: Consumer) -> Subscription[Signal]:
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

    def add_redis(self, publisher: RedisSignalPublisher) -> None:
        """Publish every signal to Redis as an engine does, from a consumer of its own."""
        self.redis = publisher
        self.add_consumer("redis", publisher.consume)

    def stop(self) -> None:
        """Ask a running ``run()`` to shut down cleanly, as SIGINT would."""
        self._stop.set()

    # -- hot path ----------------------------------------------------------------------------
    def _emit(self, s: Signal) -> None:
        self.lat_receive.observe(round(s.latency_us * 1000))
        self.signals.publish(s)

    def _on_market(self, ev: MarketEvent) -> None:
        """A source's event straight into the engine, inside the socket read that carried it:
        the detector never waits for the loop to reach a queue (dashboard, trader, history)."""
        v = ev.venue
        processed = self.processed
        try:
            processed[v] += 1
        except IndexError:
            processed.extend([0] * (v + 1 - len(processed)))
            processed[v] += 1
        self.engine.on_event(ev)

    def _process(self, batch: Iterable[MarketEvent]) -> None:
        on_event = self.engine.on_event
        processed = self.processed
        for ev in batch:
            v = ev.venue
            try:
                processed[v] += 1
            except IndexError:
                processed.extend([0] * (v + 1 - len(processed)))
                processed[v] += 1
            on_event(ev)

    # -- tasks -------------------------------------------------------------------------------
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
        """Run until ``duration`` elapses, ``stop()`` or SIGINT/SIGTERM; then shut down cleanly.

        Returns the exit code (``runtime.run_until_stopped``).
        """
        self.engine.grow()
        # What the connectors were built with (each venue's listing): lots, minimums, ticks.
        metas = [m for src in self.sources for s in getattr(src, "sessions", ()) for m in s.venue.metadata.values()]
        if metas:
            self.set_metadata(metas)
        for src in self.sources:
            if hasattr(src, "on_metadata"):
                src.on_metadata = self.set_metadata  # and again after each refresh
        gc.freeze()  # long-lived setup objects leave the GC's generations: shorter pauses later
        consumers = [asyncio.create_task(consume(sub), name=f"consumer:{sub.name}") for sub, consume in self._consumers]
        producers = [
            asyncio.create_task(self._expire_loop(), name="expire"),
            asyncio.create_task(self._stats_loop(), name="stats"),
            *(asyncio.create_task(src.run(self._on_market), name=f"source:{type(src).__name__}") for src in self.sources),
        ]
        code = await run_until_stopped(producers, consumers, duration=duration, stop=self._stop, drain=self._drain)
        st = self.engine.stats()
        log.info("stopped", extra={"fields": {
            "events": st["events"], "opened": st["opened"], "closed": st["closed"],
            "history_written": self.history_written, "uptime_s": f"{time.monotonic() - self.started:.1f}",
        }})
        return code

    async def _drain(self) -> None:
        """Whatever arrived before the stop still goes through the engine, then every open
        opportunity closes, so history holds the end of each one; then the consumers' queues close."""
        try:
            self._process(self.market.drain_nowait())
            self.engine.close_all(time.time_ns())
        finally:
            self.signals.close()

    # -- observability ---------------------------------------------------------------------------
    def stats(self) -> dict[str, object]:
        return {
            "uptime_s": time.monotonic() - self.started,
            "engine": self.engine.stats(),
            "market_queue": self.market.as_dict(),
            "signal_queues": self.signals.stats(),
            "history_written": self.history_written,
            "trader": self.runner.stats() if self.runner is not None else None,
        }

    def samples(self) -> list[Part]:
        """``/metrics`` of the embedded process: the names the distributed roles use for the same things."""
        names = self.symbols.venues
        ids = sorted({v for v, n in enumerate(self.processed) if n} | set(self.market.dropped_by_venue))
        out = process_samples("run", self.started)
        out += engine_samples(self.engine.stats(), self.engine.state.ni)
        out += per_venue(MESSAGES, dict(enumerate(self.processed)), names, ids)
        out += per_venue(DROPS, self.market.dropped_by_venue, names, ids)
        m = self.market
        out += queue_samples("market", m.pushed, m.dropped, len(m))
        for sub in self.signals.subscriptions:
            out += queue_samples(f"signals:{sub.name}", sub.pushed, sub.dropped, len(sub))
        for part in (self.redis, self.runner, self.alerter):
            if part is not None:
                out += part.samples()
        return out

    def histograms(self) -> dict[str, LatencyHistogram]:
        out = {STAGE_RECEIVE_SIGNAL: self.lat_receive}
        if self.redis is not None:
            out.update(self.redis.histograms())
        return out
