"""The dashboard hub: folds the signal stream and market state into batched pushes for browsers.

A browser cannot take hundreds of DOM updates a second, and should not have to: the hub keeps
the open opportunities (latest event per id), the recently closed ones and a spread series, and
pushes *deltas* — at most ``push_hz`` signal batches a second, each one coalescing every event
of an id since the last — plus a ``state`` block (bid/ask matrix, venue health, counters, P&L,
spread chart point) ``state_hz`` times a second. A batch goes out at once when the previous
one is older than ``1 / push_hz`` (leading edge), so updates and closes wait at most
``1 / push_hz``. A *new* opportunity has its own lane, a token bucket of ``URGENT_BURST`` pushes
refilled at ``URGENT_RATE × push_hz``: it goes out at once even while a stream of updates keeps the
regular lane busy, and so do opens that come in clusters (one dislocation opens several venue
pairs within milliseconds); in a flood of opens one waits at most ``1 / (URGENT_RATE × push_hz)``.
However many signals arrive, a browser gets at most ``(1 + URGENT_RATE) × push_hz`` pushes a
second, each one DOM pass.

Every client gets the same encoded text; one that falls behind has its queue dropped and gets
a fresh snapshot instead (counted as a resync), so a slow tab never holds memory or the loop.

Embedded mode reads the engine's state arrays directly (``EngineView``, same thread, between
engine batches); distributed mode has signals only, so the matrix and venue panels are absent
and the chart plots the widest open spread per instrument instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from arbsniper.bus.inproc import Subscription
from arbsniper.config import VENUE_NAMES, DetectorConfig, WebConfig
from arbsniper.logs import RateLimited
from arbsniper.metrics import LatencyHistogram
from arbsniper.model import MARKET_NAMES, Signal

if TYPE_CHECKING:
    from arbsniper.engine import Engine

log = logging.getLogger("arbsniper.web")

PnlProvider = Callable[[], Mapping[str, Any] | None]
"""Paper-trading P&L for the page: a flat mapping (``realized``, ``unrealized``, ``currency`` …)
or None while there is nothing to show; the panel stays hidden until it returns a mapping."""

StatsProvider = Callable[[], Mapping[str, Any]]
"""Pipeline counters for the page (``events``, ``market_dropped``, ``signal_dropped`` …)."""

SignalListener = Callable[[list[dict[str, Any]]], Awaitable[None]]

RECENT_KEEP = 1000  # signals kept in memory for /api/history when no store is configured
URGENT_BURST = 4  # pushes for new opportunities that may go out back to back
URGENT_RATE = 2.0  # … and their sustained rate, in multiples of push_hz
CLIENT_MAX_PENDING = 32  # encoded pushes queued for one browser before it is resynced instead
LATENCY_WINDOW = 2048  # latest values behind the page's p50 / p99


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _round(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


class EngineView:
    """What the page shows of the embedded engine's market state: matrix, venue health, spreads.

    Reads ``engine.state`` arrays in place; call it from the loop that runs the engine.
    """

    def __init__(self, engine: Engine, bases: Iterable[str] = ()) -> None:
        self.engine = engine
        self.state = engine.state
        self.symbols = engine.symbols
        self._base_rank = {b: n for n, b in enumerate(bases)}

    def _layout(self) -> tuple[list[int], list[int]]:
        """Listings seen so far: instruments grouped by base then market, venues in the usual order."""
        st = self.state
        insts = [i for i in range(st.ni) if any(st.recv_ns[i][v] or st.book[i][v] is not None for v in range(st.nv))]
        venues = [v for v in range(st.nv) if any(st.recv_ns[i][v] or st.book[i][v] is not None for i in insts)]
        sym = self.symbols
        conv = {sym.instrument_id(n) for n in self.engine.config.conversion.sources.values()
                if sym.find_instrument(n) is not None}

        def inst_key(i: int) -> tuple[int, int, int, str]:
            inst = sym.instruments[i]
            return (1 if i in conv else 0, self._base_rank.get(inst.base, len(self._base_rank)), inst.kind, inst.name)

        def venue_key(v: int) -> tuple[int, str]:
            name = sym.venues[v]
            return (VENUE_NAMES.index(name) if name in VENUE_NAMES else len(VENUE_NAMES), name)

        return sorted(insts, key=inst_key), sorted(venues, key=venue_key)

    def matrix(self, now_ns: int) -> dict[str, Any]:
        """Best bid/ask per instrument × venue: ``cells[r][c] = [bid, ask, age_ms, tradable]`` or null."""
        st = self.state
        insts, venues = self._layout()
        cells = []
        for i in insts:
            row: list[list[Any] | None] = []
            bid, ask, recv, trad, book = st.bid[i], st.ask[i], st.recv_ns[i], st.tradable[i], st.book[i]
            for v in venues:
                if not recv[v] and book[v] is None:
                    row.append(None)
                    continue
                age = (now_ns - recv[v]) // 1_000_000 if recv[v] else None
                row.append([bid[v] if bid[v] > 0.0 else None, ask[v] if ask[v] < math.inf else None, age, trad[v]])
            cells.append(row)
        return {
            "instruments": [self.symbols.instruments[i].name for i in insts],
            "venues": [self.symbols.venues[v] for v in venues],
            "max_age_ms": [st.max_age_ns[v] // 1_000_000 for v in venues],
            "cells": cells,
        }

    def venues(self, now_ns: int) -> list[dict[str, Any]]:
        """Per venue: connection state per market, fresh listings, age of its newest quote, open legs."""
        st = self.state
        open_at = self.engine.lifecycle.open_at
        insts, venues = self._layout()
        out = []
        for v in venues:
            listed = [i for i in insts if st.recv_ns[i][v] or st.book[i][v] is not None]
            # A venue down before any data (no listing at start) still shows as down.
            kinds = sorted({st.kind[i] for i in listed}) or [k for k in (0, 1) if not st.venue_up[v][k]]
            markets = {MARKET_NAMES[k]: st.venue_up[v][k] for k in kinds}
            max_age = st.max_age_ns[v]
            last = max((st.recv_ns[i][v] for i in listed), default=0)
            fresh = sum(1 for i in listed if st.tradable[i][v] and now_ns - st.recv_ns[i][v] <= max_age)
            resyncing = any(not st.book_valid[i][v] for i in listed)
            if not all(markets.values()):
                state = "down"
            elif resyncing:
                state = "resyncing"
            elif fresh == 0:
                state = "stale"
            elif fresh < len(listed):
                state = "degraded"
            else:
                state = "up"
            out.append({
                "venue": self.symbols.venues[v],
                "state": state,
                "markets": markets,
                "listings": len(listed),
                "fresh": fresh,
                "last_quote_age_ms": (now_ns - last) // 1_000_000 if last else None,
                "open_legs": sum(open_at[i][v] for i in listed),
            })
        return out

    def spreads(self, now_ns: int) -> dict[str, float]:
        """Widest cross-venue spread (best bid vs best ask, bps) per instrument quoted fresh on ≥ 2 venues."""
        st = self.state
        out = {}
        for i in range(st.ni):
            best_bid, best_ask, n = 0.0, math.inf, 0
            bid, ask, recv, trad = st.bid[i], st.ask[i], st.recv_ns[i], st.tradable[i]
            for v in range(st.nv):
                if trad[v] and now_ns - recv[v] <= st.max_age_ns[v]:
                    n += 1
                    best_bid = max(best_bid, bid[v])
                    best_ask = min(best_ask, ask[v])
            if n >= 2:
                out[self.symbols.instruments[i].name] = round((best_bid - best_ask) / best_ask * 1e4, 2)
        return out


class Client:
    """One browser connection: the pushes it has not sent yet, or a pending resync."""

    def __init__(self, hub: Hub, max_pending: int = CLIENT_MAX_PENDING) -> None:
        self.hub = hub
        self.max_pending = max_pending
        self.pending: deque[str] = deque()
        self.snapshot_needed = True
        self.resyncs = 0
        self.closed = False
        self._wakeup = asyncio.Event()

    def push(self, text: str) -> None:
        if self.snapshot_needed:
            return  # the coming snapshot holds this change already
        if len(self.pending) >= self.max_pending:
            self.pending.clear()
            self.snapshot_needed = True
            self.resyncs += 1
        else:
            self.pending.append(text)
        self._wakeup.set()

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()

    async def next_messages(self) -> list[str]:
        """Wait for something to send: a snapshot, or the deltas queued since the last call.

        Empty once the client is closed and everything queued before has been handed out.
        """
        while not self.pending and not self.snapshot_needed and not self.closed:
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.snapshot_needed and not self.closed:
            self.snapshot_needed = False
            self.pending.clear()
            return [self.hub.snapshot_text()]
        out = list(self.pending)
        self.pending.clear()
        return out


class Hub:
    """Dashboard state fed by signals; pushes batched deltas to every connected client."""

    def __init__(
        self,
        *,
        mode: str,
        web: WebConfig | None = None,
        detector: DetectorConfig | None = None,
        market: EngineView | None = None,
        stats: StatsProvider | None = None,
        pnl: PnlProvider | None = None,
    ) -> None:
        web = web or WebConfig()
        self.mode = mode
        self.web = web
        self.detector = detector or DetectorConfig()
        self.market = market
        self.stats = stats
        self.pnl = pnl
        self.push_period = 1.0 / web.push_hz
        self.state_period = 1.0 / web.state_hz
        self.open: dict[str, dict[str, Any]] = {}
        self.closed: deque[dict[str, Any]] = deque(maxlen=web.closed_keep)
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_KEEP)
        self.chart: deque[dict[str, Any]] = deque(maxlen=int(web.chart_seconds * web.state_hz) + 1)
        self.clients: set[Client] = set()
        self.signal_listener: SignalListener | None = None  # the socket.io endpoint
        self.counts = {"open": 0, "update": 0, "close": 0}
        self.receive_to_signal = LatencyHistogram(window=LATENCY_WINDOW)  # the signals' latency_us
        self.signal_to_push = LatencyHistogram(window=LATENCY_WINDOW)  # signal timestamp → pushed to the browsers
        self.pushes = 0
        self.started = time.monotonic()
        self._upsert: dict[str, dict[str, Any]] = {}
        self._remove: set[str] = set()
        self._new: list[str] = []
        self._new_closed: list[dict[str, Any]] = []
        self._for_listener: list[dict[str, Any]] = []
        self._pending = False
        self._urgent = False  # a new opportunity is pending
        self._state: dict[str, Any] | None = None  # the last periodic state block
        self._rate_base: tuple[float, int, int] | None = None  # (t, signals, events) of the last state
        self._rates = {"signals_per_s": 0.0, "events_per_s": 0.0}
        self._wakeup = asyncio.Event()
        self._warn = RateLimited(log, 30.0)

    # -- signals in -------------------------------------------------------------------------
    def apply(self, s: Signal) -> None:
        """Fold one signal into the page's state (cold path; cheap)."""
        row = msgspec.to_builtins(s)
        ev = s.event
        self.counts[ev] = self.counts.get(ev, 0) + 1
        self.receive_to_signal.observe_s(s.latency_us / 1e6)
        self.recent.append(row)
        if self.signal_listener is not None:
            self._for_listener.append(row)
        sid = s.id
        if ev == "close":
            prev = self.open.pop(sid, None)
            row["opened_at"] = prev["opened_at"] if prev is not None else s.timestamp - s.duration_ms
            self._upsert.pop(sid, None)
            self._remove.add(sid)
            self.closed.appendleft(row)
            self._new_closed.append(row)
        else:
            prev = self.open.get(sid)
            row["opened_at"] = prev["opened_at"] if prev is not None else s.timestamp
            if prev is None:
                self._new.append(sid)
                self._urgent = True
            self.open[sid] = row
            self._upsert[sid] = row
        self._pending = True

    def apply_batch(self, batch: Iterable[Signal]) -> None:
        for s in batch:
            self.apply(s)
        if self._pending:
            self._wakeup.set()

    async def consume(self, sub: Subscription[Signal]) -> None:
        """Read a signal subscription until it closes."""
        while True:
            batch = await sub.get_batch()
            if not batch and sub.closed:
                return
            self.apply_batch(batch)

    # -- state ------------------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        r2e = self.receive_to_signal.percentiles(0.5, 0.99)
        e2p = self.signal_to_push.percentiles(0.5, 0.99)
        out: dict[str, Any] = {
            "open": len(self.open),
            "opened": self.counts["open"],
            "updated": self.counts["update"],
            "closed": self.counts["close"],
            "signals_per_s": round(self._rates["signals_per_s"], 1),
            "latency_p50_us": _round(r2e[0] * 1e6 if r2e[0] is not None else None, 1),
            "latency_p99_us": _round(r2e[1] * 1e6 if r2e[1] is not None else None, 1),
            "push_p50_ms": _round(e2p[0] * 1e3 if e2p[0] is not None else None, 1),
            "push_p99_ms": _round(e2p[1] * 1e3 if e2p[1] is not None else None, 1),
            "clients": len(self.clients),
            "uptime_s": round(time.monotonic() - self.started, 1),
        }
        if self.stats is not None:
            out.update(self.stats())
            out["events_per_s"] = round(self._rates["events_per_s"], 1)
        return out

    def _update_rates(self) -> None:
        now = time.monotonic()
        signals = sum(self.counts.values())
        events = int(self.stats().get("events", 0)) if self.stats is not None else 0
        if self._rate_base is not None:
            t0, s0, e0 = self._rate_base
            dt = now - t0
            if dt >= 0.5:
                self._rates = {"signals_per_s": (signals - s0) / dt, "events_per_s": (events - e0) / dt}
                self._rate_base = (now, signals, events)
        else:
            self._rate_base = (now, signals, events)

    def _open_spreads(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for row in self.open.values():
            sym = row["symbol"]
            out[sym] = max(out.get(sym, -math.inf), round(row["spread_bps"], 2))
        return out

    def compute_state(self, chart: bool = True) -> dict[str, Any]:
        """The periodic block: matrix, venues, counters, P&L and one spread chart point.

        ``chart=False`` (a snapshot between ticks) leaves the chart series as it is.
        """
        now_ns = time.time_ns()
        self._update_rates()
        pnl = None
        if self.pnl is not None:
            try:
                got = self.pnl()
                pnl = dict(got) if got is not None else None
            except Exception as exc:  # a provider bug must not take the page down
                self._warn.warning("pnl", "P&L provider failed", error=repr(exc))
        if self.market is not None:
            matrix: dict[str, Any] | None = self.market.matrix(now_ns)
            venues: list[dict[str, Any]] | None = self.market.venues(now_ns)
            spreads = self.market.spreads(now_ns)
        else:
            matrix, venues, spreads = None, None, self._open_spreads()
        point = {"t": now_ns // 1_000_000, "v": spreads}
        if chart:
            self.chart.append(point)
        state = {
            "counters": self.counters(),
            "matrix": matrix,
            "venues": venues,
            "pnl": pnl,
            "spread": point if chart else None,
        }
        if chart:
            self._state = state
        return state

    def page_config(self) -> dict[str, Any]:
        d = self.detector
        return {
            "mode": self.mode,
            "min_spread_bps": d.min_spread_bps,
            "min_net_bps": d.min_net_bps,
            "max_quote_age_ms": d.max_quote_age_ms,
            "chart_seconds": self.web.chart_seconds,
            "push_hz": self.web.push_hz,
        }

    def open_rows(self, now_ms: int | None = None) -> list[dict[str, Any]]:
        """Open opportunities, best net edge first, each with its age."""
        now_ms = _now_ms() if now_ms is None else now_ms
        rows = sorted(self.open.values(), key=lambda r: r["net_bps"], reverse=True)
        return [{**r, "age_ms": max(0, now_ms - r["opened_at"])} for r in rows]

    def snapshot_text(self) -> str:
        """Everything a newly connected (or resynced) page needs, encoded."""
        state = self.compute_state(chart=False)
        msg = {
            "type": "snapshot",
            "now": _now_ms(),
            "config": self.page_config(),
            "open": list(self.open.values()),
            "closed": list(self.closed),
            "chart": list(self.chart),
            "state": state,
        }
        return orjson.dumps(msg).decode()

    # -- pushes out -------------------------------------------------------------------------
    def flush(self, with_state: bool) -> list[dict[str, Any]]:
        """Build one delta, hand it to every client; returns the signals for the listener."""
        now_ms = _now_ms()
        msg: dict[str, Any] = {"type": "delta", "now": now_ms}
        if self._pending:
            upsert = list(self._upsert.values())
            if self.clients:
                for row in upsert:
                    self.signal_to_push.observe_s(max(0, now_ms - row["timestamp"]) / 1e3)
                for row in self._new_closed:
                    self.signal_to_push.observe_s(max(0, now_ms - row["timestamp"]) / 1e3)
            msg["upsert"] = upsert
            msg["remove"] = list(self._remove)
            msg["closed"] = self._new_closed
            msg["new"] = [sid for sid in self._new if sid in self.open]
            self._upsert = {}
            self._remove = set()
            self._new = []
            self._new_closed = []
            self._pending = False
            self._urgent = False
        if with_state:
            msg["state"] = self.compute_state()
        for_listener, self._for_listener = self._for_listener, []
        if len(msg) > 2 and self.clients:
            text = orjson.dumps(msg).decode()
            for c in self.clients:
                c.push(text)
            self.pushes += 1
        return for_listener

    async def run(self) -> None:
        """Push batches: signals at most ``push_hz`` a second (leading edge) plus as many new
        opportunities at once; state at ``state_hz``."""
        loop = asyncio.get_running_loop()
        next_state = loop.time()
        last_push = -math.inf
        tokens, refilled = float(URGENT_BURST), next_state
        while True:
            now = loop.time()
            tokens = min(float(URGENT_BURST), tokens + (now - refilled) * URGENT_RATE / self.push_period)
            refilled = now
            due = next_state
            if self._pending:
                due = min(due, last_push + self.push_period)
                if self._urgent:
                    due = min(due, now + max(0.0, 1.0 - tokens) * self.push_period / URGENT_RATE)
            if now < due:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), due - now)
                continue
            with_state = now >= next_state
            if self._urgent:
                tokens = max(0.0, tokens - 1.0)
            if self._pending:
                last_push = now
            if with_state:
                next_state = now + self.state_period
            for_listener = self.flush(with_state)
            if for_listener and self.signal_listener is not None:
                try:
                    await self.signal_listener(for_listener)
                except Exception as exc:
                    self._warn.warning("listener", "signal listener failed", error=repr(exc))

    def connect(self) -> Client:
        client = Client(self)
        self.clients.add(client)
        return client

    def disconnect(self, client: Client) -> None:
        client.close()
        self.clients.discard(client)

    def close_clients(self) -> None:
        for c in list(self.clients):
            self.disconnect(c)
