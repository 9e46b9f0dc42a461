"""The KuCoin simulator speaks the venue's truth: its REST listings parse with the connector's own
parser, futures sizes travel as contracts and arrive as base units, halted listings send nothing,
and KuCoin's subscription limits are refused the way KuCoin refuses them."""

from __future__ import annotations

import json

import aiohttp
import pytest

from arbsniper.model import Book, Funding, Quote
from arbsniper.sim import kucoin as sim_kucoin
from arbsniper.sim.synthetic import Listing
from arbsniper.venues.base import Heartbeat
from arbsniper.venues.kucoin import KuCoinFutures, KuCoinSpot
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH
from tests.unit.venues.simrun import fetch_bodies, fetch_metas, rest_base, session, simulator

HB = Heartbeat("json", 0.2, 1.5, '{"id":"ping","type":"ping"}')


def test_listing_gives_kucoins_conventions_by_price() -> None:
    btc = sim_kucoin.listing("BTC/USDT", 97_000.0)
    # like the venue's BTC-USDT: step 0.00000001, min 0.00001, tick 0.1, minFunds 0.1
    assert (btc.contract_size, btc.lot_size, btc.min_size, btc.tick, btc.min_notional) == (1.0, 1e-8, 1e-5, 0.1, 0.1)
    eth = sim_kucoin.listing("ETH/USDT:USDT", 3_400.0, funding_interval_hours=4.0)
    assert (eth.contract_size, eth.lot_size, eth.min_size, eth.tick, eth.min_notional, eth.funding_interval_hours) == (
        0.01, 0.01, 0.01, 0.01, 0.0, 4.0)
    sizes = {b: sim_kucoin.listing(f"{b}/USDT:USDT", p).contract_size
             for b, p in (("BTC", 97_000.0), ("SOL", 190.0), ("LINK", 15.0), ("XRP", 2.0), ("DOGE", 0.3), ("PEPE", 0.00001))}
    assert sizes == {"BTC": 0.001, "SOL": 0.1, "LINK": 1.0, "XRP": 10.0, "DOGE": 100.0, "PEPE": 100.0}
    assert sim_kucoin.listing("SOL/USDT", 190.0, status=HALTED).status == HALTED


async def test_round_trip_listing_then_futures_books_in_base_units_although_the_wire_carries_contracts() -> None:
    listings = [
        sim_kucoin.listing("BTC/USDT", 97_000.0),
        sim_kucoin.listing("ETH/USDT:USDT", 3_400.0),
        sim_kucoin.listing("BTC/USDT:USDT", 97_000.0, funding_interval_hours=4.0),
        sim_kucoin.listing("SOL/USDT:USDT", 190.0, status=HALTED),
        sim_kucoin.listing("XRP/USDT:USDT", 2.0, status=PRELAUNCH),
        sim_kucoin.listing("DOGE/USDT:USDT", 0.3, status=DELISTED),
    ]
    async with simulator(listings) as sim:
        [spot] = await fetch_metas(KuCoinSpot, "spot", rest_base(sim, "kucoin", "spot"))
        assert (spot.instrument, spot.lot_size, spot.tick_size, spot.min_size, spot.min_notional) == ("BTC/USDT", 1e-8, 0.1, 1e-5, 0.1)
        assert spot.quote_volume_24h > 0.0 and spot.last_price > 0.0
        metas = {m.instrument: m for m in await fetch_metas(KuCoinFutures, "perp", rest_base(sim, "kucoin", "perp"))}
        assert set(metas) == {"ETH/USDT:USDT", "BTC/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT"}  # DOGE is delisted
        eth, btc = metas["ETH/USDT:USDT"], metas["BTC/USDT:USDT"]
        assert (eth.native_symbol, eth.contract_size, eth.lot_size, eth.funding_interval_hours) == ("ETHUSDTM", 0.01, 0.01, 8.0)
        assert (btc.native_symbol, btc.venue_base, btc.contract_size, btc.funding_interval_hours) == ("XBTUSDTM", "XBT", 0.001, 4.0)
        assert (metas["SOL/USDT:USDT"].status, metas["SOL/USDT:USDT"].venue_status) == (HALTED, "Paused")
        assert (metas["XRP/USDT:USDT"].status, metas["XRP/USDT:USDT"].venue_status) == (PRELAUNCH, "Init")

        async with session(sim, KuCoinFutures, "perp", [eth, btc, metas["SOL/USDT:USDT"]], HB) as run:
            ids = {i: run.venue.symbols.instrument_id(i) for i in metas}
            await run.until(lambda: sum(isinstance(e, Book) and e.instrument == ids["ETH/USDT:USDT"] for e in run.events) >= 20, "20 ETH books")
            await run.until(lambda: any(isinstance(e, Funding) and e.instrument == ids["BTC/USDT:USDT"] for e in run.events), "BTC funding")
            await sim.pause()
            ref = run.server.books["ETH/USDT:USDT"]

            def matches() -> bool:
                b = next((e for e in reversed(run.events) if isinstance(e, Book) and e.instrument == ids["ETH/USDT:USDT"]), None)
                return b is not None and b.bids[: len(ref.bids)] == ref.bids and b.asks[: len(ref.asks)] == ref.asks

            await run.until(matches, "the ETH reference book in base units")
            # The wire: tickerV2 sizes are whole contracts of 0.01 ETH, the events base units.
            ticker = next(json.loads(f) for f in reversed(run.tap.frames) if "tickerV2:ETHUSDTM" in f)
            quote = next(e for e in reversed(run.events) if isinstance(e, Quote) and e.instrument == ids["ETH/USDT:USDT"])
            assert isinstance(ticker["data"]["bestBidSize"], int) and ticker["data"]["bestBidSize"] > 1
            assert quote.bid_size == ticker["data"]["bestBidSize"] / 100
            funding = next(e for e in run.events if isinstance(e, Funding) and e.instrument == ids["BTC/USDT:USDT"])
            assert funding.interval_hours == 4.0  # the frame's granularity 14 400 000 ms, as the listing says
            # The halted contract was subscribed and sends nothing.
            assert "/contractMarket/tickerV2:ETHUSDTM,XBTUSDTM,SOLUSDTM" in " ".join(run.server.messages_received)
            assert not any(getattr(e, "instrument", None) == ids["SOL/USDT:USDT"] and isinstance(e, Quote | Book | Funding) for e in run.events)
            assert run.session.stats.bad_frames == 0


async def test_spot_tickers_name_every_listed_symbol_with_quote_volume_and_last_price() -> None:
    listings = [sim_kucoin.listing("BTC/USDT", 97_000.0), sim_kucoin.listing("ETH/USDT", 3_400.0, status=HALTED)]
    async with simulator(listings) as sim:
        bodies = await fetch_bodies(KuCoinSpot, "spot", rest_base(sim, "kucoin", "spot"))
        tickers = json.loads(bodies["tickers"][0])["data"]["ticker"]
        assert [t["symbol"] for t in tickers] == ["BTC-USDT", "ETH-USDT"]
        assert all(isinstance(t["volValue"], str) and isinstance(t["last"], str) for t in tickers)
        symbols = json.loads(bodies["symbols"][0])["data"]
        assert [(s["symbol"], s["enableTrading"], s["baseIncrement"], s["minFunds"]) for s in symbols] == [
            ("BTC-USDT", True, "0.00000001", "0.1"), ("ETH-USDT", False, "0.0000001", "0.1")]
        btc, eth = KuCoinSpot.parse_metadata("spot", bodies)
        assert btc.last_price == float(tickers[0]["last"]) and eth.status == HALTED


def test_demo_listings_without_steps_get_the_venues_conventions_and_keep_their_contract_size() -> None:
    server = sim_kucoin.KuCoinSim([Listing("kucoin", "BTC/USDT"), Listing("kucoin", "ETH/USDT:USDT", contract_size=0.01)])
    btc, eth = server.listings
    assert (btc.lot_size, btc.tick, btc.min_size, btc.min_notional) == (1e-8, 0.1, 1e-5, 0.1)
    assert (eth.contract_size, eth.lot_size, eth.min_size, eth.tick, eth.min_notional) == (0.01, 0.01, 0.01, 0.01, 0.0)


# --- limits ----------------------------------------------------------------------------------------


async def _connect(http: aiohttp.ClientSession, sim_rest: str) -> aiohttp.ClientWebSocketResponse:
    async with http.post(sim_rest + "/api/v1/bullet-public") as resp:
        bullet = json.loads(await resp.read())["data"]
    ws = await http.ws_connect(f"{bullet['instanceServers'][0]['endpoint']}?token={bullet['token']}&connectId=t")
    assert json.loads((await ws.receive()).data)["type"] == "welcome"
    return ws


def _subscribe(rid: int, topic: str) -> str:
    return json.dumps({"id": rid, "type": "subscribe", "topic": topic, "privateChannel": False, "response": True})


async def test_more_than_100_symbols_in_one_subscribe_is_refused_with_509_and_the_connection_stays() -> None:
    listings = [sim_kucoin.listing(f"C{i}/USDT", 1.0) for i in range(101)]
    async with simulator(listings) as sim, aiohttp.ClientSession() as http:
        ws = await _connect(http, rest_base(sim, "kucoin", "spot"))
        await ws.send_str(_subscribe(1, "/market/ticker:" + ",".join(f"C{i}-USDT" for i in range(101))))
        assert json.loads((await ws.receive()).data) == {"id": "1", "type": "error", "code": 509,
                                                         "data": "exceed max subscription count limitation of 100 per time"}
        await ws.send_str(_subscribe(2, "/market/ticker:" + ",".join(f"C{i}-USDT" for i in range(100))))
        assert json.loads((await ws.receive()).data) == {"id": "2", "type": "ack"}
        await ws.close()


async def test_more_than_400_topics_on_a_spot_connection_is_refused() -> None:
    listings = [sim_kucoin.listing(f"C{i}/USDT", 1.0) for i in range(201)]
    async with simulator(listings) as sim, aiohttp.ClientSession() as http:
        ws = await _connect(http, rest_base(sim, "kucoin", "spot"))
        chunks = [",".join(f"C{i}-USDT" for i in range(lo, min(lo + 100, 201))) for lo in (0, 100, 200)]
        acks = []
        for n, (channel, chunk) in enumerate(((c, k) for k in chunks for c in ("/market/ticker", "/market/level2")), start=1):
            await ws.send_str(_subscribe(n, f"{channel}:{chunk}"))
            while True:  # data frames of the topics subscribed so far interleave with the answers
                msg = json.loads((await ws.receive()).data)
                if msg["type"] in ("ack", "error"):
                    acks.append(msg)
                    break
        assert [a["type"] for a in acks] == ["ack", "ack", "ack", "ack", "error", "error"]  # 400 topics, then C200 twice
        assert acks[4] == {"id": "5", "type": "error", "code": 509, "data": "exceed max subscription count limitation of 400 per session"}
        await ws.close()


async def test_more_than_100_client_messages_in_10s_pings_included_is_refused() -> None:
    async with simulator([sim_kucoin.listing("BTC/USDT", 97_000.0)]) as sim, aiohttp.ClientSession() as http:
        ws = await _connect(http, rest_base(sim, "kucoin", "spot"))
        for i in range(101):
            await ws.send_str(json.dumps({"id": str(i), "type": "ping"}))
        answers = [json.loads((await ws.receive()).data) for _ in range(101)]
        assert [a["type"] for a in answers] == ["pong"] * 100 + ["error"]
        assert answers[-1] == {"id": "100", "type": "error", "code": 509, "data": "exceed max permits per second"}
        await ws.close()


@pytest.mark.parametrize("market", ["spot", "perp"])
async def test_the_connectors_own_subscriptions_stay_within_the_limits(market: str) -> None:
    if market == "spot":
        listings = [sim_kucoin.listing(f"C{i}/USDT", 1.0) for i in range(150)]
    else:
        listings = [sim_kucoin.listing(f"C{i}/USDT:USDT", 1.0) for i in range(150)]
    cls = KuCoinSpot if market == "spot" else KuCoinFutures
    async with simulator(listings) as sim:
        metas = await fetch_metas(cls, market, rest_base(sim, "kucoin", market))
        assert len(metas) == 150
        async with session(sim, cls, market, metas, HB) as run:
            await run.until(lambda: len({e.instrument for e in run.events if isinstance(e, Quote)}) == 150, "quotes of all 150")
            assert run.server.refusals == []  # type: ignore[attr-defined]
            subscribes = [m for m in run.server.messages_received if '"subscribe"' in m]
            # 150 symbols: topics of 100 and 50, for each of the market's 2 (spot) or 3 (futures) channels
            assert len(subscribes) == (4 if market == "spot" else 6)
