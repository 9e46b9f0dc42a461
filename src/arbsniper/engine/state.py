"""Market state: the latest quote, book and funding per (instrument, venue), in arrays.

``bid[i][v]`` is the best bid of instrument id ``i`` on venue id ``v``; every per-slot field has the
same shape, so the detector reads a venue's row with two list indexings and no hashing. Venue
health (up/down), book validity and the deny list fold into one ``tradable[i][v]`` flag.
``max_bid[i]`` / ``min_ask[i]`` always equal ``max(bid[i])`` / ``min(ask[i])``: only
``apply_quote`` and ``clear_quote`` write prices, and they keep them so.
"""

from __future__ import annotations

import math

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap
from arbsniper.model import ANY, DOWN, HALTED, PERP, RESYNCING, UP, Book, Funding, Quote, VenueStatus

INF = math.inf


class MarketState:
    """Latest market data in dense arrays; counts what it refuses and why."""

    def __init__(self, symbols: SymbolMap, config: Config) -> None:
        self.symbols = symbols
        self.config = config
        self.nv = 0
        self.ni = 0
        # per instrument, per venue
        self.bid: list[list[float]] = []
        self.ask: list[list[float]] = []
        self.bid_size: list[list[float]] = []
        self.ask_size: list[list[float]] = []
        self.recv_ns: list[list[int]] = []
        self.exch_ns: list[list[int]] = []
        self.seq: list[list[int]] = []
        self.book: list[list[Book | None]] = []
        self.funding_h: list[list[float]] = []  # funding rate per hour (perp legs)
        self.fee_bps: list[list[float]] = []
        self.lot: list[list[float]] = []  # order size step, base units (0: none known)
        self.min_size: list[list[float]] = []  # smallest order, base units
        self.min_notional: list[list[float]] = []  # smallest order value, quote currency
        self.tick: list[list[float]] = []  # price step, quote currency (for the executor)
        # per slot, what the venue's metadata says (``set_limits``); config limits override it
        self._listed: dict[tuple[int, int], tuple[float, float, float, float]] = {}
        self.tradable: list[list[bool]] = []
        self.book_valid: list[list[bool]] = []
        self.has_bbo: list[list[bool]] = []  # the slot has a dedicated BBO stream
        self.halted: list[list[bool]] = []  # the venue halted or delisted the instrument (cold path only)
        # per instrument, kept equal to max(bid[i]) and min(ask[i]) by every write (the
        # detector's pre-filter reads them; max()/min() over a row cost more than the rest of it)
        self.max_bid: list[float] = []
        self.min_ask: list[float] = []
        # per venue
        self.max_age_ns: list[int] = []
        self.venue_up: list[list[bool]] = []  # [venue][kind]
        # per instrument
        self.kind: list[int] = []
        self.quote_ccy: list[int] = []
        self.denied: list[bool] = []
        # counters
        self.quotes = 0
        self.books = 0
        self.fundings = 0
        self.statuses = 0
        self.out_of_order = 0
        self.crossed = 0
        self.invalid = 0
        self.ignored_down = 0
        self.grow()

    # -- shape -----------------------------------------------------------------------------
    def grow(self) -> None:
        """Extend the arrays to every venue and instrument the symbol map knows (cold path)."""
        cfg = self.config
        nv, ni = len(self.symbols.venues), len(self.symbols.instruments)
        deny = set(cfg.detector.deny)
        for v in range(self.nv, nv):
            name = self.symbols.venues[v]
            self.max_age_ns.append(cfg.max_quote_age_ns(name))
            self.venue_up.append([True, True])
        for i in range(self.ni, ni):
            inst = self.symbols.instruments[i]
            self.kind.append(inst.kind)
            self.quote_ccy.append(self.symbols.currency_id(inst.quote))
            self.denied.append(inst.name in deny)
            self.max_bid.append(0.0)
            self.min_ask.append(INF)
        slot_arrays = (
            (self.bid, 0.0), (self.ask, INF), (self.bid_size, 0.0), (self.ask_size, 0.0),
            (self.recv_ns, 0), (self.exch_ns, 0), (self.seq, 0), (self.book, None),
            (self.funding_h, 0.0), (self.fee_bps, 0.0), (self.lot, 0.0), (self.min_notional, 0.0),
            (self.min_size, 0.0), (self.tick, 0.0),
            (self.tradable, False), (self.book_valid, True), (self.has_bbo, False),
            (self.halted, False),
        )
        for arr, fill in slot_arrays:
            while len(arr) < ni:
                arr.append([])
            for row in arr:
                row.extend([fill] * (nv - len(row)))  # type: ignore[list-item]
        for i in range(ni):
            inst = self.symbols.instruments[i]
            for v in range(nv):
                vname = self.symbols.venues[v]
                self.fee_bps[i][v] = cfg.taker_fee_bps(vname, inst.kind)
                self._apply_limits(i, v)
                self._refresh_tradable(i, v)
        self.nv, self.ni = nv, ni

    def set_limits(self, i: int, v: int, lot_size: float, min_size: float, min_notional: float, tick_size: float) -> None:
        """What the venue's metadata says one slot accepts (cold path: at start and on a refresh).

        ``[venues.X] limits."<instrument>"`` in the config stays an override: each of its fields
        that is set (non-zero) wins over the metadata's.
        """
        self._listed[(i, v)] = (lot_size, min_size, min_notional, tick_size)
        if i < self.ni and v < self.nv:
            self._apply_limits(i, v)

    def _apply_limits(self, i: int, v: int) -> None:
        lot, least, notional, tick = self._listed.get((i, v), (0.0, 0.0, 0.0, 0.0))
        override = self.config.venue(self.symbols.venues[v]).limits.get(self.symbols.instruments[i].name)
        if override is not None:
            lot = override.lot_size or lot
            notional = override.min_notional or notional
            tick = override.tick_size or tick
        self.lot[i][v] = lot
        self.min_size[i][v] = least
        self.min_notional[i][v] = notional
        self.tick[i][v] = tick

    def _refresh_tradable(self, i: int, v: int) -> None:
        self.tradable[i][v] = (
            self.bid[i][v] > 0.0
            and self.venue_up[v][self.kind[i]]
            and self.book_valid[i][v]
            and not self.denied[i]
        )

    # -- updates ---------------------------------------------------------------------------
    def apply_quote(self, q: Quote) -> bool:
        """Store a quote; False (and counted) when it is out of order, invalid or crossed."""
        i = q.instrument
        v = q.venue
        ts = q.exchange_ts_ns
        seq = q.seq
        # 0 means "the venue sends none": such a field cannot order updates.
        if (ts and ts < self.exch_ns[i][v]) or (seq and seq < self.seq[i][v]):
            self.out_of_order += 1
            return False
        bid = q.bid
        ask = q.ask
        if not (bid > 0.0 and ask < INF and q.bid_size > 0.0 and q.ask_size > 0.0):
            self.invalid += 1
            return False
        if bid >= ask:
            self.crossed += 1
            self.clear_quote(i, v)
            return False
        if not self.venue_up[v][self.kind[i]]:
            self.ignored_down += 1
            return False
        self.quotes += 1
        # Keep max_bid / min_ask: a full max()/min() only when the best price itself moved away.
        row = self.bid[i]
        held = row[v]
        row[v] = bid
        if bid >= self.max_bid[i]:
            self.max_bid[i] = bid
        elif held == self.max_bid[i]:
            self.max_bid[i] = max(row)
        row = self.ask[i]
        held = row[v]
        row[v] = ask
        if ask <= self.min_ask[i]:
            self.min_ask[i] = ask
        elif held == self.min_ask[i]:
            self.min_ask[i] = min(row)
        self.bid_size[i][v] = q.bid_size
        self.ask_size[i][v] = q.ask_size
        self.recv_ns[i][v] = q.recv_ts_ns
        if ts:
            self.exch_ns[i][v] = ts
        if seq:
            self.seq[i][v] = seq
        if not self.tradable[i][v]:
            self._refresh_tradable(i, v)
        return True

    def clear_quote(self, i: int, v: int) -> None:
        """Forget a slot's prices: nothing may trade on them (crossed quote, book reset)."""
        row = self.bid[i]
        held = row[v]
        row[v] = 0.0
        if held == self.max_bid[i]:
            self.max_bid[i] = max(row)
        row = self.ask[i]
        held = row[v]
        row[v] = INF
        if held == self.min_ask[i]:
            self.min_ask[i] = min(row)
        self.bid_size[i][v] = 0.0
        self.ask_size[i][v] = 0.0
        self.book[i][v] = None
        self.tradable[i][v] = False
        self.reset_order(i, v)

    def reset_order(self, i: int, v: int) -> None:
        """Order a slot afresh from its next update: a reconnected venue, or a new ingest run,
        may restart its sequence numbers (and its clock), and those are not "old" updates."""
        self.seq[i][v] = 0
        self.exch_ns[i][v] = 0
        book = self.book[i][v]
        if book is not None and book.exchange_ts_ns:
            self.book[i][v] = None

    def apply_book(self, b: Book) -> Quote | None:
        """Store a book's top levels for depth; returns the quote its top implies.

        The implied quote is returned only for slots without their own BBO stream: a venue's
        dedicated BBO channel and its depth channel are not ordered against each other.
        """
        self.books += 1
        i, v = b.instrument, b.venue
        held = self.book[i][v]
        if held is not None and b.exchange_ts_ns and b.exchange_ts_ns < held.exchange_ts_ns:
            self.out_of_order += 1
            return None
        if not b.bids or not b.asks:
            self.book[i][v] = None
            return None
        self.book[i][v] = b
        if self.has_bbo[i][v]:
            return None
        (bp, bs), (ap, asz) = b.bids[0], b.asks[0]
        return Quote(v, i, bp, bs, ap, asz, b.exchange_ts_ns, b.recv_ts_ns, 0)

    def apply_funding(self, f: Funding) -> None:
        self.fundings += 1
        if self.kind[f.instrument] == PERP and f.interval_hours > 0:
            self.funding_h[f.instrument][f.venue] = f.rate / f.interval_hours

    def apply_status(self, s: VenueStatus) -> list[tuple[int, int]]:
        """Apply a venue status; returns the (instrument, venue) slots whose tradability changed."""
        self.statuses += 1
        v = s.venue
        kinds = (0, 1) if s.market == ANY else (s.market,)
        changed: list[tuple[int, int]] = []
        if s.instrument == ANY:
            up = s.state == UP
            for k in kinds:
                self.venue_up[v][k] = up
            insts = [i for i in range(self.ni) if self.kind[i] in kinds]
            # A connection status (down, resyncing, up again) starts a new connection's numbering.
            for i in insts:
                self.reset_order(i, v)
            if s.state == RESYNCING:
                for i in insts:
                    self.book_valid[i][v] = False
            elif up:
                for i in insts:
                    self.book_valid[i][v] = not self.halted[i][v]
            if s.state == DOWN:
                for i in insts:
                    self.clear_quote(i, v)
        else:
            i = s.instrument
            insts = [i]
            if s.state == HALTED:
                self.halted[i][v] = True  # for good: the instrument is unsubscribed, its book never valid again
            if s.state == UP and not self.halted[i][v]:
                self.book_valid[i][v] = True
            else:
                self.book_valid[i][v] = False
                self.clear_quote(i, v)
        for i in insts:
            before = self.tradable[i][v]
            self._refresh_tradable(i, v)
            if before != self.tradable[i][v] or not self.tradable[i][v]:
                changed.append((i, v))
        return changed

    def counters(self) -> dict[str, int]:
        return {
            "quotes": self.quotes,
            "books": self.books,
            "fundings": self.fundings,
            "statuses": self.statuses,
            "out_of_order": self.out_of_order,
            "crossed": self.crossed,
            "invalid": self.invalid,
            "ignored_down": self.ignored_down,
        }


class Conversion:
    """Live conversion rates of quote currencies to the reference currency (e.g. USDT → USD).

    Each configured source is a spot market (``USDT/USD``, ``USDC/USDT``) whose latest mid, from
    whichever venue quoted it last, prices its base in its quote; chains resolve to the reference.
    A rate is usable only while fresh and within ``max_depeg_bps`` of 1: the sources are the
    currencies expected to hold the reference's value, and a depeg must stop cross-currency signals.
    """

    def __init__(self, symbols: SymbolMap, config: Config) -> None:
        conv = config.conversion
        self.reference = symbols.currency_id(conv.reference)
        self.max_age_ns = conv.max_rate_age_ms * 1_000_000
        self.max_depeg = conv.max_depeg_bps / 1e4
        self.source_of: dict[int, int] = {}  # source instrument id -> currency id it prices
        self.priced_in: dict[int, int] = {}  # currency id -> currency id its source quotes in
        for ccy, inst_name in conv.sources.items():
            iid = symbols.instrument_id(inst_name)
            cid = symbols.currency_id(ccy)
            self.source_of[iid] = cid
            self.priced_in[cid] = symbols.currency_id(symbols.instruments[iid].quote)
        n = len(symbols.currencies)
        self.mid = [0.0] * n
        self.mid_ns = [0] * n
        self.rate = [0.0] * n
        self.rate_ns = [0] * n
        self.rate[self.reference] = 1.0
        self.rate_ns[self.reference] = 1 << 62  # the reference never ages
        self.is_source: list[int] = []
        self.grow(symbols)

    def grow(self, symbols: SymbolMap) -> None:
        n = len(symbols.currencies)
        for arr, fill in ((self.mid, 0.0), (self.mid_ns, 0), (self.rate, 0.0), (self.rate_ns, 0)):
            arr.extend([fill] * (n - len(arr)))  # type: ignore[list-item]
        self.is_source.extend(
            self.source_of.get(i, -1) for i in range(len(self.is_source), len(symbols.instruments))
        )

    def on_quote(self, ccy: int, bid: float, ask: float, recv_ns: int) -> None:
        """A source market moved: store its mid and re-resolve every rate (few currencies)."""
        self.mid[ccy] = (bid + ask) * 0.5
        self.mid_ns[ccy] = recv_ns
        for c in self.priced_in:
            rate, ts, seen = 1.0, 1 << 62, 0
            cur = c
            while cur != self.reference and seen < 8:
                if self.mid[cur] <= 0.0 or cur not in self.priced_in:
                    rate = 0.0
                    break
                rate *= self.mid[cur]
                ts = min(ts, self.mid_ns[cur])
                cur = self.priced_in[cur]
                seen += 1
            if cur != self.reference:
                rate = 0.0
            self.rate[c] = rate
            self.rate_ns[c] = ts if rate else 0

    def usable(self, ccy: int, now_ns: int) -> bool:
        if ccy == self.reference:
            return True
        rate = self.rate[ccy]
        return rate > 0.0 and now_ns - self.rate_ns[ccy] <= self.max_age_ns and abs(rate - 1.0) <= self.max_depeg

    def factor(self, from_ccy: int, to_ccy: int, now_ns: int) -> float:
        """Multiplier turning a price in ``from_ccy`` into ``to_ccy``; 0.0 when not usable now."""
        if from_ccy == to_ccy:
            return 1.0
        if not (self.usable(from_ccy, now_ns) and self.usable(to_ccy, now_ns)):
            return 0.0
        return self.rate[from_ccy] / self.rate[to_ccy]
