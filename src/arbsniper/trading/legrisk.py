"""Leg risk: what to do when the two legs of a trade filled unequally (SPEC §8).

The excess is unwound at market where it filled (``leg_risk = "unwind"``), or the missing
quantity is bought / sold at market on the other venue (``"hedge"``, first attempt only, when the
inventory there allows it; unwinding what the hedge could not do). An exiting perpetual trade
closes every leg at market. ``rebalance`` decides (pure: the trade and portfolio in, the orders to
send out); ``make_whole`` sends them, up to ``MAKE_WHOLE_ATTEMPTS`` rounds, through the runner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import NamedTuple

from arbsniper.trading.market import MarketRules
from arbsniper.trading.orders import BUY, EXIT, HEDGE, QTY_EPS, SELL, UNWIND
from arbsniper.trading.portfolio import EXITING, Leg, Portfolio, Trade

MAKE_WHOLE_ATTEMPTS = 3


class Fix(NamedTuple):
    """One market order that removes unhedged quantity (``tag`` goes into its client order id)."""

    tag: str  # "x" exit, "h" hedge, "u" unwind
    venue: str
    instrument: str
    side: str
    qty: float
    purpose: str  # EXIT, HEDGE or UNWIND


Submit = Callable[[Trade, list[Fix]], Awaitable[None]]
"""Record the orders in the ledger, then send them all at once and apply their fills."""


def dust(trade: Trade, rules: MarketRules) -> float:
    """Quantity below which a leg counts as flat: the larger venue lot, or a rounding epsilon."""
    lots = [rules.lot_size(leg.venue, leg.instrument) for leg in trade.legs.values()]
    return max([QTY_EPS * max(1.0, trade.size), *lots])


def legs_flat(trade: Trade, dust_qty: float) -> bool:
    return all(abs(leg.qty) <= dust_qty for leg in trade.legs.values())


def can_hedge(portfolio: Portfolio, leg: Leg, side: str, qty: float) -> bool:
    """Whether the venue of ``leg`` has the inventory (or margin) to trade ``qty`` more there."""
    price = leg.intended_price
    if leg.is_perp:
        return portfolio.available(leg.venue, leg.settle or leg.quote) >= qty * price / portfolio.leverage * 1.01
    if side == SELL:
        return portfolio.available(leg.venue, leg.base) >= qty
    return portfolio.available(leg.venue, leg.quote) >= qty * price * 1.01


def rebalance(trade: Trade, *, hedge: bool, dust_qty: float, portfolio: Portfolio) -> list[Fix]:
    """The orders that remove a trade's unhedged quantity (or close every leg when exiting)."""
    if trade.status == EXITING:
        return [Fix("x", leg.venue, leg.instrument, SELL if leg.qty > 0 else BUY, abs(leg.qty), EXIT)
                for leg in trade.legs.values() if abs(leg.qty) > dust_qty]
    diff = trade.imbalance()  # > 0: long too much (at the buy venue); < 0: short too much
    if abs(diff) <= dust_qty:
        return []
    qty = abs(diff)
    side = SELL if diff > 0 else BUY
    if hedge:
        leg = trade.sell_leg if diff > 0 else trade.buy_leg
        if can_hedge(portfolio, leg, side, qty):
            return [Fix("h", leg.venue, leg.instrument, side, qty, HEDGE)]
    leg = trade.buy_leg if diff > 0 else trade.sell_leg
    return [Fix("u", leg.venue, leg.instrument, side, qty, UNWIND)]


async def make_whole(trade: Trade, submit: Submit, *, rules: MarketRules, portfolio: Portfolio, hedge_first: bool,
                     leg_events: MutableMapping[int, str]) -> bool:
    """Send market orders until the trade has no unhedged quantity; False if it still has some.

    ``leg_events[trade.id]`` records what was done ("unwound" / "hedged"): it becomes the close reason.
    """
    dust_qty = dust(trade, rules)
    for attempt in range(MAKE_WHOLE_ATTEMPTS):
        fixes = rebalance(trade, hedge=hedge_first and attempt == 0, dust_qty=dust_qty, portfolio=portfolio)
        if not fixes:
            return True
        for f in fixes:
            if f.purpose in (UNWIND, HEDGE):
                leg_events[trade.id] = "unwound" if f.purpose == UNWIND else "hedged"
        await submit(trade, fixes)
    return not rebalance(trade, hedge=False, dust_qty=dust_qty, portfolio=portfolio)
