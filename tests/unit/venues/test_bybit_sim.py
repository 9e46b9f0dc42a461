"""The Bybit simulator speaks the venue's truth: paged instruments-info and tickers parse into the right
metadata, a real session on it sees the simulator's books, it refuses what Bybit refuses, halted listings stay quiet."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from arbsniper.sim.bybit import BybitSim, listing
from arbsniper.sim.exchange import Simulator
from arbsniper.sim.synthetic import Listing, SimBook
from arbsniper.venues.bybit import BybitLinear, BybitSpot
from arbsniper.venues.metadata import TRADING, RestRequest
from tests.unit.venues.simkit import CALM, SessionRun, fetch_metadata, fetch_pages


def test_listing_filters_fit_the_price() -> None:
    btc = listing("BTC/USDT", 97_000.0)
    # basePrecision 0.000001, minOrderQty 0.000011 (about $1), minOrderAmt 5: the docs' BTCUSDT
    assert (btc.venue, btc.tick, btc.lot_size, btc.min_size, btc.min_notional) == ("bybit", 0.1, 1e-06, 1.1e-05, 5.0)
    assert (listing("ETH/USDT", 3_400.0).tick, listing("ETH/USDT", 3_400.0).lot_size) == (0.01, 1e-05)
    perp = listing("BTC/USDT:USDT", 97_000.0, funding_interval_hours=1.0)
    assert (perp.tick, perp.lot_size, perp.min_size, perp.min_notional, perp.funding_interval_hours) == (0.1, 0.001, 0.001, 5.0, 1.0)
    assert (listing("ETH/USDT:USDT", 3_400.0).lot_size, listing("SOL/USDT:USDT", 190.0).lot_size) == (0.01, 0.1)


@pytest.mark.parametrize(("market", "instrument"), [("spot", "BTC/USDT"), ("perp", "BTC/USDT:USDT")])
async def test_listing_round_trip_gives_metadata_and_a_session_sees_the_simulator_s_books(market: str, instrument: str) -> None:
    cls = BybitLinear if market == "perp" else BybitSpot
    others = ["ETH/USDT:USDT", "SOL/USDT:USDT"] if market == "perp" else ["ETH/USDT", "SOL/USDT"]
    listings = [listing(instrument, 97_000.0, funding_interval_hours=4.0), listing(others[0], 3_400.0),
                listing(others[1], 190.0, status="halted")]
    sim = Simulator(listings, demo=CALM, seed=7, venues=["bybit"])
    await sim.start()
    run = SessionRun(sim, "bybit")
    try:
        ws, rest = sim.urls()["bybit"]
        metas = {m.instrument: m for m in await fetch_metadata(cls, market, rest)}
        assert sorted(metas) == sorted([instrument, others[0]])  # the halted one is not Trading: not listed by default
        btc = metas[instrument]
        assert (btc.native_symbol, btc.status, btc.venue_status, btc.tick_size, btc.min_notional) == ("BTCUSDT", TRADING, "Trading", 0.1, 5.0)
        assert btc.lot_size == (0.001 if market == "perp" else 1e-06)
        assert btc.funding_interval_hours == (4.0 if market == "perp" else 0.0)  # fundingInterval 240 minutes
        book = sim.servers["bybit"].books[instrument]
        assert btc.last_price == pytest.approx((book.bids[0][0] + book.asks[0][0]) / 2, rel=1e-3)  # the market moves meanwhile
        assert btc.quote_volume_24h == pytest.approx(0.8 * 12_000 * btc.last_price, rel=1e-9)
        run.start(cls(market, run.symbols, list(metas.values()), base_url=ws, rest_url=rest))
        await run.settled_book_matches(instrument)
        assert run.quotes(others[1]) == []
    finally:
        await run.stop()
        await sim.stop()


async def test_linear_instruments_come_in_pages_joined_by_the_cursor() -> None:
    listings = [listing(f"C{i}/USDT:USDT", 10.0 + i) for i in range(5)]
    server = BybitSim(listings)
    await server.start()
    try:
        base = server.rest_url.replace("{market}", "perp")
        first = RestRequest("GET", f"{base}/v5/market/instruments-info?category=linear&limit=2", "instruments")
        pages = await fetch_pages(BybitLinear, "perp", first)
        assert [[x["symbol"] for x in json.loads(p)["result"]["list"]] for p in pages] == [
            ["C0USDT", "C1USDT"], ["C2USDT", "C3USDT"], ["C4USDT"]]
        assert json.loads(pages[0])["result"]["nextPageCursor"] == "first%3DC0USDT%26last%3DC1USDT"  # Bybit's shape
        metas = BybitLinear.parse_metadata("perp", {"instruments": pages, "tickers": [server.rest("GET", "perp", "/v5/market/tickers",
                                                                                                    {"category": ["linear"]})[1].encode()]})
        assert [m.instrument for m in metas] == [f"C{i}/USDT:USDT" for i in range(5)]
        default = json.loads(server.rest("GET", "perp", "/v5/market/instruments-info", {"category": ["linear"]})[1])
        assert len(default["result"]["list"]) == 5 and default["result"]["nextPageCursor"] == ""  # 500 a page by default
        assert json.loads(server.rest("GET", "perp", "/v5/market/instruments-info", {"category": ["linear"], "limit": ["1001"]})[1])[
            "retCode"] == 10001
    finally:
        await server.stop()


def test_halted_listings_appear_only_under_their_status_word() -> None:
    server = BybitSim([listing("BTC/USDT", 97_000.0), listing("SOL/USDT", 190.0, status="halted"),
                       listing("NEW/USDT", 1.0, status="prelaunch")])

    def symbols(**query: str) -> list[tuple[str, str]]:
        body = json.loads(server.rest("GET", "spot", "/v5/market/instruments-info", {"category": ["spot"], **{k: [v] for k, v in query.items()}})[1])
        return [(x["symbol"], x["status"]) for x in body["result"]["list"]]

    assert symbols() == [("BTCUSDT", "Trading")]
    assert symbols(status="Closed") == [("SOLUSDT", "Closed")]  # Bybit has no halt word
    assert symbols(status="PreLaunch") == [("NEWUSDT", "PreLaunch")]
    tickers = json.loads(server.rest("GET", "spot", "/v5/market/tickers", {"category": ["spot"]})[1])
    assert [x["symbol"] for x in tickers["result"]["list"]] == ["BTCUSDT"]
    assert json.loads(server.rest("GET", "spot", "/v5/market/tickers", {"category": ["linear"]})[1])["retCode"] == 10001


class _Server:
    def __init__(self, listings: list[Listing]) -> None:
        self.server = BybitSim(listings)
        self.http: aiohttp.ClientSession

    async def __aenter__(self) -> _Server:
        await self.server.start()
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        await self.server.stop()

    async def connect(self, market: str) -> aiohttp.ClientWebSocketResponse:
        category = "linear" if market == "perp" else "spot"
        return await self.http.ws_connect(self.server.base_url.replace("{market}", market) + f"/v5/public/{category}")


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


def _subscribe(args: list[str], req_id: str) -> str:
    return json.dumps({"req_id": req_id, "op": "subscribe", "args": args})


async def test_more_than_10_args_in_one_spot_request_are_refused_with_bybit_s_words() -> None:
    async with _Server([listing(f"C{i}/USDT", 10.0) for i in range(6)]) as s:
        ws = await s.connect("spot")
        topics = [f"orderbook.{d}.C{i}USDT" for i in range(6) for d in (1, 50)]  # 12 args
        await ws.send_str(_subscribe(topics, "1"))
        await ws.send_str(_subscribe(topics[:10], "2"))
        [refused, ok] = await _texts(ws)
        assert (refused["success"], refused["ret_msg"], refused["req_id"]) == (False, "args size >10", "1")
        assert (ok["success"], ok["ret_msg"], ok["req_id"]) == (True, "subscribe", "2")


async def test_args_beyond_21000_characters_on_one_connection_are_refused() -> None:
    listings = [listing(f"COIN{i:03d}/USDT:USDT", 10.0) for i in range(300)]
    async with _Server(listings) as s:
        ws = await s.connect("perp")
        topics = [t for i in range(300) for t in (f"orderbook.1.COIN{i:03d}USDT", f"orderbook.50.COIN{i:03d}USDT",
                                                   f"tickers.COIN{i:03d}USDT")]
        assert sum(len(t) + 3 for t in topics) == 22_500  # 900 topics: 24 + 25 + 20 characters, + 3 each

        await ws.send_str(_subscribe(topics, "1"))
        await ws.send_str(_subscribe(topics[:500], "2"))  # 12,500 characters
        [refused, ok] = await _texts(ws)
        assert refused["success"] is False and "21000" in str(refused["ret_msg"])
        assert ok["success"] is True and ok["ret_msg"] == ""  # linear acks carry an empty ret_msg
        await ws.send_str(_subscribe(topics[500:], "3"))  # 10,000 more: 22,500 on the connection
        [refused] = await _texts(ws)
        assert refused["success"] is False
        assert s.server.refusals == ["args characters per connection", "args characters per connection"]


async def test_a_halted_listing_accepts_the_subscription_and_publishes_nothing() -> None:
    async with _Server([listing("BTC/USDT", 97_000.0), listing("SOL/USDT", 190.0, status="halted")]) as s:
        for inst, price in (("BTC/USDT", 97_000.0), ("SOL/USDT", 190.0)):
            s.server.publish(SimBook("bybit", inst, time.time_ns(), [(price - 0.1, 1.0)], [(price + 0.1, 2.0)]))
        ws = await s.connect("spot")
        await ws.send_str(_subscribe(["orderbook.1.BTCUSDT", "orderbook.1.SOLUSDT"], "1"))
        frames = await _texts(ws)
        assert frames[0]["success"] is True
        assert [f["topic"] for f in frames[1:]] == ["orderbook.1.BTCUSDT"]
