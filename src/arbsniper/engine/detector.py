"""The detector: an update on (instrument, venue) in, verdicts out (SPEC §5).

Pure and synchronous: ``scan`` reads ``MarketState`` (and the live ``Conversion``) for one update
and returns the pairs the lifecycle must act on, as ``Verdict`` values: each qualifying pair with
its ``Metrics``, and each open pair that no longer qualifies with the reason. It does no I/O and
emits nothing; when nothing qualifies and nothing open is touched (almost every update) it returns
the shared empty tuple ``NOTHING``. It reads which pairs are open from the lifecycle's tables
(``open``, ``open_keys``) and never changes them.

Per update it compares the venue against every other venue holding the instrument (and its
sibling instruments in other quote currencies, through a live conversion rate) in both
directions: O(venues), behind a pre-filter that rejects most updates before any Python loop runs:
no venue's bid clears this ask by ``min_spread_bps`` and this bid clears no venue's ask, judged
against the instrument's best bid and ask across venues (``MarketState.max_bid`` / ``min_ask``,
kept as quotes are written: two reads instead of a ``max()`` and a ``min()`` per update).

A pair (buy A, sell B) qualifies when both quotes are tradable (venue up, book valid) and fresh,
the conversion rate (if the currencies differ) is usable, and

    spread_bps   = (bid_B − ask_A) / ask_A × 10 000                    ≥ min_spread_bps
    fees_bps     = taker_A + taker_B
    slippage_bps = Σ per-leg (VWAP walk vs top) when both books are known, else the constant
    funding_bps  = (rate_B − rate_A) per hour × holding_hours × 10 000
    net_bps      = spread − fees − slippage + funding                  ≥ min_net_bps
    size         = largest quantity whose marginal net stays ≥ min_net_bps, capped by max_notional
                   and depth (top-of-book sizes without books), rounded down to the lot size,
                   at least each leg's minimum size and minimum notional (the venues' metadata,
                   pushed by ``Engine.set_metadata``; ``[venues.X] limits`` overrides it)
    confidence   = 20 + 50·min(spread/50, 1) + 30·min(|funding_delta|/0.01, 1), clamped to 0..100
                   (funding_delta = rate_B − rate_A per 8 h)                ≥ min_confidence

and the spread is below ``max_sane_spread_bps`` (beyond it the pair is *suspect*: counted, never
signalled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set

from arbsniper.config import Config
from arbsniper.engine import lifecycle as lc
from arbsniper.engine.lifecycle import OpenOpportunity, opportunity_key
from arbsniper.engine.state import Conversion, MarketState
from arbsniper.engine.verdicts import NOTHING, Metrics, Verdict
from arbsniper.model import PERP


class Detector:
    """Judges the pairs one update touches; returns verdicts, changes nothing but its own counters."""

    def __init__(self, state: MarketState, conversion: Conversion, config: Config,
                 open_pairs: Mapping[int, OpenOpportunity], open_keys: Sequence[Sequence[Set[int]]]) -> None:
        d = config.detector
        self.state = state
        self.conv = conversion
        self.open = open_pairs  # read only: the lifecycle's open opportunities by key
        self.open_keys = open_keys  # read only: per (instrument, venue), the keys of those touching it
        self.min_spread_bps = d.min_spread_bps
        self.k_spread = 1.0 + d.min_spread_bps / 1e4
        self.min_net_bps = d.min_net_bps
        self.min_confidence = d.min_confidence
        self.min_funding_delta = d.min_funding_delta
        self.max_sane_bps = d.max_sane_spread_bps
        self.slippage_bps = d.slippage_bps
        self.max_notional = d.max_notional
        self.holding_bps = d.holding_hours * 1e4  # per-hour rate × this = bps over the holding period
        self.siblings: list[list[int]] = []
        self.rejected: dict[str, int] = {}
        self.suspect = 0
        self.evaluated = 0
        self.grow()

    def grow(self) -> None:
        """Recompute instrument groups after the symbol map grew (cold path)."""
        groups = self.state.symbols.groups()
        self.siblings = [[] for _ in range(len(self.state.symbols.instruments))]
        for members in groups.values():
            for i in members:
                self.siblings[i] = [j for j in members if j != i]

    # -- per update --------------------------------------------------------------------------
    def scan(self, i: int, v: int, now_ns: int) -> tuple[Verdict, ...]:
        """Judge every pair that involves (instrument ``i``, venue ``v``) after its update.

        Returns, in the order judged, the qualifying pairs and the open pairs (touching the slot)
        that no longer qualify; ``NOTHING`` when there are none.
        """
        st = self.state
        bids = st.bid[i]
        asks = st.ask[i]
        my_bid = bids[v]
        my_ask = asks[v]
        k = self.k_spread
        open_here = self.open_keys[i][v]
        sibs = self.siblings[i]
        same = st.max_bid[i] >= my_ask * k or my_bid >= st.min_ask[i] * k
        if not same and not sibs and not open_here:
            return NOTHING  # the common case: no venue is far enough away in either direction
        out: list[Verdict] | None = None  # allocated only once a pair is judged
        if same:
            out = []
            judge = self._judge
            for w in range(st.nv):
                if w == v:
                    continue
                if bids[w] >= my_ask * k:
                    judge(out, i, v, i, w, 1.0, now_ns)
                if my_bid >= asks[w] * k:
                    judge(out, i, w, i, v, 1.0, now_ns)
        if sibs:
            out = self._scan_siblings(out, i, v, now_ns, sibs)
        if open_here:
            # Open pairs that were no candidates now must still be judged (to close them).
            judged = {verdict.key for verdict in out} if out else ()
            for key in open_here:
                if key not in judged:
                    if out is None:
                        out = []
                    self._rejudge(out, self.open[key], now_ns)
        return tuple(out) if out else NOTHING

    def _scan_siblings(self, out: list[Verdict] | None, i: int, v: int, now_ns: int,
                       sibs: list[int]) -> list[Verdict] | None:
        st = self.state
        my_bid = st.bid[i][v]
        my_ask = st.ask[i][v]
        k = self.k_spread
        qi = st.quote_ccy[i]
        for j in sibs:
            f_ji = self.conv.factor(st.quote_ccy[j], qi, now_ns)  # j's prices into i's currency
            if not f_ji:
                continue
            bj = st.bid[j]
            aj = st.ask[j]
            if st.max_bid[j] * f_ji < my_ask * k and my_bid < st.min_ask[j] * f_ji * k:
                continue
            if out is None:
                out = []
            f_ij = 1.0 / f_ji
            for w in range(st.nv):
                if w == v:
                    continue
                if bj[w] * f_ji >= my_ask * k:
                    self._judge(out, i, v, j, w, f_ji, now_ns)
                if my_bid >= aj[w] * f_ji * k:
                    self._judge(out, j, w, i, v, f_ij, now_ns)
        return out

    def recheck_slot(self, i: int, v: int, now_ns: int) -> tuple[Verdict, ...]:
        """Judge again the open pairs touching a slot (after a status or a refused quote)."""
        keys = self.open_keys[i][v]
        if not keys:
            return NOTHING
        out: list[Verdict] = []
        for key in keys:
            self._rejudge(out, self.open[key], now_ns)
        return tuple(out)

    def recheck_all(self, now_ns: int) -> tuple[Verdict, ...]:
        """Judge again every open pair: finds those gone stale while nothing updated them."""
        if not self.open:
            return NOTHING
        out: list[Verdict] = []
        for o in self.open.values():
            self._rejudge(out, o, now_ns)
        return tuple(out)

    def _rejudge(self, out: list[Verdict], o: OpenOpportunity, now_ns: int) -> None:
        ia, ib = o.buy_instrument, o.sell_instrument
        st = self.state
        f = self.conv.factor(st.quote_ccy[ib], st.quote_ccy[ia], now_ns) if ia != ib else 1.0
        self._judge(out, ia, o.buy_venue, ib, o.sell_venue, f, now_ns)

    def _judge(self, out: list[Verdict], ia: int, a: int, ib: int, b: int, f: float, now_ns: int) -> None:
        # A verdict when the pair qualifies, or when it is open and no longer does.
        r = self.evaluate(ia, a, ib, b, f, now_ns)
        key = opportunity_key(ia, a, ib, b)
        if isinstance(r, str):
            self.rejected[r] = self.rejected.get(r, 0) + 1
            if key in self.open:
                out.append(Verdict(key, ia, a, ib, b, None, r))
        else:
            out.append(Verdict(key, ia, a, ib, b, r))

    # -- the rules -----------------------------------------------------------------------------
    def evaluate(self, ia: int, a: int, ib: int, b: int, f: float, now_ns: int) -> Metrics | str:
        """Metrics of buying ``ia`` at venue ``a`` and selling ``ib`` at ``b``, or why not.

        ``f`` converts the sell leg's prices into the buy leg's quote currency (1.0 when equal,
        0.0 when no usable rate exists).
        """
        self.evaluated += 1
        st = self.state
        if not (st.tradable[ia][a] and st.tradable[ib][b]):
            return self._untradable_reason(ia, a, ib, b)
        max_age_a = st.max_age_ns[a]
        max_age_b = st.max_age_ns[b]
        if now_ns - st.recv_ns[ia][a] > max_age_a or now_ns - st.recv_ns[ib][b] > max_age_b:
            return lc.STALE_QUOTE
        if not f:
            return lc.RATE_UNAVAILABLE
        ask = st.ask[ia][a]
        sell_native = st.bid[ib][b]
        bid = sell_native * f
        spread_bps = (bid - ask) / ask * 1e4
        if spread_bps < self.min_spread_bps:
            return lc.SPREAD_GONE
        if spread_bps > self.max_sane_bps:
            self.suspect += 1
            return lc.SUSPECT
        fees_bps = st.fee_bps[ia][a] + st.fee_bps[ib][b]
        fd_h = st.funding_h[ib][b] - st.funding_h[ia][a]
        funding_bps = fd_h * self.holding_bps
        book_a = st.book[ia][a]
        book_b = st.book[ib][b]
        if (
            book_a is not None
            and book_b is not None
            and now_ns - book_a.recv_ts_ns <= max_age_a
            and now_ns - book_b.recv_ts_ns <= max_age_b
        ):
            size, cost, proceeds = walk_depth(
                book_a.asks, book_b.bids, f, fees_bps - funding_bps + self.min_net_bps, self.max_notional
            )
            if size <= 0.0:
                return lc.UNPROFITABLE
            vwap_buy = cost / size
            vwap_sell = proceeds / size
            slippage_bps = max(0.0, (vwap_buy - ask) / ask * 1e4) + max(0.0, (bid - vwap_sell) / bid * 1e4)
        else:
            # Top of book only. (Conditionals, not min(): this runs on the hot path.)
            size = st.ask_size[ia][a]
            other = st.bid_size[ib][b]
            if other < size:
                size = other
            other = self.max_notional / ask
            if other < size:
                size = other
            vwap_buy = ask
            slippage_bps = self.slippage_bps
        net_bps = spread_bps - fees_bps - slippage_bps + funding_bps
        if net_bps < self.min_net_bps:
            return lc.UNPROFITABLE
        lot = st.lot[ia][a]
        other = st.lot[ib][b]
        if other > lot:
            lot = other
        if lot > 0.0:
            size = math.floor(size / lot + 1e-9) * lot
        if (size <= 0.0 or size < st.min_size[ia][a] or size < st.min_size[ib][b]
                or size * ask < st.min_notional[ia][a] or size * sell_native < st.min_notional[ib][b]):
            return lc.TOO_SMALL
        fd8 = fd_h * 8.0
        # 20 + 50·min(spread/50, 1) + 30·min(|Δfunding|/0.01, 1); spread ≥ min_spread ≥ 0 here,
        # so the sum already lies within 20..100.
        confidence = 20.0 + (50.0 if spread_bps >= 50.0 else spread_bps) + (30.0 if fd8 >= 0.01 or fd8 <= -0.01 else 3000.0 * abs(fd8))
        if confidence < self.min_confidence:
            return lc.LOW_CONFIDENCE
        if (
            self.min_funding_delta is not None
            and (st.kind[ia] == PERP or st.kind[ib] == PERP)
            and fd8 < self.min_funding_delta
        ):
            return lc.FUNDING_BELOW_MIN
        return Metrics(
            spread_bps=spread_bps,
            fees_bps=fees_bps,
            slippage_bps=slippage_bps,
            funding_bps=funding_bps,
            net_bps=net_bps,
            size=size,
            profit_quote=net_bps / 1e4 * size * vwap_buy,
            confidence=confidence,
            funding_delta=fd8,
            buy_price=ask,
            sell_price=sell_native,
            conversion_rate=f,
        )

    def _untradable_reason(self, ia: int, a: int, ib: int, b: int) -> str:
        st = self.state
        for i, v in ((ia, a), (ib, b)):
            if not st.venue_up[v][st.kind[i]]:
                return lc.VENUE_DOWN
        for i, v in ((ia, a), (ib, b)):
            if st.halted[i][v]:
                return lc.INSTRUMENT_HALTED
        for i, v in ((ia, a), (ib, b)):
            if not st.book_valid[i][v]:
                return lc.BOOK_RESYNC
        if st.denied[ia] or st.denied[ib]:
            return lc.DENIED
        return lc.NO_QUOTE



def walk_depth(
    asks: list[tuple[float, float]],
    bids: list[tuple[float, float]],
    f: float,
    min_marginal_bps: float,
    max_notional: float,
) -> tuple[float, float, float]:
    """Walk the buy venue's asks against the sell venue's bids while the marginal edge holds.

    Returns (size, cost in the buy currency, proceeds in the buy currency). A unit is added only
    while ``(bid·f − ask) / ask`` at the current levels stays ≥ ``min_marginal_bps``; the walk
    stops at ``max_notional`` of cost or when either side's depth runs out.
    """
    na = len(asks)
    nb = len(bids)
    if not na or not nb:
        return 0.0, 0.0, 0.0
    ia = ib = 0
    pa, ra = asks[0]
    pb, rb = bids[0]
    pb *= f
    size = cost = proceeds = 0.0
    threshold = 1.0 + min_marginal_bps / 1e4
    while True:
        if pb < pa * threshold:
            break
        take = ra if ra < rb else rb
        room = max_notional - cost
        if take * pa >= room:
            take = room / pa
            size += take
            cost += take * pa
            proceeds += take * pb
            break
        size += take
        cost += take * pa
        proceeds += take * pb
        ra -= take
        rb -= take
        if ra <= 1e-12:
            ia += 1
            if ia >= na:
                break
            pa, ra = asks[ia]
        if rb <= 1e-12:
            ib += 1
            if ib >= nb:
                break
            pb, rb = bids[ib]
            pb *= f
    return size, cost, proceeds
