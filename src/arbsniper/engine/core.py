"""The engine: market state + detector + lifecycle behind one ``on_event`` call.

It knows nothing of asyncio or I/O; whoever drives it (the embedded app, a distributed engine
shard, a replay, the benchmark) feeds events in order and receives signals through ``emit``.
Each event runs one straight line: ``MarketState`` applies it, the ``Detector`` judges the pairs it
touches and returns verdicts, the ``Lifecycle`` opens / updates / closes and emits. The event's
stamps go to the lifecycle as arguments. Its notion of "now" is the receive time of the event
being processed, so a replay judges staleness exactly as the live run did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from arbsniper.config import Config
from arbsniper.engine.detector import Detector
from arbsniper.engine.lifecycle import SHUTDOWN, Lifecycle
from arbsniper.engine.state import Conversion, MarketState
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Funding, MarketEvent, Quote, Signal, VenueStatus
from arbsniper.venues.metadata import InstrumentMeta


class Engine:
    """Feeds normalized events through state → detector → lifecycle; signals go to ``emit``."""

    def __init__(
        self,
        symbols: SymbolMap,
        config: Config,
        emit: Callable[[Signal], None],
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.symbols = symbols
        self.config = config
        self.conversion = Conversion(symbols, config)  # registers the rate source instruments
        self.state = MarketState(symbols, config)
        self.lifecycle = Lifecycle(symbols, config, emit, clock_ns)
        self.detector = Detector(self.state, self.conversion, config, self.lifecycle.open, self.lifecycle.open_keys)
        self.events = 0

    def grow(self) -> None:
        """Take in venues and instruments added to the symbol map since construction."""
        self.conversion.grow(self.symbols)
        self.state.grow()
        self.lifecycle.grow()
        self.detector.grow()

    def set_metadata(self, metas: Iterable[InstrumentMeta]) -> None:
        """Push each venue listing's lot, minimum size, minimum notional and tick into the
        detector's per-slot arrays (cold path: at start and after a metadata refresh; the hot
        path only reads numbers). ``[venues.X] limits`` in the config still overrides them."""
        listed = [(self.symbols.instrument_id(m.instrument), self.symbols.venue_id(m.venue), m) for m in metas]
        self.grow()
        for i, v, m in listed:
            self.state.set_limits(i, v, m.lot_size, m.min_size, m.min_notional, m.tick_size)

    def on_event(self, ev: MarketEvent) -> None:
        """Process one normalized event (hot path): state → detector → lifecycle."""
        if type(ev) is Quote:  # most events
            q = ev
            self.events += 1
            self.state.has_bbo[q.instrument][q.venue] = True  # the slot has its own BBO stream
        elif type(ev) is Book:
            implied = self._book(ev)
            if implied is None:
                return
            q = implied
        elif type(ev) is Funding:
            self._funding(ev)
            return
        elif type(ev) is VenueStatus:
            self._status(ev)
            return
        else:
            raise TypeError(f"not a market event: {ev!r}")
        # The one quote path (the venue's own quote, or a book's top), here to save a call.
        i = q.instrument
        v = q.venue
        now = q.recv_ts_ns
        if self.state.apply_quote(q):
            src = self.conversion.is_source[i]
            if src >= 0:
                self.conversion.on_quote(src, q.bid, q.ask, now)
            verdicts = self.detector.scan(i, v, now)
            if verdicts:
                self.lifecycle.apply(verdicts, q.exchange_ts_ns, now)
        elif self.lifecycle.open_at[i][v]:
            # A refused quote (a crossed one clears the slot): whatever relied on the slot is
            # judged again. No new tick stands behind these verdicts, hence no exchange time.
            verdicts = self.detector.recheck_slot(i, v, now)
            if verdicts:
                self.lifecycle.apply(verdicts, 0, now)

    def _book(self, b: Book) -> Quote | None:
        # Depth for size and slippage; returns the quote its top implies, for the quote path.
        self.events += 1
        st = self.state
        q = st.apply_book(b)
        if q is not None:
            return q
        i, v = b.instrument, b.venue
        if st.book[i][v] is b and self.lifecycle.open_at[i][v]:
            # New depth changes size and slippage of what is open here.
            verdicts = self.detector.scan(i, v, b.recv_ts_ns)
            if verdicts:
                self.lifecycle.apply(verdicts, b.exchange_ts_ns, b.recv_ts_ns)
        return None

    def _funding(self, f: Funding) -> None:
        self.events += 1
        self.state.apply_funding(f)
        verdicts = self.detector.scan(f.instrument, f.venue, f.recv_ts_ns)
        if verdicts:
            self.lifecycle.apply(verdicts, f.exchange_ts_ns, f.recv_ts_ns)

    def _status(self, s: VenueStatus) -> None:
        self.events += 1
        now = s.recv_ts_ns
        for i, v in self.state.apply_status(s):
            verdicts = self.detector.recheck_slot(i, v, now)
            if verdicts:
                self.lifecycle.apply(verdicts, 0, now)

    def expire(self, now_ns: int) -> None:
        """Close what went stale without any update arriving (call every ~100 ms)."""
        verdicts = self.detector.recheck_all(now_ns)
        if verdicts:
            self.lifecycle.apply(verdicts, 0, now_ns)

    def close_all(self, now_ns: int, reason: str = SHUTDOWN) -> None:
        """Close every open opportunity (clean shutdown), so history has each one's end."""
        self.lifecycle.close_all(now_ns, reason)

    def stats(self) -> dict[str, object]:
        return {
            "events": self.events,
            **self.state.counters(),
            **self.lifecycle.counters(),
            "suspect": self.detector.suspect,
            "evaluated": self.detector.evaluated,
            "rejected": dict(self.detector.rejected),
            "close_reasons": dict(self.lifecycle.close_reasons),
        }
