"""The Bitget simulator speaks Bitget's truth: its REST listing parses, its 2026 books (seq/pseq,
some without a checksum) rebuild the reference book through the real session, and it refuses
what Bitget refuses."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from arbsniper.config import DemoConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book
from arbsniper.sim.bitget import BitgetSim, listing
from arbsniper.sim.exchange import Simulator
from arbsniper.venues.bitget import Bitget
from arbsniper.venues.metadata import DELISTED, HALTED, TRADING
from tests.unit.venues.sim_roundtrip import Running, fetch_metadata

CALM = DemoConfig(updates_per_s=300.0, dislocation_every_s=1e6, stale_every_s=1e6, crossed_every_s=1e6)


def test_listing_follows_bitget_conventions() -> None:
    btc = listing("BTC/USDT:USDT", 97_000.0)
    # volumePlace 3 (0.001 BTC, as the live BTCUSDT in ccxt's capture), pricePlace 1, minTradeUSDT 5
    assert (btc.contract_size, btc.lot_size, btc.min_size, btc.tick, btc.min_notional) == (1.0, 0.001, 0.001, 0.1, 5.0)
    assert (listing("ETH/USDT:USDT", 3_400.0).lot_size, listing("SOL/USDT:USDT", 190.0).lot_size) == (0.01, 0.1)
    assert listing("DOGE/USDT:USDT", 0.3).lot_size == 1.0
    spot = listing("BTC/USDT", 97_000.0)
    assert (spot.lot_size, spot.tick, spot.min_size, spot.min_notional) == (1e-6, 0.1, 0.0, 1.0)  # quantityPrecision 6


async def test_rest_listing_round_trip_and_2026_books_rebuild_the_reference_book() -> None:
    listings = [listing("BTC/USDT:USDT", 97_000.0), listing("ETH/USDT:USDT", 3_400.0, 4.0),
                listing("SOL/USDT:USDT", 190.0, 1.0, "halted"), listing("BTC/USDT", 97_000.0), listing("SOL/USDT", 190.0, status="delisted")]
    sim = Simulator(listings, demo=CALM, seed=9, venues=["bitget"])
    await sim.start()
    try:
        ws, rest = sim.urls()["bitget"]
        metas = {m.instrument: m for m in await fetch_metadata(Bitget, "perp", rest)}
        btc, eth, sol = metas["BTC/USDT:USDT"], metas["ETH/USDT:USDT"], metas["SOL/USDT:USDT"]
        assert (btc.lot_size, btc.min_size, btc.tick_size, btc.min_notional, btc.funding_interval_hours) == (0.001, 0.001, 0.1, 5.0, 8.0)
        assert (eth.lot_size, eth.funding_interval_hours, sol.status, sol.venue_status) == (0.01, 4.0, HALTED, "maintain")
        spot = {m.instrument: m for m in await fetch_metadata(Bitget, "spot", rest)}
        assert (spot["BTC/USDT"].status, spot["BTC/USDT"].lot_size, spot["BTC/USDT"].tick_size) == (TRADING, 1e-6, 0.1)
        assert (spot["SOL/USDT"].status, spot["SOL/USDT"].venue_status) == (DELISTED, "offline")

        symbols = SymbolMap()
        venue = Bitget("perp", symbols, [btc, eth, sol], base_url=ws, rest_url=rest)
        async with Running(venue) as run:
            def books_of(name: str) -> list[Book]:
                iid = symbols.instrument_id(name)
                return [e for e in run.events if isinstance(e, Book) and e.instrument == iid]

            await run.until(lambda: len(books_of("BTC/USDT:USDT")) >= 12 and len(books_of("ETH/USDT:USDT")) >= 12, "books")
            await sim.pause()
            server = sim.servers["bitget"]

            def caught_up(name: str) -> bool:
                books = books_of(name)
                ref = server.books[name]
                return bool(books) and books[-1].bids[: len(ref.bids)] == ref.bids and books[-1].asks[: len(ref.asks)] == ref.asks

            await run.until(lambda: caught_up("BTC/USDT:USDT") and caught_up("ETH/USDT:USDT"), "the reference books")
            updates = [f["data"][0] for f in run.tap.frames  # type: ignore[index]
                       if f.get("action") == "update" and f.get("arg", {}).get("channel") == "books"]  # type: ignore[union-attr]
            assert updates and all("seq" in d and "pseq" in d for d in updates)
            assert any("checksum" not in d for d in updates) and any("checksum" in d for d in updates)
            assert run.session.stats.resyncs == 0 and run.session.stats.bad_frames == 0  # no checksum = not a mismatch
            ref = server.books["BTC/USDT:USDT"]
            assert all(abs(s * 1000 - round(s * 1000)) < 1e-6 for _, s in ref.bids + ref.asks)  # sizes on the 0.001 BTC step
            assert not books_of("SOL/USDT:USDT")  # halted: silent
    finally:
        await sim.stop()


async def test_sequence_gap_in_simulated_books_resyncs_through_the_session() -> None:
    sim = Simulator([listing("BTC/USDT:USDT", 97_000.0)], demo=CALM, seed=2, venues=["bitget"])
    await sim.start()
    try:
        ws, rest = sim.urls()["bitget"]
        metas = await fetch_metadata(Bitget, "perp", rest)
        venue = Bitget("perp", SymbolMap(), metas, base_url=ws, rest_url=rest)
        async with Running(venue) as run:
            await run.until(lambda: sum(isinstance(e, Book) for e in run.events) >= 5, "books")
            sim.servers["bitget"].skip_sequence("BTC/USDT:USDT")
            await run.until(lambda: run.session.stats.resyncs >= 1, "a resync")
            gaps = [e for e in run.events if getattr(e, "reason", "").startswith("BTCUSDT: sequence gap")]
            assert gaps
    finally:
        await sim.stop()


async def _ws(server: BitgetSim) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    http = aiohttp.ClientSession()
    return http, await http.ws_connect(f"ws://{server.host}:{server.port}/perp/v2/ws/public")


async def _answer(ws: aiohttp.ClientWebSocketResponse) -> dict[str, object]:
    reply: dict[str, object] = json.loads(await ws.receive_str(timeout=5))
    return reply


def _sub(*channels: str) -> str:
    return json.dumps({"op": "subscribe", "args": [{"instType": "USDT-FUTURES", "channel": c, "instId": "BTCUSDT"} for c in channels]})


async def test_simulator_refuses_long_args_too_many_requests_and_channels_as_bitget_does() -> None:
    server = BitgetSim([listing("BTC/USDT:USDT", 97_000.0)])
    await server.start()
    http, ws = await _ws(server)
    try:
        await ws.send_str(_sub(*["books1"] * 64))  # 64 args of 65 bytes and commas: 4 223 > 4096
        assert await _answer(ws) == {"event": "error", "code": 30002, "msg": "illegal request"}
        server.max_channels = 2  # 1000 on Bitget
        await ws.send_str(_sub("books1", "ticker", "books"))
        assert [(await _answer(ws))["event"] for _ in range(2)] == ["subscribe", "subscribe"]
        assert await _answer(ws) == {"event": "error", "arg": {"instType": "USDT-FUTURES", "channel": "books", "instId": "BTCUSDT"},
                                     "code": 30006, "msg": "request too many"}
        server.max_requests_per_hour = 2  # 240 on Bitget: the accepted request above and one more
        await ws.send_str(_sub("books1"))
        assert (await _answer(ws))["event"] == "subscribe"
        await ws.send_str(_sub("books1"))
        assert await _answer(ws) == {"event": "error", "code": 30006, "msg": "request too many"}
    finally:
        await ws.close()
        await http.close()
        await server.stop()


async def test_more_than_ten_messages_a_second_close_the_connection() -> None:
    server = BitgetSim([listing("BTC/USDT:USDT", 97_000.0)])
    await server.start()
    http, ws = await _ws(server)
    try:
        for _ in range(11):  # pings count
            await ws.send_str("ping")
        replies = [await ws.receive(timeout=5) for _ in range(12)]
        texts = [r.data for r in replies if r.type == aiohttp.WSMsgType.TEXT]
        assert texts == ["pong"] * 10 + ['{"event":"error","code":30007,"msg":"request over limit,connection close"}']
        assert any(r.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING) for r in replies)
    finally:
        await ws.close()
        await http.close()
        await server.stop()


class _QuickWatchdog(BitgetSim):
    timer_interval_s = 0.05
    ping_timeout_s = 0.2  # 120 s on Bitget


async def test_a_connection_without_ping_is_dropped() -> None:
    server = _QuickWatchdog([listing("BTC/USDT:USDT", 97_000.0)])
    await server.start()
    http, ws = await _ws(server)
    try:
        msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await asyncio.sleep(0)
    finally:
        await ws.close()
        await http.close()
        await server.stop()


async def test_simulator_rest_answers_in_bitget_format() -> None:
    server = BitgetSim([listing("BTC/USDT:USDT", 97_000.0, 4.0), listing("BTC/USDT", 97_000.0, status="halted")])
    status, body = server.rest("GET", "perp", "/api/v2/mix/market/contracts", {"productType": ["USDT-FUTURES"]})
    [c] = json.loads(body)["data"]
    assert status == 200 and json.loads(body)["code"] == "00000"
    assert (c["sizeMultiplier"], c["minTradeNum"], c["volumePlace"], c["pricePlace"], c["priceEndStep"]) == ("0.001", "0.001", "3", "1", "1")
    assert (c["fundInterval"], c["symbolStatus"], c["minTradeUSDT"], c["symbolType"]) == ("4", "normal", "5", "perpetual")
    status, body = server.rest("GET", "spot", "/api/v2/spot/public/symbols", {})
    [s] = json.loads(body)["data"]
    assert (s["quantityPrecision"], s["pricePrecision"], s["status"], s["minTradeUSDT"]) == ("6", "1", "halt", "1")
    assert server.rest("GET", "perp", "/api/v2/mix/market/contracts", {})[0] == 400
