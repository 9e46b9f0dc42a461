"""Trade planning: a signal in, a sized ``Plan`` or the reason to refuse out (SPEC §8).

It only reads (the portfolio, the risk limits, the books): deciding changes nothing, so the
runner can ask it for every signal and tests can check every refusal with worked numbers.
The checks, in order, each refusing with its reason: not already traded (one trade per
opportunity), no open position on the same venues and instruments, the signal recent enough,
the kill switch / daily loss / open-position limits, both books valid, both prices still within
``price_tolerance_bps``; then the size: the signal's, capped by the per-trade and per-venue
notional limits and by the inventory on each venue, rounded down to the lot, and above the
minimum notionals.
"""

from __future__ import annotations

import math
from collections.abc import Container
from dataclasses import dataclass

from arbsniper.config import TradingConfig
from arbsniper.instruments import parse_instrument
from arbsniper.model import Signal
from arbsniper.trading import risk as rk
from arbsniper.trading.market import MarketRules, MarketView
from arbsniper.trading.orders import QTY_EPS
from arbsniper.trading.portfolio import Portfolio
from arbsniper.trading.risk import Proposal, RiskManager


@dataclass(slots=True)
class Plan:
    """A validated, sized trade and the inventory it holds while its legs are in flight."""

    signal: Signal
    size: float
    buy_limit: float
    sell_limit: float
    reservations: list[tuple[str, str, float]]  # (venue, asset, amount) reserved until the legs are done
    in_flight: list[tuple[str, float]]  # (venue, notional) counted against max_venue_notional meanwhile


def plan_trade(s: Signal, now_ns: int, cfg: TradingConfig, *, rules: MarketRules, market: MarketView,
               portfolio: Portfolio, risk: RiskManager, traded: Container[str]) -> Plan | str:
    """The trade to make for a signal, or the reason not to make one (a ``risk`` constant)."""
    if s.id in traded:
        return rk.ALREADY_TRADED
    mine = {(s.buy_exchange, s.buy_instrument), (s.sell_exchange, s.sell_instrument)}
    for t in portfolio.trades.values():
        if set(t.legs) == mine:
            return rk.DUPLICATE
    if now_ns - s.timestamp * 1_000_000 > cfg.max_signal_age_ms * 1_000_000:
        return rk.STALE_SIGNAL
    reason = risk.check_gates()
    if reason:
        return reason
    bv, sv, bi, si = s.buy_exchange, s.sell_exchange, s.buy_instrument, s.sell_instrument
    book_b = market.book(bv, bi, now_ns)
    book_s = market.book(sv, si, now_ns)
    if book_b is None or book_s is None or not book_b.asks or not book_s.bids:
        return rk.BOOK_INVALID
    tol = cfg.price_tolerance_bps / 1e4
    buy_limit = s.buy_price * (1 + tol)
    sell_limit = s.sell_price * (1 - tol)
    if book_b.asks[0][0] > buy_limit or book_s.bids[0][0] < sell_limit:
        return rk.PRICE_MOVED
    # Size: the signal's, capped by each limit; remember which cap bound, to name a refusal.
    binb = parse_instrument(bi)
    sinb = parse_instrument(si)
    fee_b = rules.fee_bps(bv, bi) / 1e4
    fee_s = rules.fee_bps(sv, si) / 1e4
    caps: list[tuple[float, str]] = [
        (cfg.max_trade_notional / buy_limit, rk.MAX_TRADE),
        (cfg.max_trade_notional / sell_limit, rk.MAX_TRADE),
        (risk.venue_headroom(bv) / buy_limit, rk.MAX_VENUE),
        (risk.venue_headroom(sv) / sell_limit, rk.MAX_VENUE),
    ]
    if binb.is_perp:
        lev = 1.0 / cfg.perp_leverage
        b_ccy, s_ccy = binb.settle or binb.quote, sinb.settle or sinb.quote
        per_unit_b = buy_limit * (lev + fee_b)
        per_unit_s = sell_limit * (lev + fee_s)
        caps.append((portfolio.available(bv, b_ccy) / per_unit_b, rk.INVENTORY))
        caps.append((portfolio.available(sv, s_ccy) / per_unit_s, rk.INVENTORY))
    else:
        b_ccy, s_ccy = binb.quote, sinb.base
        per_unit_b = buy_limit * (1 + fee_b)
        per_unit_s = 1.0
        caps.append((portfolio.available(bv, b_ccy) / per_unit_b, rk.INVENTORY))
        caps.append((portfolio.available(sv, s_ccy), rk.INVENTORY))
    size = s.size
    binding = rk.TOO_SMALL
    for cap, why in caps:
        if cap < size:
            size, binding = max(cap, 0.0), why
    lot = max(rules.lot_size(bv, bi), rules.lot_size(sv, si))
    if lot > 0:
        size = math.floor(size / lot + 1e-9) * lot
    min_notional = max(cfg.min_trade_notional, rules.min_notional(bv, bi), rules.min_notional(sv, si))
    min_size = max(rules.min_size(bv, bi), rules.min_size(sv, si))
    if (size <= QTY_EPS or size + QTY_EPS < min_size or size * buy_limit < min_notional
            or size * sell_limit < rules.min_notional(sv, si)):
        return binding
    reason = risk.check(Proposal(bv, sv, size * buy_limit, size * sell_limit))
    if reason:
        return reason
    return Plan(s, size, buy_limit, sell_limit,
                [(bv, b_ccy, size * per_unit_b), (sv, s_ccy, size * per_unit_s)],
                [(bv, size * buy_limit), (sv, size * sell_limit)])
