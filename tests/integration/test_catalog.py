"""Venue listings against the exchange simulator: fetched, cached, used when the venue does not
answer, a venue market down (with its reason) when there is neither while the others run, a halt
seen on refresh unsubscribes the instrument, and ``arbsniper markets --json``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import msgspec
import pytest

from arbsniper.config import Config, DemoConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import DOWN, HALTED, Quote, VenueStatus
from arbsniper.sim import binance as sim_binance
from arbsniper.sim import okx as sim_okx
from arbsniper.sim.exchange import Simulator
from arbsniper.sim.launch import SimulatedVenues
from arbsniper.sim.server import SimVenueServer
from arbsniper.venues import REGISTRY
from arbsniper.venues.catalog import CACHED, LIVE, Catalog, MarketListing, fetch_listing
from arbsniper.venues.catalog import DOWN as LISTING_DOWN
from arbsniper.venues.connect import ConnectorSource, discover
from arbsniper.venues.metadata import InstrumentMeta
from arbsniper.venues.session import VenueSession

CALM = DemoConfig(dislocation_every_s=1e9, stale_every_s=1e9, crossed_every_s=1e9)
LISTINGS = [sim_binance.listing("BTC/USDT:USDT", 97_000.0), sim_binance.listing("ETH/USDT:USDT", 3_400.0),
            sim_okx.listing("BTC/USDT:USDT", 97_000.0), sim_okx.listing("ETH/USDT:USDT", 3_400.0)]
REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, **extra: object) -> Config:
    venues = {name: {"enabled": name in ("binance", "okx"), "markets": ["perp"]} for name in REGISTRY}
    return msgspec.convert({"data_dir": str(tmp_path), "venues": venues, **extra}, Config)


async def test_no_network_uses_the_cache_and_neither_makes_that_venue_down(tmp_path: Path) -> None:
    sim = Simulator(LISTINGS, demo=CALM, seed=1, venues=["binance", "okx"])
    await sim.start()
    urls = sim.urls()
    okx = REGISTRY["okx"].markets["perp"]
    catalog = Catalog(tmp_path)
    live = await catalog.load(okx, "perp", urls["okx"][1])
    assert live.source == LIVE and {m.instrument for m in live.instruments} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert {m.native_symbol: m.contract_size for m in live.instruments} == {"BTC-USDT-SWAP": 0.01, "ETH-USDT-SWAP": 0.1}
    await sim.stop()  # the venue is gone: connection refused
    cached = await Catalog(tmp_path).load(okx, "perp", urls["okx"][1])
    assert cached.source == CACHED and cached.instruments == live.instruments
    assert "metadata fetch failed" in cached.reason and cached.fetched_at == live.fetched_at
    down = await Catalog(tmp_path / "empty").load(okx, "perp", urls["okx"][1])
    assert down.source == LISTING_DOWN and down.instruments == [] and "no cached listing" in down.reason


async def test_a_venue_without_listing_is_down_with_its_reason_while_the_others_run(tmp_path: Path) -> None:
    dead = Simulator(LISTINGS, demo=CALM, seed=2, venues=["okx"])
    await dead.start()
    dead_urls = dead.urls()
    await dead.stop()
    sim = Simulator(LISTINGS, demo=CALM, seed=2, venues=["binance"])
    await sim.start()
    try:
        config = _config(tmp_path, min_venues=1)
        symbols = SymbolMap()
        found = await discover(config, symbols, {**sim.urls(), **dead_urls}, Catalog(tmp_path))
        assert set(found.down()) == {"okx:perp"} and "no cached listing" in found.down()["okx:perp"]
        assert {v.name for v in found.venues} == {"binance"}
        source = ConnectorSource(found.venues, discovery=found)
        assert source.health()["okx:perp"]["state"] == "down"
        events: list[object] = []
        task = asyncio.create_task(source.run(events.append))
        for _ in range(200):
            if any(type(e) is Quote for e in events):
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        okx_id = symbols.venue_id("okx")
        assert any(type(e) is VenueStatus and e.venue == okx_id and e.state == DOWN and "metadata" in e.reason for e in events)
        assert any(type(e) is Quote and e.venue == symbols.venue_id("binance") for e in events)
    finally:
        await sim.stop()


async def test_a_halt_seen_on_refresh_unsubscribes_the_instrument_and_tells_the_engine(tmp_path: Path) -> None:
    sim = Simulator(LISTINGS, demo=CALM, seed=3, venues=["binance", "okx"])
    await sim.start()
    try:
        symbols = SymbolMap()
        found = await discover(_config(tmp_path), symbols, sim.urls(), Catalog(None))
        source = ConnectorSource(found.venues, discovery=found)
        events: list[object] = []
        task = asyncio.create_task(source.run(events.append))
        okx_session = next(s for s in source.sessions if s.venue.name == "okx")
        for _ in range(200):
            if okx_session.stats.state == "up" and any(type(e) is Quote and e.venue == okx_session.venue.venue_id for e in events):
                break
            await asyncio.sleep(0.05)
        assert await source.refresh() == 0  # nothing changed
        spec = sim.servers["okx"].specs["ETH/USDT:USDT"]
        spec.listing = dataclasses.replace(spec.listing, status="halted")  # OKX now lists it "suspend"
        pushed: list[list[InstrumentMeta]] = []
        source.on_metadata = pushed.append  # the app re-sizes the engine and trader from it
        assert await source.refresh() == 1
        assert okx_session.venue.instruments == ["BTC/USDT:USDT"]
        assert {(m.venue, m.instrument) for m in pushed[0]} >= {("okx", "BTC/USDT:USDT")}
        assert ("okx", "ETH/USDT:USDT") not in {(m.venue, m.instrument) for m in pushed[0]}
        eth = symbols.instrument_id("ETH/USDT:USDT")
        halts = [e for e in events if type(e) is VenueStatus and e.state == HALTED]
        assert [(h.venue, h.instrument) for h in halts] == [(okx_session.venue.venue_id, eth)]
        assert "instrument_halted" in halts[0].reason
        for _ in range(100):
            if any('"op":"unsubscribe"' in m and "ETH-USDT-SWAP" in m for m in sim.servers["okx"].messages_received):
                break
            await asyncio.sleep(0.02)
        assert any('"op":"unsubscribe"' in m and "ETH-USDT-SWAP" in m for m in sim.servers["okx"].messages_received)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await sim.stop()


def test_markets_demo_json_prints_one_object_per_instrument_and_venue(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "ARBSNIPER_DEMO__BASES": "10"}
    out = subprocess.run([sys.executable, "-m", "arbsniper.cli", "markets", "--demo", "--json", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=60, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    keys = {"venue", "native_symbol", "instrument", "status", "contract_size", "lot_size", "tick_size", "min_notional",
            "funding_interval_hours"}
    assert rows and all(keys <= row.keys() for row in rows)
    assert {r["venue"] for r in rows} == set(REGISTRY)
    okx_btc = next(r for r in rows if r["venue"] == "okx" and r["native_symbol"] == "BTC-USDT-SWAP")
    assert (okx_btc["contract_size"], okx_btc["instrument"], okx_btc["status"]) == (0.01, "BTC/USDT:USDT", "trading")
    kucoin_btc = next(r for r in rows if r["venue"] == "kucoin" and r["native_symbol"] == "XBTUSDTM")
    assert kucoin_btc["instrument"] == "BTC/USDT:USDT"
    assert any(r["venue"] == "hyperliquid" and r["instrument"] == "BTC/USDC" for r in rows)  # UBTC
    assert {r["funding_interval_hours"] for r in rows if ":" in r["instrument"]} >= {1.0, 4.0, 8.0}
    halted = [r for r in rows if r["status"] == "halted"]
    assert [(r["venue"], r["instrument"], r["in_universe"]) for r in halted] == [("okx", "ADA/USDT:USDT", False)]


def test_parse_reads_contract_sizes_from_the_cached_listing(tmp_path: Path) -> None:
    """A real OKX swap frame (``"bidSz":"990"`` contracts of 0.01 BTC) parses to 9.9 BTC with the
    listing ``markets``/``run`` cached (here: the real REST sample); refused without it."""
    fixtures = REPO / "tests" / "fixtures" / "okx"
    swap = REGISTRY["okx"].markets["perp"]
    metas = swap.parse_metadata("perp", {"instruments": [(fixtures / "rest_instruments_swap.json").read_bytes()]})
    catalog = Catalog(tmp_path)
    catalog.write_cache(MarketListing(venue="okx", market="perp", instruments=metas, fetched_at=1.0))
    frames = fixtures / "bbo-tbt.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cmd = [sys.executable, "-m", "arbsniper.cli", "parse", "--venue", "okx", "--market", "perp", str(frames)]
    got = subprocess.run([*cmd, "--data-dir", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60, check=True)
    [quote] = [json.loads(line) for line in got.stdout.splitlines()]
    assert (quote["instrument"], quote["bid_size"], quote["ask_size"]) == ("BTC/USDT:USDT", 9.9, 7.27)
    bare = subprocess.run([*cmd, "--data-dir", str(tmp_path / "none")], capture_output=True, text=True, env=env, timeout=60, check=True)
    assert bare.stdout == "" and "no cached okx perp listing" in bare.stderr and "1 bad" in bare.stderr


# The quote (and settlement) each venue lists its spot pairs and perpetuals in.
_SUFFIX = {"coinbase": {"spot": "/USD", "perp": "/USD:USD"}, "hyperliquid": {"spot": "/USDC", "perp": "/USDC:USDC"},
           "paradex": {"perp": "/USD:USDC"}}
_MARKETS = [(v, m) for v in REGISTRY for m in REGISTRY[v].markets]


def _eth_channels(server: SimVenueServer) -> list[str]:
    """ETH's channels the simulator still sends on (Coinbase's heartbeats are the connection's)."""
    return [k for c in server.connections for k in c.subs if "ETH" in k.upper() and not k.startswith("heartbeats:")]


@pytest.mark.parametrize(("venue", "market"), _MARKETS, ids=[f"{v}-{m}" for v, m in _MARKETS])
async def test_unsubscribe_stops_the_venue_sending_the_instrument(venue: str, market: str) -> None:
    """The venue's own unsubscribe on the live connection: its simulator stops that instrument's
    channels (as the venue would), the other instrument keeps streaming, nothing reconnects."""
    suffix = _SUFFIX.get(venue, {"spot": "/USDT", "perp": "/USDT:USDT"})[market]
    make = importlib.import_module(f"arbsniper.sim.{venue}").listing
    listings = [make("BTC" + suffix, 97_000.0), make("ETH" + suffix, 3_400.0)]
    sim = Simulator(listings, demo=DemoConfig(updates_per_s=2000.0, dislocation_every_s=1e9, stale_every_s=1e9, crossed_every_s=1e9), seed=4, venues=[venue])
    await sim.start()
    try:
        cls = REGISTRY[venue].markets[market]
        rest = sim.urls()[venue][1]
        symbols = SymbolMap()
        async with aiohttp.ClientSession() as http:
            metas = await fetch_listing(cls, market, rest, http)
        session = VenueSession(cls(market, symbols, metas, base_url=sim.urls()[venue][0], rest_url=rest))
        eth = symbols.instrument_id("ETH" + suffix)
        quotes: list[int] = []
        task = asyncio.create_task(session.run(lambda e: quotes.append(e.instrument) if type(e) is Quote else None))
        for _ in range(200):
            if eth in quotes:
                break
            await asyncio.sleep(0.05)
        assert eth in quotes
        assert session.unsubscribe("ETH" + suffix, "instrument_halted: test") == eth
        server = sim.servers[venue]
        for _ in range(100):  # the venue has taken the unsubscribe (paced) off every channel
            if not _eth_channels(server):
                break
            await asyncio.sleep(0.05)
        assert _eth_channels(server) == []
        await asyncio.sleep(0.5)  # what was in flight arrives
        quotes.clear()
        await asyncio.sleep(1.0)
        assert eth not in quotes and quotes  # the other instrument still streams
        assert server.connections_total == 1  # on the same connection: no reconnect hid it
        assert (session.stats.bad_frames, session.stats.last_bad_frame) == (0, "")  # every ack understood
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await sim.stop()


async def test_demo_auto_universe_streams_every_chosen_listing_on_every_venue(tmp_path: Path) -> None:
    """``run --demo``'s source: the auto universe over the demo market (10 bases here), every chosen
    listing streaming within the simulator's subscription limits (it refuses what the venue would)."""
    config = msgspec.convert({"data_dir": str(tmp_path), "demo": {"bases": 10, "seed": 5}}, Config)
    symbols = SymbolMap()
    source = SimulatedVenues(config, symbols, seed=5)
    seen: set[tuple[int, int]] = set()
    task = asyncio.create_task(source.run(lambda e: seen.add((e.venue, e.instrument)) if type(e) is Quote else None))
    want: set[tuple[int, int]] = set()
    try:
        for _ in range(1200):
            await asyncio.sleep(0.05)
            found = source.discovery
            if found is not None and not want:
                want = {(symbols.venue_id(m.venue), symbols.instrument_id(m.instrument))
                        for ms in found.universe.selection.values() for m in ms}
            if want and want <= seen:
                break
        assert found is not None and len(found.universe.bases) == 10 and not found.down()
        assert {v for v, _ in want} == {symbols.venue_id(n) for n in REGISTRY}
        assert ("okx", "ADA/USDT:USDT") not in {(m.venue, m.instrument) for ms in found.universe.selection.values() for m in ms}
        missing = sorted((symbols.venues[v], symbols.instruments[i].name) for v, i in want - seen)
        assert missing == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
