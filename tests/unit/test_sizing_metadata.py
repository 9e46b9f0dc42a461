"""The detector's tradable size from the venues' metadata (lot, minimum size, minimum notional),
pushed on the cold path by ``Engine.set_metadata``; ``[venues.X] limits`` overrides it."""

from __future__ import annotations

from typing import Any

import msgspec

from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Signal
from arbsniper.trading.market import MarketRules
from arbsniper.venues.metadata import TRADING, InstrumentMeta

T = 1_800_000_000_000_000_000
INST = "BTC/USDT"


def meta(venue: str, lot_size: float = 0.0, min_size: float = 0.0, min_notional: float = 0.0) -> InstrumentMeta:
    return InstrumentMeta(venue=venue, market="spot", native_symbol="BTCUSDT", instrument=INST, status=TRADING,
                          lot_size=lot_size, min_size=min_size, min_notional=min_notional)


def opened(metas: list[InstrumentMeta], **config: Any) -> list[Signal]:
    """Signals opened by a 2 % gap with 1.3 BTC on each side (buy binance at 100, sell okx at 102)."""
    symbols = SymbolMap()
    signals: list[Signal] = []
    engine = Engine(symbols, msgspec.convert({"detector": {"max_notional": 1e9}, **config}, Config), signals.append,
                    clock_ns=lambda: T)
    engine.set_metadata(metas)
    i, buy, sell = symbols.instrument_id(INST), symbols.venue_id("binance"), symbols.venue_id("okx")
    engine.grow()
    engine.on_event(Book(buy, i, [(99.0, 1.3)], [(100.0, 1.3)], T, T, 1))
    engine.on_event(Book(sell, i, [(102.0, 1.3)], [(103.0, 1.3)], T, T, 1))
    return [s for s in signals if s.event == "open"]


def test_the_size_is_rounded_down_to_the_coarser_listed_lot() -> None:
    [s] = opened([meta("binance", lot_size=0.5), meta("okx", lot_size=0.1)])
    assert s.size == 1.0
    [s] = opened([])
    assert s.size == 1.3  # no metadata, no config: top-of-book sizes as they are


def test_below_a_listed_minimum_size_or_notional_there_is_no_signal() -> None:
    assert opened([meta("okx", min_size=2.0)]) == []
    assert opened([meta("binance", min_notional=200.0)]) == []  # 1.3 × 100 = 130 < 200
    assert len(opened([meta("binance", min_notional=100.0)])) == 1


def test_config_limits_override_the_listing_field_by_field() -> None:
    venues = {"binance": {"limits": {INST: {"lot_size": 0.25}}}}
    [s] = opened([meta("binance", lot_size=0.5, min_notional=200.0)], venues={"binance": {"limits": {INST: {"lot_size": 0.25, "min_notional": 1.0}}}})
    assert s.size == 1.25
    assert opened([meta("binance", lot_size=0.5, min_notional=200.0)], venues=venues) == []  # min_notional not overridden


def test_the_trader_rules_read_the_same_listing_with_the_same_override() -> None:
    config = msgspec.convert({"venues": {"okx": {"limits": {INST: {"lot_size": 0.25}}}}}, Config)
    rules = MarketRules(config)
    rules.set_metadata([meta("binance", lot_size=0.5, min_size=0.5, min_notional=5.0), meta("okx", lot_size=0.1)])
    assert (rules.lot_size("binance", INST), rules.min_size("binance", INST), rules.min_notional("binance", INST)) == (0.5, 0.5, 5.0)
    assert rules.lot_size("okx", INST) == 0.25 and rules.lot_size("bybit", INST) == 0.0
