"""What the trader knows of the market: books to fill and mark against, fees, lots, rates.

Embedded (``arbsniper run``): ``EngineMarketView`` reads the engine's live state, so a paper order
fills against the very book the detector sees at the moment the order arrives. Standalone
(``arbsniper trader --redis``) there is no engine in-process: ``SignalMarketView`` keeps a
one-level book per side from the signals themselves (the buy venue's ask and the sell venue's
bid at the signal's price, for the signal's size). That view has no depth beyond the signal's
size and knows only the sides signals mention, so exits wait until both closing sides are known.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.instruments import parse_instrument
from arbsniper.model import Book, Signal
from arbsniper.venues.metadata import InstrumentMeta

# Close reasons after which the slots a signal named must not be traded on.
_INVALIDATING = frozenset({"stale_quote", "venue_down", "book_resync", "no_quote"})


class MarketView(Protocol):
    def book(self, venue: str, instrument: str, now_ns: int) -> Book | None:
        """The current valid, fresh book of an instrument on a venue, or None (do not trade)."""
        ...

    def rate(self, currency: str, now_ns: int) -> float:
        """Value of one unit of ``currency`` in the reference currency (1.0 for the reference)."""
        ...

    def funding_rate_h(self, venue: str, instrument: str) -> float:
        """Current funding rate per hour of a perpetual (0.0 when unknown)."""
        ...


class MarketRules:
    """Fees, lot sizes, minimum sizes and notionals: the venues' metadata (``set_metadata``), with
    ``[venues.X] limits`` as the override (the same numbers the detector uses). Sizes in base units."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._cache: dict[tuple[str, str], tuple[float, float, float, float]] = {}
        self._listed: dict[tuple[str, str], InstrumentMeta] = {}

    def set_metadata(self, metas: Iterable[InstrumentMeta]) -> None:
        """Take each venue listing's lot, minimum size and minimum notional (start, refresh)."""
        for m in metas:
            self._listed[(m.venue, m.instrument)] = m
        self._cache.clear()

    def _get(self, venue: str, instrument: str) -> tuple[float, float, float, float]:
        key = (venue, instrument)
        r = self._cache.get(key)
        if r is None:
            inst = parse_instrument(instrument)
            meta = self._listed.get(key)
            lot, least, notional = (meta.lot_size, meta.min_size, meta.min_notional) if meta else (0.0, 0.0, 0.0)
            limits = self.config.venue(venue).limits.get(instrument)
            if limits is not None:
                lot, notional = limits.lot_size or lot, limits.min_notional or notional
            r = (self.config.taker_fee_bps(venue, inst.kind), lot, notional, least)
            self._cache[key] = r
        return r

    def fee_bps(self, venue: str, instrument: str) -> float:
        return self._get(venue, instrument)[0]

    def lot_size(self, venue: str, instrument: str) -> float:
        return self._get(venue, instrument)[1]

    def min_notional(self, venue: str, instrument: str) -> float:
        return self._get(venue, instrument)[2]

    def min_size(self, venue: str, instrument: str) -> float:
        """Smallest order in base units (0: none known)."""
        return self._get(venue, instrument)[3]


class EngineMarketView:
    """Reads ``engine.state``: a book is returned only while its slot is tradable and fresh."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = engine.state
        self.symbols = engine.symbols

    def book(self, venue: str, instrument: str, now_ns: int) -> Book | None:
        v = self.symbols.find_venue(venue)
        i = self.symbols.find_instrument(instrument)
        st = self.state
        if v is None or i is None or i >= st.ni or v >= st.nv or not st.tradable[i][v]:
            return None
        max_age = st.max_age_ns[v]
        if now_ns - st.recv_ns[i][v] > max_age:
            return None
        b = st.book[i][v]
        if b is not None and now_ns - b.recv_ts_ns <= max_age:
            return b
        # Only a BBO is known here: its top level is all the depth there is.
        return Book(v, i, [(st.bid[i][v], st.bid_size[i][v])], [(st.ask[i][v], st.ask_size[i][v])],
                    st.exch_ns[i][v], st.recv_ns[i][v], st.seq[i][v])

    def rate(self, currency: str, now_ns: int) -> float:
        conv = self.engine.conversion
        cid = self.symbols.find_currency(currency)
        if cid is None or cid >= len(conv.rate):
            return 1.0
        r = conv.rate[cid]
        return r if r > 0.0 else 1.0

    def funding_rate_h(self, venue: str, instrument: str) -> float:
        v = self.symbols.find_venue(venue)
        i = self.symbols.find_instrument(instrument)
        if v is None or i is None or i >= self.state.ni or v >= self.state.nv:
            return 0.0
        return self.state.funding_h[i][v]


class SignalMarketView:
    """A one-level book per (venue, instrument, side) built from the signals a standalone trader reads."""

    def __init__(self, config: Config) -> None:
        self.config = config
        # (venue, instrument) -> [bid level or None, ask level or None, bid ts_ns, ask ts_ns]
        self._sides: dict[tuple[str, str], list] = {}
        self._rates: dict[str, float] = {}

    def on_signal(self, s: Signal) -> None:
        """Learn the buy venue's ask and the sell venue's bid from an open/update; forget on a bad close."""
        buy = self._sides.setdefault((s.buy_exchange, s.buy_instrument), [None, None, 0, 0])
        sell = self._sides.setdefault((s.sell_exchange, s.sell_instrument), [None, None, 0, 0])
        ts = s.timestamp * 1_000_000
        if s.event == "close":
            if s.close_reason in _INVALIDATING:
                buy[1] = None
                sell[0] = None
            return
        if ts >= buy[3]:
            buy[1], buy[3] = (s.buy_price, s.size), ts
        if ts >= sell[2]:
            sell[0], sell[2] = (s.sell_price, s.size), ts

    def book(self, venue: str, instrument: str, now_ns: int) -> Book | None:
        sides = self._sides.get((venue, instrument))
        if sides is None:
            return None
        max_age = self.config.max_quote_age_ns(venue)
        bid = [sides[0]] if sides[0] is not None and now_ns - sides[2] <= max_age else []
        ask = [sides[1]] if sides[1] is not None and now_ns - sides[3] <= max_age else []
        if not bid and not ask:
            return None
        return Book(-1, -1, bid, ask, max(sides[2], sides[3]), max(sides[2], sides[3]))

    def rate(self, currency: str, now_ns: int) -> float:
        # No conversion market is visible from signals: USD stablecoins count at par (documented).
        return 1.0

    def funding_rate_h(self, venue: str, instrument: str) -> float:
        # Signals carry the funding difference of a pair, not each venue's rate: no accrual standalone.
        return 0.0
