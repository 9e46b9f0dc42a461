"""Opportunity lifecycle: open, update, close, keyed by (buy slot, sell slot).

The detector judges; the lifecycle acts. ``apply`` takes the detector's verdicts for one event
and the event's stamps: a qualifying pair opens the first time, is re-announced (``update``) only
when its numbers move materially, and an open pair that stopped qualifying closes with its reason
and how long it lived. Durations are what tell a user whether an edge is capturable.

The lifecycle owns the opportunity key (``opportunity_key``) and the open pairs; the detector
reads ``open`` and ``open_keys`` to re-judge what is open, and changes nothing here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from arbsniper.config import Config
from arbsniper.engine.verdicts import Metrics, Verdict
from arbsniper.instruments import SymbolMap
from arbsniper.model import Signal

# Close reasons (and the reasons a pair fails to qualify).
SPREAD_GONE = "spread_gone"
UNPROFITABLE = "unprofitable"
STALE_QUOTE = "stale_quote"
VENUE_DOWN = "venue_down"
BOOK_RESYNC = "book_resync"
INSTRUMENT_HALTED = "instrument_halted"  # the venue halted or delisted one leg's instrument
NO_QUOTE = "no_quote"  # a slot's quote was cleared (crossed or invalid update)
RATE_UNAVAILABLE = "rate_unavailable"  # conversion rate missing, stale or depegged
SUSPECT = "suspect"  # spread beyond max_sane_spread_bps: never tradable
TOO_SMALL = "too_small"  # below lot size or minimum notional
LOW_CONFIDENCE = "low_confidence"
FUNDING_BELOW_MIN = "funding_below_min"
DENIED = "denied"
SHUTDOWN = "shutdown"

_VENUE_BITS = 6  # up to 64 venues
_INSTRUMENT_BITS = 20  # up to ~1M instruments
MAX_VENUES = 1 << _VENUE_BITS
MAX_INSTRUMENTS = 1 << _INSTRUMENT_BITS


def opportunity_key(buy_instrument: int, buy_venue: int, sell_instrument: int, sell_venue: int) -> int:
    """The one int naming a pair (buy instrument at a venue, sell instrument at a venue).

    A packed int hashes and compares faster than a 4-tuple and needs no tuple per lookup.
    """
    return (((buy_instrument << _VENUE_BITS | buy_venue) << _INSTRUMENT_BITS | sell_instrument) << _VENUE_BITS) | sell_venue


class OpenOpportunity:
    """An open pair: its id, legs, when it opened, and the numbers it was last announced with."""

    __slots__ = ("id", "buy_instrument", "buy_venue", "sell_instrument", "sell_venue", "opened_ns", "metrics",
                 "detected_ms")

    def __init__(self, oid: str, buy_instrument: int, buy_venue: int, sell_instrument: int, sell_venue: int,
                 opened_ns: int, metrics: Metrics, detected_ms: int) -> None:
        self.id = oid
        self.buy_instrument = buy_instrument
        self.buy_venue = buy_venue
        self.sell_instrument = sell_instrument
        self.sell_venue = sell_venue
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
        self._names: dict[int, tuple[str, str, str, str, str, str]] = {}
        self.opened = 0
        self.updated = 0
        self.closed = 0
        self.close_reasons: dict[str, int] = {}
        self.grow()

    def grow(self) -> None:
        """Extend the per-slot tables in place (the detector holds ``open_keys``)."""
        nv, ni = len(self.symbols.venues), len(self.symbols.instruments)
        if nv > MAX_VENUES or ni > MAX_INSTRUMENTS:
            raise ValueError(f"opportunity keys hold {MAX_VENUES} venues and {MAX_INSTRUMENTS} instruments, "
                             f"not {nv} and {ni}")
        while len(self.open_at) < ni:
            self.open_at.append([])
            self.open_keys.append([])
        for row in self.open_at:
            row.extend([0] * (nv - len(row)))
        for krow in self.open_keys:
            krow.extend(set() for _ in range(nv - len(krow)))

    def apply(self, verdicts: Iterable[Verdict], exchange_ts_ns: int, recv_ts_ns: int) -> None:
        """Act on the detector's verdicts for one event, in order: open, update or close, and emit.

        ``recv_ts_ns`` is the event's receive time (the engine's "now"); ``exchange_ts_ns`` the
        venue's time of the tick behind it, 0 when the verdicts come from no new tick (a status,
        a refused quote, expiry): then ``detected_at`` falls back to the receive time.
        """
        for verdict in verdicts:
            if verdict.metrics is None:
                self.close(verdict.key, verdict.reason, recv_ts_ns)
            else:
                self.qualify(verdict, verdict.metrics, exchange_ts_ns, recv_ts_ns)

    def qualify(self, verdict: Verdict, m: Metrics, exchange_ts_ns: int, recv_ts_ns: int) -> None:
        """The pair qualifies now: open it, or re-announce it if its numbers moved materially."""
        key = verdict.key
        o = self.open.get(key)
        if o is None:
            ia, a, ib, b = verdict.buy_instrument, verdict.buy_venue, verdict.sell_instrument, verdict.sell_venue
            sym = self.symbols
            if ib != ia:
                oid = f"{sym.instruments[ia].name}|{sym.instruments[ib].name}:{sym.venues[a]}>{sym.venues[b]}:{recv_ts_ns}"
            else:
                oid = f"{sym.instruments[ia].name}:{sym.venues[a]}>{sym.venues[b]}:{recv_ts_ns}"
            o = OpenOpportunity(oid, ia, a, ib, b, recv_ts_ns, m, (exchange_ts_ns or recv_ts_ns) // 1_000_000)
            self.open[key] = o
            self.open_at[ia][a] += 1
            self.open_at[ib][b] += 1
            self.open_keys[ia][a].add(key)
            self.open_keys[ib][b].add(key)
            self.opened += 1
            self.emit(self._signal(key, o, "open", m, recv_ts_ns, None, 0))
            return
        last = o.metrics
        if abs(m.net_bps - last.net_bps) >= self.update_min_bps or abs(m.size - last.size) > last.size * self.update_min_size:
            o.metrics = m
            o.detected_ms = (exchange_ts_ns or recv_ts_ns) // 1_000_000
            self.updated += 1
            self.emit(self._signal(key, o, "update", m, recv_ts_ns, None, 0))

    def close(self, key: int, reason: str, now_ns: int) -> None:
        """The pair stopped qualifying at ``now_ns``: close it with its reason and duration."""
        o = self.open.pop(key, None)
        if o is None:
            return
        self.open_at[o.buy_instrument][o.buy_venue] -= 1
        self.open_at[o.sell_instrument][o.sell_venue] -= 1
        self.open_keys[o.buy_instrument][o.buy_venue].discard(key)
        self.open_keys[o.sell_instrument][o.sell_venue].discard(key)
        self.closed += 1
        self.close_reasons[reason] = self.close_reasons.get(reason, 0) + 1
        duration_ms = max(0, (now_ns - o.opened_ns) // 1_000_000)
        self.emit(self._signal(key, o, "close", o.metrics, now_ns, reason, duration_ms))

    def close_all(self, now_ns: int, reason: str = SHUTDOWN) -> None:
        """Close every open opportunity (clean shutdown), so history has each one's end."""
        for key in list(self.open):
            self.close(key, reason, now_ns)

    def _signal(self, key: int, o: OpenOpportunity, event: str, m: Metrics, recv_ns: int, reason: str | None,
                duration_ms: int) -> Signal:
        names = self._names.get(key)
        if names is None:
            names = self._names[key] = self._pair_names(o)
        action, symbol, buy_venue, sell_venue, sell_symbol, quote_ccy = names
        now = self.clock_ns()
        spread_bps = m.spread_bps
        buy_price = m.buy_price
        sell_price = m.sell_price
        return Signal(
            action=action,
            symbol=symbol,
            spread_pct=round(spread_bps / 100.0, 4),
            buy_price=buy_price,
            sell_price=sell_price,
            profit_estimate=sell_price * m.conversion_rate - buy_price,
            timestamp=now // 1_000_000,
            detected_at=o.detected_ms,
            id=o.id,
            event=event,
            buy_exchange=buy_venue,
            sell_exchange=sell_venue,
            spread_bps=spread_bps,
            fees_bps=m.fees_bps,
            slippage_bps=m.slippage_bps,
            funding_bps=m.funding_bps,
            net_bps=m.net_bps,
            size=m.size,
            profit_quote=m.profit_quote,
            confidence=m.confidence,
            latency_us=(now - recv_ns) / 1000.0 if now > recv_ns else 0.0,
            close_reason=reason,
            duration_ms=duration_ms,
            buy_instrument=symbol,
            sell_instrument=sell_symbol,
            quote_currency=quote_ccy,
            conversion_rate=m.conversion_rate,
            funding_delta=m.funding_delta,
        )

    def _pair_names(self, o: OpenOpportunity) -> tuple[str, str, str, str, str, str]:
        sym = self.symbols
        buy_venue, sell_venue = sym.venues[o.buy_venue], sym.venues[o.sell_venue]
        buy_inst = sym.instruments[o.buy_instrument]
        return (f"BUY_{buy_venue.upper()}_SELL_{sell_venue.upper()}", buy_inst.name, buy_venue, sell_venue,
                sym.instruments[o.sell_instrument].name, buy_inst.quote)

    def counters(self) -> dict[str, int]:
        return {"open": len(self.open), "opened": self.opened, "updated": self.updated, "closed": self.closed}
