"""Balances per venue and asset, arbitrage trades and their legs, and how a fill changes them.

Accounting is by cash flow. A trade's P&L in its currency (the buy leg's quote currency; the sell
leg's prices convert at the trade's fixed ``rate``) is

    pnl = cash − fees + funding + mark value of what is still open

(the mark value: open quantity × the price closing it would get, longs at the bid, shorts at
the ask; for an open perpetual trade the whole of ``pnl`` is unrealized until it closes)

where ``cash`` adds every sell's proceeds and subtracts every buy's cost. A spot trade is flat
when its legs net to zero base (the inventory moved between venues, the spread is realized); a
perpetual trade is flat when each leg's contract position is zero. ``apply_fill`` is the one
function that turns a fill into balance changes, used live and when the ledger is replayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from arbsniper.instruments import parse_instrument
from arbsniper.trading.orders import BUY, ENTRY, HEDGE, QTY_EPS, UNWIND, Fill

SPOT_TRADE = "spot"
PERP_TRADE = "perp"

# Trade states.
EXECUTING = "executing"  # entry legs in flight or being made whole
OPEN = "open"  # perpetual legs held, waiting for an exit
EXITING = "exiting"
UNHEDGED = "unhedged"  # a leg imbalance the runner has not yet managed to remove (retried every tick)
CLOSED = "closed"


@dataclass(slots=True)
class Leg:
    """One (venue, instrument) side of a trade; ``qty`` is signed (long > 0)."""

    venue: str
    instrument: str
    qty: float = 0.0
    avg_price: float = 0.0  # entry price of the open quantity
    intended_price: float = 0.0  # the signal's price for this leg
    entry_qty: float = 0.0
    entry_fees: float = 0.0  # in the trade's currency
    mark_price: float = 0.0
    is_perp: bool = False
    base: str = ""
    quote: str = ""
    settle: str | None = None


@dataclass(slots=True)
class Trade:
    """One arbitrage: buy ``buy_instrument`` at ``buy_venue``, sell ``sell_instrument`` at ``sell_venue``."""

    id: int
    signal_id: str
    opportunity_id: str
    kind: str
    buy_venue: str
    sell_venue: str
    buy_instrument: str
    sell_instrument: str
    currency: str
    rate: float  # sell leg's quote currency -> the trade's currency
    size: float  # the planned quantity
    net_bps: float  # the signal's net edge
    opened_ns: int
    status: str = EXECUTING
    closed_ns: int = 0
    cash: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    leg_pnl: float = 0.0  # what leg risk cost (< 0) or, rarely, earned
    close_reason: str = ""
    mark_value: float = 0.0  # what the open quantity would fetch at market now (see Runner._mark)
    ref_rate: float = 1.0  # the trade's currency in the reference currency, at the last mark or the close
    legs: dict[tuple[str, str], Leg] = field(default_factory=dict)

    @property
    def buy_leg(self) -> Leg:
        return self.legs[(self.buy_venue, self.buy_instrument)]

    @property
    def sell_leg(self) -> Leg:
        return self.legs[(self.sell_venue, self.sell_instrument)]

    @property
    def pair(self) -> str:
        return f"{self.buy_venue}>{self.sell_venue}"

    def factor(self, instrument: str) -> float:
        """Multiplier from ``instrument``'s quote currency into the trade's currency."""
        return 1.0 if instrument == self.buy_instrument else self.rate

    @property
    def realized(self) -> float:
        """Cash P&L so far (the whole P&L once flat)."""
        return self.cash - self.fees + self.funding

    @property
    def pnl(self) -> float:
        return self.realized + self.mark_value

    def imbalance(self) -> float:
        """Base quantity not hedged: net of the legs for spot, long + short contracts for perps."""
        return self.buy_leg.qty + self.sell_leg.qty


def new_trade(tid: int, signal_id: str, opportunity_id: str, buy_venue: str, sell_venue: str,
              buy_instrument: str, sell_instrument: str, rate: float, size: float, net_bps: float,
              buy_price: float, sell_price: float, opened_ns: int) -> Trade:
    bi = parse_instrument(buy_instrument)
    si = parse_instrument(sell_instrument)
    t = Trade(tid, signal_id, opportunity_id, PERP_TRADE if bi.is_perp else SPOT_TRADE, buy_venue, sell_venue,
              buy_instrument, sell_instrument, bi.quote, rate, size, net_bps, opened_ns)
    for venue, inst, price in ((buy_venue, bi, buy_price), (sell_venue, si, sell_price)):
        t.legs[(venue, inst.name)] = Leg(venue, inst.name, intended_price=price, is_perp=inst.is_perp,
                                         base=inst.base, quote=inst.quote, settle=inst.settle)
    return t


class Portfolio:
    """Balances per (venue, asset), the open trades, and inventory reserved by orders in flight."""

    def __init__(self, leverage: float = 1.0) -> None:
        self.balances: dict[tuple[str, str], float] = {}
        self.start: dict[tuple[str, str], float] = {}
        self.trades: dict[int, Trade] = {}  # every trade not yet closed
        self.reserved: dict[tuple[str, str], float] = {}
        self.in_flight: dict[str, float] = {}  # venue -> notional of orders in flight
        self.leverage = leverage

    def balance(self, venue: str, asset: str) -> float:
        return self.balances.get((venue, asset), 0.0)

    def locked_margin(self, venue: str, asset: str) -> float:
        """Margin held by open perpetual legs on ``venue`` settled in ``asset``."""
        total = 0.0
        for t in self.trades.values():
            for leg in t.legs.values():
                if leg.is_perp and leg.venue == venue and leg.settle == asset and leg.qty:
                    total += abs(leg.qty) * leg.avg_price / self.leverage
        return total

    def available(self, venue: str, asset: str) -> float:
        return (self.balance(venue, asset) - self.reserved.get((venue, asset), 0.0)
                - self.locked_margin(venue, asset))

    def reserve(self, venue: str, asset: str, amount: float) -> None:
        self.reserved[(venue, asset)] = self.reserved.get((venue, asset), 0.0) + amount

    def release(self, venue: str, asset: str, amount: float) -> None:
        left = self.reserved.get((venue, asset), 0.0) - amount
        if left <= 1e-12:
            self.reserved.pop((venue, asset), None)
        else:
            self.reserved[(venue, asset)] = left

    def exposure(self, venue: str) -> float:
        """Open notional on a venue: orders in flight plus legs of trades not yet closed."""
        total = self.in_flight.get(venue, 0.0)
        for t in self.trades.values():
            for leg in t.legs.values():
                open_leg = leg.is_perp or (t.kind == SPOT_TRADE and abs(t.imbalance()) > QTY_EPS)
                if leg.venue == venue and leg.qty and open_leg:
                    total += abs(leg.qty) * (leg.mark_price or leg.avg_price)
        return total

    def apply_fill(self, trade: Trade, fill: Fill, purpose: str) -> list[tuple[str, str]]:
        """Apply one fill to the trade and the balances; returns the (venue, asset) keys it changed."""
        leg = trade.legs[(fill.venue, fill.instrument)]
        f = trade.factor(fill.instrument)
        signed = fill.qty if fill.side == BUY else -fill.qty
        notional = fill.qty * fill.price
        fee_value = fee_in_quote(fill, leg.base, leg.quote, leg.settle) * f
        trade.cash += -notional * f if fill.side == BUY else notional * f
        trade.fees += fee_value
        old = leg.qty
        # Leg risk accounting, before the leg changes.
        if purpose == UNWIND and old and leg.entry_qty > 0:
            closing = min(fill.qty, abs(old))
            sign = 1.0 if old > 0 else -1.0
            entry_fee_share = leg.entry_fees * closing / leg.entry_qty
            trade.leg_pnl += (closing * (fill.price - leg.avg_price) * sign * f
                              - fee_value * closing / fill.qty - entry_fee_share)
        elif purpose == HEDGE:
            trade.leg_pnl += ((leg.intended_price - fill.price) if fill.side == BUY else (fill.price - leg.intended_price)) * fill.qty * f
        if purpose == ENTRY:
            leg.entry_qty += fill.qty
            leg.entry_fees += fee_value
        leg.qty, leg.avg_price, realized = position_after(old, leg.avg_price, signed, fill.price)
        if not leg.mark_price:
            leg.mark_price = fill.price
        for venue, asset, delta in balance_deltas(fill, leg.base, leg.quote, leg.settle, realized):
            self._add(venue, asset, delta)
        return [(fill.venue, a) for a in sorted({leg.base if not leg.is_perp else "", leg.quote if not leg.is_perp else "",
                                                  leg.settle or "", fill.fee_ccy} - {""})]

    def apply_funding(self, trade: Trade, leg: Leg, amount: float) -> tuple[str, str]:
        """Credit (or debit, when negative) a funding payment to a perpetual leg's settle balance."""
        settle = leg.settle or leg.quote
        self._add(leg.venue, settle, amount)
        trade.funding += amount * trade.factor(leg.instrument)
        return (leg.venue, settle)

    def _add(self, venue: str, asset: str, delta: float) -> None:
        self.balances[(venue, asset)] = self.balances.get((venue, asset), 0.0) + delta


def position_after(qty: float, avg: float, signed: float, price: float) -> tuple[float, float, float]:
    """(new qty, new average entry, realized P&L) after trading ``signed`` at ``price``."""
    new = qty + signed
    if qty == 0 or (qty > 0) == (signed > 0):
        return new, ((abs(qty) * avg + abs(signed) * price) / abs(new) if new else 0.0), 0.0
    realized = min(abs(qty), abs(signed)) * (price - avg) * (1.0 if qty > 0 else -1.0)
    if abs(new) <= QTY_EPS:
        return 0.0, 0.0, realized
    if (new > 0) != (qty > 0):
        return new, price, realized  # reversed through zero: the rest opened at this price
    return new, avg, realized


def fee_in_quote(fill: Fill, base: str, quote: str, settle: str | None) -> float:
    """A fill's fee in the instrument's quote currency (a fee in the base asset is valued at the fill price)."""
    if fill.fee_ccy == base:
        return fill.fee * fill.price
    if fill.fee_ccy in (quote, settle):
        return fill.fee
    return 0.0  # a third currency (e.g. a venue token): deducted from its balance, not valued here


def balance_deltas(fill: Fill, base: str, quote: str, settle: str | None,
                   realized: float) -> list[tuple[str, str, float]]:
    """How one fill moves balances: spot swaps base and quote; a perpetual books realized P&L in settle."""
    v = fill.venue
    if settle is not None:
        out = [(v, settle, realized)]
    elif fill.side == BUY:
        out = [(v, base, fill.qty), (v, quote, -fill.qty * fill.price)]
    else:
        out = [(v, base, -fill.qty), (v, quote, fill.qty * fill.price)]
    if fill.fee:
        out.append((v, fill.fee_ccy, -fill.fee))
    return out
