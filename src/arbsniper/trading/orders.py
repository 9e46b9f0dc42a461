"""Orders, fills and the executor interface shared by the paper and live executors.

An order is always immediate-or-cancel: a limit order walks the book up to its limit price and
whatever is left is cancelled; a market order (no limit) walks the whole visible book. Nothing
rests on a venue, so a crash can leave no working order behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

BUY = "buy"
SELL = "sell"

# What an order is for.
ENTRY = "entry"
EXIT = "exit"
UNWIND = "unwind"  # leg risk: undo the filled excess where it filled
HEDGE = "hedge"  # leg risk: complete the missing leg at market

# Order states.
SENT = "sent"  # written to the ledger before it went out; unresolved after a crash
FILLED = "filled"
PARTIAL = "partial"  # IOC: part filled, the rest cancelled
REJECTED = "rejected"  # nothing filled (no liquidity within the limit, venue refused, ...)
EXPIRED = "expired"  # sent before a crash and found unfilled at restart
DRY_RUN = "dry_run"  # built and printed, never sent

QTY_EPS = 1e-9


@dataclass(slots=True)
class OrderRequest:
    """One IOC order; ``client_id`` is unique and makes sending it idempotent."""

    client_id: str
    trade_id: int
    venue: str
    instrument: str
    side: str
    qty: float
    limit_price: float | None  # None: market (walk the whole visible book)
    purpose: str = ENTRY


@dataclass(slots=True)
class Fill:
    """One execution of an order at one price; ``fee`` is in ``fee_ccy``."""

    fill_id: str
    client_id: str
    venue: str
    instrument: str
    side: str
    qty: float
    price: float
    fee: float
    fee_ccy: str
    ts_ns: int


@dataclass(slots=True)
class OrderResult:
    """What became of an order: its fills and final state."""

    request: OrderRequest
    status: str
    fills: list[Fill] = field(default_factory=list)
    reason: str = ""
    venue_order_id: str = ""

    @property
    def filled_qty(self) -> float:
        return sum(f.qty for f in self.fills)

    @property
    def avg_price(self) -> float:
        q = self.filled_qty
        return sum(f.qty * f.price for f in self.fills) / q if q > 0 else 0.0


def final_status(requested: float, filled: float) -> str:
    if filled <= QTY_EPS:
        return REJECTED
    return FILLED if filled >= requested * (1 - 1e-9) - QTY_EPS else PARTIAL


class Executor(Protocol):
    """Sends orders somewhere (a simulation or a venue) and says what filled."""

    name: str

    async def execute(self, order: OrderRequest) -> OrderResult:
        """Send one IOC order and return its fills (never raises for a venue's refusal)."""
        ...

    async def recover(self, order: OrderRequest) -> OrderResult:
        """Find out what became of an order that was sent before a crash."""
        ...
