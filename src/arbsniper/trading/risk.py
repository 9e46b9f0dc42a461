"""Risk limits and the kill switch: every refusal has a reason that names the limit.

Limits (``[trading]`` in the config): notional per trade (trades are sized down to it, and a
proposal above it is refused), open notional per venue, number of open positions, and the daily
loss limit (P&L realized since 00:00 UTC plus the marked P&L of what is open, in the reference
currency). The kill switch is a file, ``trading.halt`` in the data directory: ``arbsniper trader
--halt`` creates it, ``--resume`` removes it, and a running trader checks it before every trade
(and every mark tick, to flatten open positions when the halt asks for it).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from arbsniper.config import TradingConfig
from arbsniper.trading.portfolio import Portfolio

HALT_FILE = "trading.halt"

# Refusal reasons.
HALTED = "halted"
DAILY_LOSS = "daily_loss_limit"
MAX_POSITIONS = "max_open_positions"
MAX_TRADE = "max_trade_notional"
MAX_VENUE = "max_venue_notional"
INVENTORY = "insufficient_inventory"
TOO_SMALL = "below_min_notional"
DUPLICATE = "duplicate_position"
ALREADY_TRADED = "already_traded"
STALE_SIGNAL = "stale_signal"
PRICE_MOVED = "price_moved"
BOOK_INVALID = "book_invalid"
LEDGER_ERROR = "ledger_error"
BELOW_MIN_EDGE = "below_min_edge"
LOW_CAPTURE = "low_capture"  # p_capture below [trading] min_capture

DAY_NS = 86_400 * 1_000_000_000


def halt_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir).expanduser() / HALT_FILE


class KillSwitch:
    """A file whose presence halts new trades; its JSON may ask to flatten open positions too."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def state(self) -> dict | None:
        """None when trading is allowed, else ``{"reason", "flatten", "ts"}``."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError:
            return {"reason": "unreadable halt file", "flatten": False}
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            data = {"reason": text.strip()}
        return data if isinstance(data, dict) else {"reason": str(data)}

    def engage(self, reason: str = "manual", flatten: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"reason": reason, "flatten": flatten, "ts": int(time.time())}))
        os.replace(tmp, self.path)

    def release(self) -> bool:
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False


@dataclass(slots=True)
class Proposal:
    """A sized trade about to be sent: each leg's notional in its own quote currency."""

    buy_venue: str
    sell_venue: str
    buy_notional: float
    sell_notional: float


class RiskManager:
    """Decides whether a trade may be opened now, and how much room each limit leaves."""

    def __init__(self, config: TradingConfig, kill: KillSwitch, portfolio: Portfolio,
                 clock_ns=time.time_ns) -> None:  # type: ignore[no-untyped-def]
        self.config = config
        self.kill = kill
        self.portfolio = portfolio
        self.clock_ns = clock_ns
        self.internal_halt: str | None = None  # set by the runner itself (e.g. the ledger failed)
        self._day = -1
        self.realized_today = 0.0  # reference currency

    def add_realized(self, pnl_ref: float, closed_ns: int) -> None:
        """Count a closed trade's P&L towards the day it closed on (UTC)."""
        day = closed_ns // DAY_NS
        if day > self._day:
            self._day, self.realized_today = day, 0.0
        if day == self._day:
            self.realized_today += pnl_ref

    def daily_pnl(self) -> float:
        if self.clock_ns() // DAY_NS != self._day:
            self._day, self.realized_today = self.clock_ns() // DAY_NS, 0.0
        open_pnl = sum(t.pnl * t.ref_rate for t in self.portfolio.trades.values())
        return self.realized_today + open_pnl

    def halted(self) -> str | None:
        if self.internal_halt:
            return self.internal_halt
        st = self.kill.state()
        return None if st is None else str(st.get("reason") or "halted")

    def check_gates(self) -> str | None:
        """Limits that do not depend on the trade's size."""
        if self.halted() is not None:
            return HALTED
        if self.daily_pnl() <= -self.config.daily_loss_limit:
            return DAILY_LOSS
        if len(self.portfolio.trades) >= self.config.max_open_positions:
            return MAX_POSITIONS
        return None

    def venue_headroom(self, venue: str) -> float:
        return self.config.max_venue_notional - self.portfolio.exposure(venue)

    def check(self, p: Proposal) -> str | None:
        """Every limit, for a trade of a given size; None means it may go."""
        reason = self.check_gates()
        if reason:
            return reason
        tol = 1e-9 * self.config.max_trade_notional
        if p.buy_notional > self.config.max_trade_notional + tol or p.sell_notional > self.config.max_trade_notional + tol:
            return MAX_TRADE
        if p.buy_notional > self.venue_headroom(p.buy_venue) + tol or p.sell_notional > self.venue_headroom(p.sell_venue) + tol:
            return MAX_VENUE
        return None
