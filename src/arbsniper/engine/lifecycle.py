"""Opportunity lifecycle: open, update, close, keyed by (buy slot, sell slot).

An opportunity opens the first time a pair qualifies, is re-announced (``update``) only when its
numbers move materially, and closes with the reason it stopped qualifying and how long it lived.
Durations are what tell a user whether an edge is capturable.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap
from arbsniper.model import Signal

# Close reasons (and the reasons a pair fails to qualify).
SPREAD_GONE = "spread_gone"
UNPROFITABLE = "unprofitable"
STALE_QUOTE = "stale_quote"
VENUE_DOWN = "venue_down"
BOOK_RESYNC = "book_resync"
NO_QUOTE = "no_quote"  # a slot's quote was cleared (crossed or invalid update)
RATE_UNAVAILABLE = "rate_unavailable"  # conversion rate missing, stale or depegged
SUSPECT = "suspect"  # spread beyond max_sane_spread_bps: never tradable
TOO_SMALL = "too_small"  # below lot size or minimum notional
LOW_CONFIDENCE = "low_confidence"
FUNDING_BELOW_MIN = "funding_below_min"
DENIED = "denied"
SHUTDOWN = "shutdown"

# Metrics tuple layout produced by the detector for a qualifying pair.
M_SPREAD, M_FEES, M_SLIP, M_FUNDING, M_NET, M_SIZE, M_PROFIT, M_CONF, M_FD8, M_BUY, M_SELL, M_F = range(12)

# An opportunity's key is one int for (buy instrument, buy venue, sell instrument, sell venue):
# (((ia << SLOT_BITS | a) << INST_BITS | ib) << SLOT_BITS) | b, computed in the detector.
SLOT_BITS = 6  # up to 64 venues
INST_BITS = 20


class OpenOpportunity:
    __slots__ = ("id", "ia", "a", "ib", "b", "opened_ns", "metrics", "detected_ms")

    def __init__(self, oid: str, ia: int, a: int, ib: int, b: int, opened_ns: int, metrics: tuple, detected_ms: int) -> None:
        self.id = oid
        self.ia = ia
        self.a = a
        self.ib = ib
        self.b = b
        self.opened_ns = opened_ns
        self.metrics = metrics
        self.detected_ms = detected_ms


class Lifecycle:
    """Tracks open opportunities and emits their SPEC §6 signals through ``emit``."""

    def __init__(
        self,
        symbols: SymbolMap,
        config: Config,
        emit: Callable[[Signal], None],
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.symbols = symbols
        self.emit = emit
        self.clock_ns = clock_ns
        self.update_min_bps = config.detector.update_min_bps
        self.update_min_size = config.detector.update_min_size_pct / 100.0
        self.open: dict[int, OpenOpportunity] = {}
        self.open_at: list[list[int]] = []  # per (instrument, venue): open opportunities touching it
        self.open_keys: list[list[set[int]]] = []  # per (instrument, venue): their keys
        self._names: dict[tuple[int, int, int, int], tuple[str, str, str, str, str, str]] = {}
        self.opened = 0
        self.updated = 0
        self.closed = 0
        self.close_reasons: dict[str, int] = {}
        self.grow()

    def grow(self) -> None:
        nv, ni = len(self.symbols.venues), len(self.symbols.instruments)
        while len(self.open_at) < ni:
            self.open_at.append([])
            self.open_keys.append([])
        for row in self.open_at:
            row.extend([0] * (nv - len(row)))
        for krow in self.open_keys:
            krow.extend(set() for _ in range(nv - len(krow)))

    def qualify(self, key: int, ia: int, a: int, ib: int, b: int, m: tuple, now_ns: int, exch_ns: int, recv_ns: int) -> None:
        """The pair qualifies now: open it, or re-announce it if its numbers moved materially."""
        o = self.open.get(key)
        if o is None:
            sym = self.symbols
            if ib != ia:
                oid = f"{sym.instruments[ia].name}|{sym.instruments[ib].name}:{sym.venues[a]}>{sym.venues[b]}:{now_ns}"
            else:
                oid = f"{sym.instruments[ia].name}:{sym.venues[a]}>{sym.venues[b]}:{now_ns}"
            o = OpenOpportunity(oid, ia, a, ib, b, now_ns, m, (exch_ns or recv_ns) // 1_000_000)
            self.open[key] = o
            self.open_at[ia][a] += 1
            self.open_at[ib][b] += 1
            self.open_keys[ia][a].add(key)
            self.open_keys[ib][b].add(key)
            self.opened += 1
            self.emit(self._signal(o, "open", m, recv_ns, None, 0))
            return
        last = o.metrics
        if abs(m[M_NET] - last[M_NET]) >= self.update_min_bps or abs(m[M_SIZE] - last[M_SIZE]) > last[M_SIZE] * self.update_min_size:
            o.metrics = m
            o.detected_ms = (exch_ns or recv_ns) // 1_000_000
            self.updated += 1
            self.emit(self._signal(o, "update", m, recv_ns, None, 0))

    def close(self, key: int, reason: str, now_ns: int, recv_ns: int) -> None:
        """The pair stopped qualifying: close it with its reason and duration."""
        o = self.open.pop(key, None)
        if o is None:
            return
        self.open_at[o.ia][o.a] -= 1
        self.open_at[o.ib][o.b] -= 1
        self.open_keys[o.ia][o.a].discard(key)
        self.open_keys[o.ib][o.b].discard(key)
        self.closed += 1
        self.close_reasons[reason] = self.close_reasons.get(reason, 0) + 1
        duration_ms = max(0, (now_ns - o.opened_ns) // 1_000_000)
        self.emit(self._signal(o, "close", o.metrics, recv_ns, reason, duration_ms))

    def _signal(self, o: OpenOpportunity, event: str, m: tuple, recv_ns: int, reason: str | None, duration_ms: int) -> Signal:
        names = self._names.get((o.ia, o.a, o.ib, o.b))
        if names is None:
            names = self._names[(o.ia, o.a, o.ib, o.b)] = self._pair_names(o.ia, o.a, o.ib, o.b)
        action, symbol, buy_venue, sell_venue, sell_symbol, quote_ccy = names
        now = self.clock_ns()
        spread_bps = m[M_SPREAD]
        buy_price = m[M_BUY]
        sell_price = m[M_SELL]
        return Signal(
            action=action,
            symbol=symbol,
            spread_pct=round(spread_bps / 100.0, 4),
            buy_price=buy_price,
            sell_price=sell_price,
            profit_estimate=sell_price * m[M_F] - buy_price,
            timestamp=now // 1_000_000,
            detected_at=o.detected_ms,
            id=o.id,
            event=event,
            buy_exchange=buy_venue,
            sell_exchange=sell_venue,
            spread_bps=spread_bps,
            fees_bps=m[M_FEES],
            slippage_bps=m[M_SLIP],
            funding_bps=m[M_FUNDING],
            net_bps=m[M_NET],
            size=m[M_SIZE],
            profit_quote=m[M_PROFIT],
            confidence=m[M_CONF],
            latency_us=(now - recv_ns) / 1000.0 if now > recv_ns else 0.0,
            close_reason=reason,
            duration_ms=duration_ms,
            buy_instrument=symbol,
            sell_instrument=sell_symbol,
            quote_currency=quote_ccy,
            conversion_rate=m[M_F],
            funding_delta=m[M_FD8],
        )

    def _pair_names(self, ia: int, a: int, ib: int, b: int) -> tuple[str, str, str, str, str, str]:
        sym = self.symbols
        buy_venue, sell_venue = sym.venues[a], sym.venues[b]
        buy_inst = sym.instruments[ia]
        return (f"BUY_{buy_venue.upper()}_SELL_{sell_venue.upper()}", buy_inst.name, buy_venue, sell_venue,
                sym.instruments[ib].name, buy_inst.quote)

    def counters(self) -> dict[str, int]:
        return {"open": len(self.open), "opened": self.opened, "updated": self.updated, "closed": self.closed}
