"""The Binance simulator speaks the venue's truth: its REST listing parses into the right metadata,
a real session on it sees the simulator's books, it refuses what Binance refuses, halted listings stay quiet."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from arbsniper.model import Funding
from arbsniper.sim.binance import BinanceSim, listing
from arbsniper.sim.exchange import Simulator
from arbsniper.sim.synthetic import SimBook, SimFunding
from arbsniper.venues.binance import BinanceSpot, BinanceUsdm
from arbsniper.venues.metadata import HALTED, TRADING, RestRequest
from tests.unit.venues.simkit import CALM, SessionRun, fetch, fetch_metadata, until


def test_listing_filters_fit_the_price() -> None:
    btc = listing("BTC/USDT", 97_000.0)
    assert (btc.venue, btc.tick, btc.lot_size, btc.min_size, btc.min_notional, btc.contract_size) == ("binance", 0.01, 1e-05, 1e-05, 5.0, 1.0)
    assert (listing("ETH/USDT", 3_400.0).lot_size, listing("SOL/USDT", 190.0).lot_size) == (0.0001, 0.001)
    assert (listing("XRP/USDT", 2.3).tick, listing("DOGE/USDT", 0.31).tick, listing("DOGE/USDT", 0.31).lot_size) == (0.0001, 1e-05, 1.0)
    perp = listing("BTC/USDT:USDT", 97_000.0, funding_interval_hours=4.0, status="halted")
    assert (perp.tick, perp.lot_size, perp.funding_interval_hours, perp.status) == (0.1, 0.001, 4.0, "halted")
    assert (listing("ETH/USDT:USDT", 3_400.0).lot_size, listing("SOL/USDT:USDT", 190.0).lot_size) == (0.01, 0.1)


async def test_spot_listing_round_trip_gives_metadata_and_a_session_sees_the_simulator_s_books() -> None:
    listings = [listing("BTC/USDT", 97_000.0), listing("ETH/USDT", 3_400.0), listing("SOL/USDT", 190.0, status="halted")]
    sim = Simulator(listings, demo=CALM, seed=7, venues=["binance"])
    await sim.start()
    run = SessionRun(sim, "binance")
    try:
        ws, rest = sim.urls()["binance"]
        metas = {m.instrument: m for m in await fetch_metadata(BinanceSpot, "spot", rest)}
        btc, sol = metas["BTC/USDT"], metas["SOL/USDT"]
        assert (btc.native_symbol, btc.status, btc.venue_status, btc.tick_size, btc.lot_size, btc.min_notional) == (
            "BTCUSDT", TRADING, "TRADING", 0.01, 1e-05, 5.0)
        assert (sol.status, sol.venue_status, sol.quote_volume_24h) == (HALTED, "HALT", 0.0)
        book = sim.servers["binance"].books["BTC/USDT"]
        assert btc.last_price == pytest.approx((book.bids[0][0] + book.asks[0][0]) / 2, rel=1e-3)  # the market moves meanwhile
        assert btc.quote_volume_24h == pytest.approx(0.8 * 20_000 * btc.last_price)  # synthetic BTC size 0.8
        trading = [m for m in metas.values() if m.trading]
        run.start(BinanceSpot("spot", run.symbols, trading, base_url=ws, rest_url=rest))
        await run.settled_book_matches("BTC/USDT")
        await until(lambda: bool(run.quotes("ETH/USDT")), "an ETH quote")
        assert run.quotes("SOL/USDT") == []
    finally:
        await run.stop()
        await sim.stop()


async def test_usdm_listing_round_trip_with_4h_funding_from_funding_info_and_premium_index() -> None:
    listings = [listing("BTC/USDT:USDT", 97_000.0), listing("ETH/USDT:USDT", 3_400.0, funding_interval_hours=4.0)]
    sim = Simulator(listings, demo=CALM, seed=7, venues=["binance"])
    await sim.start()
    run = SessionRun(sim, "binance")
    try:
        ws, rest = sim.urls()["binance"]
        info = json.loads(await fetch(RestRequest("GET", rest.replace("{market}", "perp") + "/fapi/v1/fundingInfo")))
        assert [(x["symbol"], x["fundingIntervalHours"]) for x in info] == [("ETHUSDT", 4)]  # only the adjusted one
        metas = {m.instrument: m for m in await fetch_metadata(BinanceUsdm, "perp", rest)}
        btc, eth = metas["BTC/USDT:USDT"], metas["ETH/USDT:USDT"]
        assert (btc.tick_size, btc.lot_size, btc.min_notional, btc.funding_interval_hours) == (0.1, 0.001, 5.0, 8.0)
        assert (eth.lot_size, eth.funding_interval_hours) == (0.01, 4.0)
        venue = BinanceUsdm("perp", run.symbols, list(metas.values()), base_url=ws, rest_url=rest)
        run.start(venue)
        await run.settled_book_matches("ETH/USDT:USDT")
        [poll] = venue.poll_requests()
        fundings = [e for e in venue.on_poll(poll, await fetch(poll), time.time_ns()).events if isinstance(e, Funding)]
        by_name = {run.symbols.instrument_name(f.instrument): f for f in fundings}
        assert by_name["ETH/USDT:USDT"].interval_hours == 4.0 and by_name["BTC/USDT:USDT"].interval_hours == 8.0
        assert by_name["ETH/USDT:USDT"].rate == pytest.approx(sim.servers["binance"].fundings["ETH/USDT:USDT"].rate, abs=1e-8)
    finally:
        await run.stop()
        await sim.stop()


class _Server:
    """One BinanceSim driven by hand (no synthetic market), and raw WebSocket clients on it."""

    def __init__(self, *instruments: str, status: str = "trading") -> None:
        self.server = BinanceSim([listing(i, 100.0, status=status if k else "trading") for k, i in enumerate(instruments)])
        self.http: aiohttp.ClientSession

    async def __aenter__(self) -> _Server:
        await self.server.start()
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        await self.server.stop()

    async def connect(self, market: str, path: str) -> aiohttp.ClientWebSocketResponse:
        return await self.http.ws_connect(self.server.base_url.replace("{market}", market) + path)

    def publish(self, instrument: str, price: float = 100.0) -> None:
        now = time.time_ns()
        self.server.publish(SimBook("binance", instrument, now, [(price - 0.01, 1.0)], [(price + 0.01, 2.0)]))


async def _texts(ws: aiohttp.ClientWebSocketResponse, within_s: float = 0.3) -> list[dict[str, object]]:
    out = []
    deadline = asyncio.get_running_loop().time() + within_s
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            msg = await ws.receive(timeout=left)
        except TimeoutError:
            break
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        out.append(json.loads(msg.data))
    return out


def _subscribe(streams: list[str], rid: int) -> str:
    return json.dumps({"method": "SUBSCRIBE", "params": streams, "id": rid})


async def test_more_than_1024_streams_on_a_connection_are_refused_like_binance() -> None:
    async with _Server("BTC/USDT") as s:
        ws = await s.connect("spot", "/stream")
        for k in range(4):  # 4 x 256 = 1024 streams, each frame under 4096 bytes
            await ws.send_str(_subscribe([f"{k}{i:03d}" for i in range(256)], k + 1))
        await ws.send_str(_subscribe(["btcusdt@bookTicker"], 5))
        replies = await _texts(ws)
        assert replies[:4] == [{"result": None, "id": k + 1} for k in range(4)]
        assert replies[4] == {"error": {"code": 4, "msg": "Too many subscriptions"}, "id": 5}
        assert s.server.refusals == ["too many streams"]


async def test_more_than_5_messages_a_second_on_spot_closes_with_1008() -> None:
    async with _Server("BTC/USDT") as s:
        ws = await s.connect("spot", "/stream")
        for k in range(6):
            await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": k}))
        await _texts(ws, 1.0)
        assert ws.closed and ws.close_code == 1008 and s.server.refusals == ["rate"]
        perp = await s.connect("perp", "/public/stream")  # USD-M allows 10
        for k in range(10):
            await perp.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": k}))
        assert len(await _texts(perp)) == 10 and not perp.closed


async def test_a_request_over_4096_bytes_gets_no_answer() -> None:
    async with _Server("BTC/USDT") as s:
        ws = await s.connect("spot", "/stream")
        await ws.send_str(_subscribe([f"long{i:04d}usdt@depth@100ms" for i in range(200)], 1))  # ~5.6 kB
        await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        assert await _texts(ws) == [{"result": [], "id": 2}]


async def test_a_halted_listing_is_listed_with_the_venue_word_and_publishes_nothing() -> None:
    async with _Server("BTC/USDT", "SOL/USDT", status="halted") as s:
        ws = await s.connect("spot", "/ws")
        await ws.send_str(_subscribe(["btcusdt@bookTicker", "solusdt@bookTicker"], 1))
        assert await _texts(ws) == [{"result": None, "id": 1}]
        s.publish("BTC/USDT")
        s.publish("SOL/USDT")
        frames = await _texts(ws)
        assert [f["s"] for f in frames] == ["BTCUSDT"]  # raw stream: no wrapper
        status, body = s.server.rest("GET", "spot", "/api/v3/exchangeInfo", {})
        words = {x["symbol"]: x["status"] for x in json.loads(body)["symbols"]}
        assert (status, words) == (200, {"BTCUSDT": "TRADING", "SOLUSDT": "HALT"})
        perp = BinanceSim([listing("SOL/USDT:USDT", 190.0, status="halted")])
        words = {x["symbol"]: x["status"] for x in json.loads(perp.rest("GET", "perp", "/fapi/v1/exchangeInfo", {})[1])["symbols"]}
        assert words == {"SOLUSDT": "SETTLING"}


async def test_usdm_routes_streams_by_tier_as_binance_does_since_april_2026() -> None:
    async with _Server("BTC/USDT:USDT") as s:
        streams = ["btcusdt@bookTicker", "btcusdt@markPrice@1s"]
        legacy, public, market = [await s.connect("perp", p) for p in ("/stream", "/public/stream", "/market/stream")]
        for k, ws in enumerate((legacy, public, market)):
            await ws.send_str(_subscribe(streams, k))
            assert await _texts(ws) == [{"result": None, "id": k}]  # every tier acknowledges
        s.publish("BTC/USDT:USDT")
        now = time.time_ns()
        s.server.publish(SimFunding("binance", "BTC/USDT:USDT", now, 0.0001, 8.0, now + 3_600_000_000_000))
        got = {name: [f["stream"] for f in await _texts(ws)] for name, ws in (("legacy", legacy), ("public", public), ("market", market))}
        assert got == {"legacy": ["btcusdt@bookTicker"], "public": ["btcusdt@bookTicker"], "market": ["btcusdt@markPrice@1s"]}


def test_ticker_24hr_mini_and_full_and_premium_index_shapes() -> None:
    server = BinanceSim([listing("BTC/USDT", 97_000.0), listing("BTC/USDT:USDT", 97_000.0)])
    mini = json.loads(server.rest("GET", "spot", "/api/v3/ticker/24hr", {"type": ["MINI"]})[1])
    assert list(mini[0]) == ["symbol", "lastPrice", "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume", "openTime",
                             "closeTime", "firstId", "lastId", "count"]
    assert "priceChange" in json.loads(server.rest("GET", "perp", "/fapi/v1/ticker/24hr", {})[1])[0]
    now = time.time_ns()
    server.publish(SimFunding("binance", "BTC/USDT:USDT", now, 0.00012, 8.0, now + 10**12))
    [row] = json.loads(server.rest("GET", "perp", "/fapi/v1/premiumIndex", {})[1])
    assert (row["symbol"], row["lastFundingRate"], row["nextFundingTime"]) == ("BTCUSDT", "0.00012000", (now + 10**12) // 1_000_000)
    assert server.rest("GET", "perp", "/fapi/v1/premiumIndex", {"symbol": ["ETHUSDT"]})[0] == 400
