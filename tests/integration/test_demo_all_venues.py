"""`run --demo` shows opportunities on every one of the eight venues, through the real connectors."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from arbsniper.app import App
from arbsniper.config import Config, DemoConfig, HistoryConfig
from arbsniper.instruments import SymbolMap
from arbsniper.sim.launch import SimulatedVenues
from arbsniper.venues import REGISTRY

EIGHT = {"binance", "coinbase", "bybit", "okx", "kucoin", "bitget", "hyperliquid", "paradex"}


def test_demo_opens_opportunities_on_all_eight_venues(tmp_path: Path) -> None:
    assert set(REGISTRY) == EIGHT
    # Dislocations take the venues in turn, so ten seconds at one every 0.3 s visit each several times.
    demo = DemoConfig(dislocation_every_s=0.3, stale_every_s=60.0, crossed_every_s=5.0, updates_per_s=1000.0)
    config = Config(data_dir=str(tmp_path), demo=demo, history=HistoryConfig(enabled=False))
    symbols = SymbolMap()
    out = io.StringIO()
    source = SimulatedVenues(config, symbols, seed=3)
    app = App(config, [source], symbols, json_out=out, human_out=None, history=False)
    assert asyncio.run(app.run(10.0)) == 0
    opened = [json.loads(line) for line in out.getvalue().splitlines() if '"event":"open"' in line]
    venues = {s["buy_exchange"] for s in opened} | {s["sell_exchange"] for s in opened}
    assert venues == EIGHT
    assert all(s["net_bps"] >= 0 for s in opened)
