"""``arbsniper backtest``: recordings through the live parsers, engine, detector and paper executor.

One pass per file, in virtual time (the file's receive stamps, as ``replay``): every opportunity
the detector opens sends, at its open, one IOC order per leg for each latency setting (the
configured per-venue latencies, or ``--latency-ms`` for all, and every latency of the sweep).
An order fills when its latency has passed, through ``PaperExecutor.fill_now`` against the book
as the engine holds it just before the first record received after its arrival. The settings
share the market (paper orders do not move it) but each has its own executor, so liquidity one
setting took is taken only for that setting. Deterministic, and as fast as parsing goes.

A trade's P&L, in the buy leg's quote currency:

    matched  = min(bought, sold)
    pnl      = matched × (avg sell × conversion − avg buy) + funding − fees
    funding  = the signal's funding_bps (over holding_hours) × matched × avg buy
    fees     = taker fees on every fill, plus one more taker fee on the unmatched excess
               (flattening it where it filled, at its fill price)

``won``: pnl > 0; ``lost``: pnl ≤ 0 with something filled; ``missed``: neither leg filled.
Orders still in flight when the file ends are missed (the market after it is unknown).
"""

from __future__ import annotations

import heapq
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arbsniper.capture.analysis import SWEEP_MS, Opportunity, Outcome, analyse
from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.model import Signal
from arbsniper.replay import replay
from arbsniper.trading.market import EngineMarketView, MarketRules
from arbsniper.trading.orders import BUY, SELL, OrderRequest, OrderResult
from arbsniper.trading.paper import PaperExecutor

CONFIG = "config"  # the outcome key of the configured latencies


@dataclass(slots=True)
class _Trade:
    opp: Opportunity
    key: str
    signal: Signal
    results: dict[str, OrderResult] = field(default_factory=dict)


@dataclass
class BacktestRun:
    opportunities: list[Opportunity] = field(default_factory=list)
    records: int = 0
    frames: int = 0
    market_s: float = 0.0
    elapsed_s: float = 0.0


def trade_outcome(buy: OrderResult, sell: OrderResult, conversion: float, funding_bps: float,
                  fee_rate: dict[str, float]) -> Outcome:
    """The module docstring's rule, for one trade's two IOC results."""
    qb, qs = buy.filled_qty, sell.filled_qty
    if qb <= 0.0 and qs <= 0.0:
        return Outcome(0.0, 0.0, "missed")
    fees = sum(f.fee for f in buy.fills) + sum(f.fee for f in sell.fills) * conversion
    matched = min(qb, qs)
    pb, ps = buy.avg_price, sell.avg_price * conversion
    if qb > qs:
        fees += (qb - qs) * pb * fee_rate[BUY]
    elif qs > qb:
        fees += (qs - qb) * ps * fee_rate[SELL]
    funding = funding_bps / 1e4 * matched * pb
    pnl = matched * (ps - pb) + funding - fees
    return Outcome(pnl, fees, "won" if pnl > 0.0 else "lost")


_PART = re.compile(r"^(.*)\.(\d{4})(\.[^/]*)?$")


def rotation_groups(paths: Sequence[str | Path]) -> list[list[str | Path]]:
    """Consecutive parts of one rotated recording (``x.0001.jsonl.zst``, ``x.0002…``) go together."""
    groups: list[list[str | Path]] = []
    last: tuple[str, str, int] | None = None
    for p in paths:
        m = _PART.match(str(p))
        key = (m.group(1), m.group(3) or "", int(m.group(2))) if m else None
        if key is not None and last is not None and key[:2] == last[:2] and key[2] == last[2] + 1:
            groups[-1].append(p)
        else:
            groups.append([p])
        last = key
    return groups


class Backtester:
    """Runs recordings; ``latency_ms`` (all venues) overrides ``[trading]`` latencies when given."""

    def __init__(self, config: Config, latency_ms: float | None = None, sweep_ms: Sequence[float] = SWEEP_MS) -> None:
        self.config = config
        self.latency_ms = latency_ms
        self.sweep_ms = tuple(sweep_ms)
        self.rules = MarketRules(config)

    def venue_latency_ms(self, venue: str) -> float:
        if self.latency_ms is not None:
            return self.latency_ms
        return self.config.trading.latency_s(venue) * 1000.0

    def pair_latency_ms(self, o: Opportunity) -> float:
        """Both legs go out at once: the slower one decides."""
        buy, sell = o.pair.split(">")
        return max(self.venue_latency_ms(buy), self.venue_latency_ms(sell))

    def run(self, paths: Sequence[str | Path]) -> BacktestRun:
        """Each recording in turn; the consecutive parts of a rotated one (``run.0001…``) as one."""
        out = BacktestRun()
        started = time.perf_counter()
        for group in rotation_groups(paths):
            self._run_file(group, out)
        out.elapsed_s = time.perf_counter() - started
        return out

    def _run_file(self, path: Sequence[str | Path], out: BacktestRun) -> None:
        cfg = self.config.trading
        now = [0]
        settings: dict[str, PaperExecutor] = {}
        pending: list[tuple[int, int, _Trade, OrderRequest]] = []
        opened: dict[str, Opportunity] = {}
        counter = [0]
        engines: list[Engine] = []

        def on_engine(engine: Engine) -> None:
            engines.append(engine)
            view = EngineMarketView(engine)
            for key in (CONFIG, *(f"{x:g}" for x in self.sweep_ms)):
                settings[key] = PaperExecutor(view, self.rules, lambda _v: 0.0, clock_ns=lambda: now[0])

        def latency_ns(key: str, venue: str) -> int:
            ms = self.venue_latency_ms(venue) if key == CONFIG else float(key)
            return int(ms * 1_000_000)

        def emit(s: Signal) -> None:
            if s.event == "open":
                o = Opportunity(s.id, f"{s.buy_exchange}>{s.sell_exchange}", s.buy_instrument,
                                s.timestamp * 1_000_000, 0.0, s.net_bps)
                opened[s.id] = o
                out.opportunities.append(o)
                t = now[0]
                qty = min(s.size, cfg.max_trade_notional / s.buy_price) if s.buy_price > 0 else 0.0
                tol = cfg.price_tolerance_bps / 1e4
                for key in settings:
                    trade = _Trade(o, key, s)
                    for side, venue, inst, limit in ((BUY, s.buy_exchange, s.buy_instrument, s.buy_price * (1 + tol)),
                                                     (SELL, s.sell_exchange, s.sell_instrument, s.sell_price * (1 - tol))):
                        counter[0] += 1
                        req = OrderRequest(f"bt{counter[0]}", 0, venue, inst, side, qty, limit)
                        heapq.heappush(pending, (t + latency_ns(key, venue), counter[0], trade, req))
            elif s.event == "close":
                closed = opened.pop(s.id, None)
                if closed is not None:
                    closed.lifetime_ms = float(s.duration_ms)
                    closed.close_reason = s.close_reason or ""

        def before(t: int) -> None:
            while pending and pending[0][0] <= t:
                arrival, _, trade, req = heapq.heappop(pending)
                now[0] = arrival
                trade.results[req.side] = settings[trade.key].fill_now(req)
                if len(trade.results) == 2:
                    self._settle(trade)
            now[0] = t

        st = replay(path, self.config, emit, before=before, on_engine=on_engine)
        for _, _, trade, _req in pending:  # still in flight at the end of the file
            trade.opp.outcomes.setdefault(trade.key, Outcome(0.0, 0.0, "missed"))
        out.records += st.records
        out.frames += st.frames
        out.market_s += (st.last_ns - st.first_ns) / 1e9

    def _settle(self, trade: _Trade) -> None:
        s = trade.signal
        rates = {BUY: self.rules.fee_bps(s.buy_exchange, s.buy_instrument) / 1e4,
                 SELL: self.rules.fee_bps(s.sell_exchange, s.sell_instrument) / 1e4}
        trade.opp.outcomes[trade.key] = trade_outcome(trade.results[BUY], trade.results[SELL],
                                                      s.conversion_rate or 1.0, s.funding_bps, rates)

    def report(self, run: BacktestRun) -> dict[str, Any]:
        rep = analyse(run.opportunities, self.pair_latency_ms, self.sweep_ms)
        rep["latency_ms"] = self.latency_ms if self.latency_ms is not None else {
            "default": self.config.trading.latency_ms, **self.config.trading.venue_latency_ms}
        rep["records"] = run.records
        rep["frames"] = run.frames
        rep["market_s"] = round(run.market_s, 3)
        rep["elapsed_s"] = round(run.elapsed_s, 3)
        rep["frames_per_s"] = round(run.frames / run.elapsed_s) if run.elapsed_s > 0 else None
        return rep
