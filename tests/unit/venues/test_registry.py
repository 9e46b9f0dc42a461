"""One registry: every list of venues in the program is derived from ``venues.REGISTRY``."""

from __future__ import annotations

import argparse
import ast
import importlib
from pathlib import Path

import arbsniper
from arbsniper.cli import build_parser
from arbsniper.config import VENUE_NAMES, Config
from arbsniper.sim.exchange import SIM_REGISTRY
from arbsniper.sim.synthetic import DEMO_LISTINGS
from arbsniper.trading.live import CCXT_IDS
from arbsniper.venues import REGISTRY

SRC = Path(arbsniper.__file__).parent
EIGHT = ("binance", "coinbase", "bybit", "okx", "kucoin", "bitget", "hyperliquid", "paradex")


def test_registry_lists_the_eight_venues_each_from_its_own_module() -> None:
    assert tuple(REGISTRY) == EIGHT
    for name, info in REGISTRY.items():
        module = importlib.import_module(f"arbsniper.venues.{name}")
        assert module.INFO is info and info.name == name
        for market, cls in info.markets.items():
            assert cls.name == name and market in cls.markets


def test_config_cli_live_executor_and_simulator_derive_their_venues_from_the_registry() -> None:
    assert tuple(REGISTRY) == VENUE_NAMES
    assert {name: info.ccxt_id for name, info in REGISTRY.items()} == CCXT_IDS
    assert list(SIM_REGISTRY) == list(REGISTRY) and all(SIM_REGISTRY[n].venue == n for n in REGISTRY)
    assert [lst.venue for lst in DEMO_LISTINGS] == [n for n, info in REGISTRY.items() for _ in info.demo_instruments]
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    venue = next(a for a in commands.choices["parse"]._actions if a.dest == "venue")
    assert tuple(venue.choices) == tuple(REGISTRY)


def test_default_fees_come_from_each_venues_module() -> None:
    config = Config()
    for name, info in REGISTRY.items():
        for market, fee in info.taker_fee_bps.items():
            assert config.taker_fee_bps(name, 1 if market == "perp" else 0) == fee
    assert (config.taker_fee_bps("binance", 0), config.taker_fee_bps("binance", 1)) == (10.0, 5.0)
    assert config.taker_fee_bps("coinbase", 1) == 10.0  # the US perp-style futures (approx.)


def _literals_naming_two_venues(tree: ast.AST) -> list[int]:
    names = set(REGISTRY)
    lines = []
    for node in ast.walk(tree):
        items: list[ast.expr | None] = []
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = [*node.keys, *node.values]
        found = {i.value for i in items if isinstance(i, ast.Constant) and i.value in names}
        if len(found) >= 2:
            lines.append(node.lineno)
    return lines


def test_no_other_list_of_venue_names_in_the_source() -> None:
    # The registry's tuple of INFO objects is the one list; no literal anywhere else names two venues.
    offenders = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if (lines := _literals_naming_two_venues(ast.parse(path.read_text(), str(path))))
    }
    assert offenders == {}
