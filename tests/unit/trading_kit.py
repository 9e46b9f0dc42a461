"""A small real market for trading tests: an Engine fed hand-made books, a fake clock, a runner.

Nothing here stands in for a server: the runner, paper executor and ledger are the real ones,
reading a real ``Engine``'s state, with time under the test's control.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

from arbsniper.config import Config, LimitsConfig, TradingConfig, VenueConfig
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import UP, Book, Funding, Signal, VenueStatus
from arbsniper.trading.ledger import Ledger
from arbsniper.trading.market import EngineMarketView, MarketRules
from arbsniper.trading.paper import PaperExecutor
from arbsniper.trading.risk import KillSwitch
from arbsniper.trading.runner import Runner

T0 = 1_800_000_000_000_000_000  # ns


class Clock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1e9)


def make_config(tmp: Path, *, fees: dict[str, float] | None = None, lots: dict[str, dict[str, float]] | None = None,
                **trading: Any) -> Config:
    """Venues with the given taker fees (bps, spot and perp alike); trading settings override defaults."""
    fees = fees or {"binance": 10.0, "okx": 10.0}
    venues = {}
    for v, fee in fees.items():
        limits = {inst: LimitsConfig(lot_size=lot) for inst, lot in (lots or {}).get(v, {}).items()}
        venues[v] = VenueConfig(taker_fee_bps_spot=fee, taker_fee_bps_perp=fee, limits=limits)
    base = {"latency_ms": 0.0, "price_tolerance_bps": 50.0, "max_signal_age_ms": 1000,
            "inventory": {"default": {"USDT": 10_000.0, "BTC": 2.0}}}
    base.update(trading)
    return Config(data_dir=str(tmp), venues=venues, trading=msgspec.convert(base, TradingConfig))


class Market:
    """An Engine whose books the test sets by hand."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.symbols = SymbolMap()
        self.signals: list[Signal] = []
        self.engine = Engine(self.symbols, config, self.signals.append, clock_ns=clock)
        self.seq = 0

    def book(self, venue: str, instrument: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
        v = self.symbols.venue_id(venue)
        i = self.symbols.instrument_id(instrument)
        self.engine.grow()
        self.seq += 1
        self.engine.on_event(Book(v, i, bids, asks, self.clock.now, self.clock.now, self.seq))

    def funding(self, venue: str, instrument: str, rate: float, interval_hours: float) -> None:
        v = self.symbols.venue_id(venue)
        i = self.symbols.instrument_id(instrument)
        self.engine.grow()
        self.engine.on_event(Funding(v, i, rate, interval_hours, 0, self.clock.now, self.clock.now))

    def status(self, venue: str, state: int, reason: str = "test") -> None:
        self.engine.on_event(VenueStatus(self.symbols.venue_id(venue), state, reason, self.clock.now))

    def up(self, venue: str) -> None:
        self.status(venue, UP)


def make_runner(config: Config, market: Market, *, sleep: Callable[[float], Awaitable[object]] | None = None,
                ledger: Ledger | None = None) -> Runner:
    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    view = EngineMarketView(market.engine)
    executor = PaperExecutor(view, MarketRules(config), config.trading.latency_s, clock_ns=market.clock,
                             sleep=sleep or no_wait)
    ledger = ledger or Ledger(Path(config.data_dir) / "trading-paper.sqlite")
    return Runner(config, executor, view, ledger, kill=KillSwitch(Path(config.data_dir) / "trading.halt"), out=None,
                  clock_ns=market.clock)


def signal(clock: Clock, buy: str, sell: str, instrument: str, buy_price: float, sell_price: float, size: float, *,
           oid: str = "opp-1", event: str = "open", net_bps: float = 50.0, sell_instrument: str | None = None,
           rate: float = 1.0) -> Signal:
    return Signal(
        action=f"BUY_{buy.upper()}_SELL_{sell.upper()}", symbol=instrument, spread_pct=0.0, buy_price=buy_price,
        sell_price=sell_price, profit_estimate=sell_price - buy_price, timestamp=clock.now // 1_000_000,
        detected_at=clock.now // 1_000_000, id=oid, event=event, buy_exchange=buy, sell_exchange=sell,
        spread_bps=0.0, fees_bps=0.0, slippage_bps=0.0, funding_bps=0.0, net_bps=net_bps, size=size,
        profit_quote=0.0, confidence=50.0, latency_us=0.0, buy_instrument=instrument,
        sell_instrument=sell_instrument or instrument, quote_currency="USDT", conversion_rate=rate)


async def settle(runner: Runner) -> None:
    """Wait until every trade task the runner started has finished."""
    while runner._tasks:
        await asyncio.gather(*list(runner._tasks))
