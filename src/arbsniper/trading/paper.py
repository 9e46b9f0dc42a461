"""Paper executor: IOC orders filled against the live book as it is when the order arrives.

An order travels for the venue's configured latency, then walks the book levels on its side
(asks for a buy, bids for a sell) best first, up to its limit price, paying the venue's taker fee
on each level's notional. What the visible depth or the limit does not allow is cancelled, so
partial fills happen exactly when they would on a venue. Liquidity this executor has taken from
a book stays taken until the venue publishes a new book: two orders never both fill against the
same resting size.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from arbsniper.instruments import parse_instrument
from arbsniper.model import Book
from arbsniper.trading.market import MarketRules, MarketView
from arbsniper.trading.orders import BUY, EXPIRED, QTY_EPS, REJECTED, Fill, OrderRequest, OrderResult, final_status


def walk_levels(levels: list[tuple[float, float]], side: str, qty: float, limit_price: float | None,
                skip: float = 0.0) -> list[tuple[float, float]]:
    """Take up to ``qty`` from ``levels`` (best first) within the limit; returns (price, qty) taken.

    ``skip`` is size already taken from the top of these levels by earlier orders.
    """
    taken: list[tuple[float, float]] = []
    remaining = qty
    for price, size in levels:
        if remaining <= QTY_EPS:
            break
        if limit_price is not None and (price > limit_price if side == BUY else price < limit_price):
            break
        if skip >= size:
            skip -= size
            continue
        avail = size - skip
        skip = 0.0
        take = avail if avail < remaining else remaining
        taken.append((price, take))
        remaining -= take
    return taken


def fee_currency(instrument: str) -> str:
    """Spot fees are charged in the quote currency, perpetual fees in the settle currency."""
    inst = parse_instrument(instrument)
    return inst.settle or inst.quote


class PaperExecutor:
    """Simulated venue access with per-venue latency, depth walking and taker fees."""

    name = "paper"

    def __init__(self, market: MarketView, rules: MarketRules, latency_s: Callable[[str], float],
                 clock_ns: Callable[[], int] = time.time_ns,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.market = market
        self.rules = rules
        self.latency_s = latency_s
        self.clock_ns = clock_ns
        self.sleep = sleep
        # (venue, instrument, side) -> (book object, size taken from it)
        self._taken: dict[tuple[str, str, str], tuple[Book, float]] = {}

    async def execute(self, order: OrderRequest) -> OrderResult:
        await self.sleep(self.latency_s(order.venue))
        return self.fill_now(order)

    def fill_now(self, order: OrderRequest) -> OrderResult:
        """Fill ``order`` against the book as it is now (the moment of arrival)."""
        now = self.clock_ns()
        book = self.market.book(order.venue, order.instrument, now)
        if book is None:
            return OrderResult(order, REJECTED, reason="book_unavailable")
        levels = book.asks if order.side == BUY else book.bids
        key = (order.venue, order.instrument, order.side)
        held = self._taken.get(key)
        skip = held[1] if held is not None and held[0] is book else 0.0
        taken = walk_levels(levels, order.side, order.qty, order.limit_price, skip)
        fee_rate = self.rules.fee_bps(order.venue, order.instrument) / 1e4
        ccy = fee_currency(order.instrument)
        fills = [
            Fill(f"{order.client_id}:{n}", order.client_id, order.venue, order.instrument, order.side,
                 q, p, q * p * fee_rate, ccy, now)
            for n, (p, q) in enumerate(taken)
        ]
        filled = sum(q for _, q in taken)
        self._taken[key] = (book, skip + filled)
        status = final_status(order.qty, filled)
        reason = "" if status != REJECTED else ("no_liquidity_within_limit" if levels else "empty_book")
        return OrderResult(order, status, fills, reason)

    async def recover(self, order: OrderRequest) -> OrderResult:
        # A paper order exists only inside the process: one that was in flight at a crash never arrived.
        return OrderResult(order, EXPIRED, reason="lost_in_crash")
