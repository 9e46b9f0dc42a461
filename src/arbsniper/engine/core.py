"""The engine: market state + detector + lifecycle behind one ``on_event`` call.

It knows nothing of asyncio or I/O; whoever drives it (the embedded app, a distributed engine
shard, a replay, the benchmark) feeds events in order and receives signals through ``emit``.
Its notion of "now" is the receive time of the event being processed, so a replay judges
staleness exactly as the live run did.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from arbsniper.config import Config
from arbsniper.engine.detector import Detector
from arbsniper.engine.lifecycle import SHUTDOWN, Lifecycle
from arbsniper.engine.state import Conversion, MarketState
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Funding, MarketEvent, Quote, Signal, VenueStatus


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
        self.detector = Detector(self.state, self.conversion, self.lifecycle, config)
        self.events = 0

    def grow(self) -> None:
        """Take in venues and instruments added to the symbol map since construction."""
        self.conversion.grow(self.symbols)
        self.state.grow()
        self.lifecycle.grow()
        self.detector.grow()

    def on_event(self, ev: MarketEvent) -> None:
        """Process one normalized event (hot path)."""
        t = type(ev)
        if t is Quote:
            self.on_quote(ev)  # type: ignore[arg-type]
        elif t is Book:
            self.on_book(ev)  # type: ignore[arg-type]
        elif t is Funding:
            self.on_funding(ev)  # type: ignore[arg-type]
        elif t is VenueStatus:
            self.on_status(ev)  # type: ignore[arg-type]
        else:
            raise TypeError(f"not a market event: {ev!r}")

    def on_quote(self, q: Quote) -> None:
        self.events += 1
        i = q.instrument
        v = q.venue
        st = self.state
        st.has_bbo[i][v] = True
        if st.apply_quote(q):
            if self.conversion.is_source[i] >= 0:
                self.conversion.on_quote(self.conversion.is_source[i], q.bid, q.ask, q.recv_ts_ns)
            self.detector.scan(i, v, q.recv_ts_ns, q.exchange_ts_ns)
        elif self.lifecycle.open_at[i][v]:
            # A crossed or invalid quote cleared the slot: whatever relied on it closes now.
            self.detector.recheck_slot(i, v, q.recv_ts_ns)

    def on_book(self, b: Book) -> None:
        self.events += 1
        st = self.state
        q = st.apply_book(b)
        i, v = b.instrument, b.venue
        if q is not None:
            if st.apply_quote(q):
                if self.conversion.is_source[i] >= 0:
                    self.conversion.on_quote(self.conversion.is_source[i], q.bid, q.ask, q.recv_ts_ns)
                self.detector.scan(i, v, b.recv_ts_ns, b.exchange_ts_ns)
            elif self.lifecycle.open_at[i][v]:
                self.detector.recheck_slot(i, v, b.recv_ts_ns)
        elif st.book[i][v] is b and self.lifecycle.open_at[i][v]:
            # New depth changes size and slippage of what is open here.
            self.detector.scan(i, v, b.recv_ts_ns, b.exchange_ts_ns)

    def on_funding(self, f: Funding) -> None:
        self.events += 1
        self.state.apply_funding(f)
        self.detector.scan(f.instrument, f.venue, f.recv_ts_ns, f.exchange_ts_ns)

    def on_status(self, s: VenueStatus) -> None:
        self.events += 1
        for i, v in self.state.apply_status(s):
            self.detector.recheck_slot(i, v, s.recv_ts_ns)

    def expire(self, now_ns: int) -> None:
        """Close what went stale without any update arriving (call every ~100 ms)."""
        if self.lifecycle.open:
            self.detector.recheck_all(now_ns)

    def close_all(self, now_ns: int, reason: str = SHUTDOWN) -> None:
        """Close every open opportunity (clean shutdown), so history has each one's end."""
        for key in list(self.lifecycle.open):
            self.lifecycle.close(key, reason, now_ns, now_ns)

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
