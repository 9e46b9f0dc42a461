"""The OKX simulator speaks OKX's truth: its REST listing parses, its swap wire carries contracts
that the real session turns back into the synthetic market's base sizes, and it refuses what OKX
refuses."""

from __future__ import annotations

import json

import aiohttp
import pytest

from arbsniper.config import DemoConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Quote
from arbsniper.sim.exchange import Simulator
from arbsniper.sim.okx import OkxSim, listing
from arbsniper.venues.metadata import HALTED, TRADING
from arbsniper.venues.okx import Okx, OkxSwap
from tests.unit.venues.sim_roundtrip import Running, fetch_metadata

CALM = DemoConfig(updates_per_s=300.0, dislocation_every_s=1e6, stale_every_s=1e6, crossed_every_s=1e6)


def test_listing_follows_okx_conventions() -> None:
    btc = listing("BTC/USDT:USDT", 97_000.0)
    assert (btc.contract_size, btc.lot_size, btc.min_size, btc.tick, btc.min_notional) == (0.01, 0.0001, 0.0001, 0.1, 0.0)  # 0.01 contract lots
    eth = listing("ETH/USDT:USDT", 3_400.0, 4.0)
    assert (eth.contract_size, eth.lot_size, eth.tick, eth.funding_interval_hours) == (0.1, 0.001, 0.01, 4.0)
    sol = listing("SOL/USDT:USDT", 190.0, status="halted")
    assert (sol.contract_size, sol.lot_size, sol.status) == (1.0, 0.01, "halted")
    doge = listing("DOGE/USDT:USDT", 0.3)  # 100 DOGE = $30 a contract, whole-contract lots
    assert (doge.contract_size, doge.lot_size, doge.tick) == (100.0, 100.0, 1e-6)
    pepe = listing("PEPE/USDT:USDT", 0.00002)
    assert (pepe.contract_size, pepe.lot_size) == (1_000_000.0, 1_000_000.0)  # $20 a contract
    spot = listing("BTC/USDT", 97_000.0)
    assert (spot.contract_size, spot.lot_size, spot.min_size, spot.tick) == (1.0, 1e-8, 1e-5, 0.1)
    assert listing("SOL/USDT", 190.0).min_size == 0.001


async def test_rest_listing_round_trip_and_swap_wire_in_contracts_gives_the_reference_base_sizes() -> None:
    listings = [listing("BTC/USDT:USDT", 97_000.0), listing("ETH/USDT:USDT", 3_400.0, 4.0),
                listing("SOL/USDT:USDT", 190.0, 1.0, "halted"), listing("BTC/USDT", 97_000.0)]
    sim = Simulator(listings, demo=CALM, seed=5, venues=["okx"])
    await sim.start()
    try:
        ws, rest = sim.urls()["okx"]
        metas = {m.instrument: m for m in await fetch_metadata(OkxSwap, "perp", rest)}
        assert set(metas) == {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"}
        btc, eth, sol = metas["BTC/USDT:USDT"], metas["ETH/USDT:USDT"], metas["SOL/USDT:USDT"]
        assert (btc.contract_size, btc.lot_size, btc.min_size, btc.tick_size, btc.funding_interval_hours) == (0.01, 0.0001, 0.0001, 0.1, 8.0)
        assert (eth.contract_size, eth.funding_interval_hours) == (0.1, 4.0)
        assert (sol.status, sol.venue_status) == (HALTED, "suspend")
        assert btc.status == TRADING and btc.quote_volume_24h > 0 and 90_000 < btc.last_price < 105_000
        [spot] = await fetch_metadata(Okx, "spot", rest)
        assert (spot.instrument, spot.lot_size, spot.min_size) == ("BTC/USDT", 1e-8, 1e-5)

        symbols = SymbolMap()
        venue = OkxSwap("perp", symbols, [btc, eth, sol], base_url=ws, rest_url=rest)
        async with Running(venue) as run:
            def books_of(name: str) -> list[Book]:
                iid = symbols.instrument_id(name)
                return [e for e in run.events if isinstance(e, Book) and e.instrument == iid]

            await run.until(lambda: len(books_of("BTC/USDT:USDT")) >= 10 and len(books_of("ETH/USDT:USDT")) >= 10, "books")
            await sim.pause()
            server = sim.servers["okx"]

            def caught_up(name: str) -> bool:
                books = books_of(name)
                ref = server.books[name]
                return bool(books) and books[-1].bids[: len(ref.bids)] == ref.bids and books[-1].asks[: len(ref.asks)] == ref.asks

            await run.until(lambda: caught_up("BTC/USDT:USDT") and caught_up("ETH/USDT:USDT"), "the reference books")
            ref = server.books["BTC/USDT:USDT"]
            # The wire carried contracts: the last bbo-tbt of BTC shows the base size x 100 (0.01 BTC contracts).
            bbo = [f for f in run.tap.frames if f.get("arg") == {"channel": "bbo-tbt", "instId": "BTC-USDT-SWAP"}][-1]
            [data] = bbo["data"]  # type: ignore[misc]
            assert float(data["bids"][0][1]) == pytest.approx(ref.bids[0][1] * 100)
            quote = [e for e in run.events if isinstance(e, Quote) and e.instrument == symbols.instrument_id("BTC/USDT:USDT")][-1]
            assert (quote.bid_size, quote.ask_size) == (ref.bids[0][1], ref.asks[0][1])
            assert not books_of("SOL/USDT:USDT")  # halted: subscribed, acknowledged, silent
            assert run.session.stats.bad_frames == 0 and run.session.stats.resyncs == 0  # every checksum (over contracts) held
    finally:
        await sim.stop()


async def _ws(server: OkxSim) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    http = aiohttp.ClientSession()
    return http, await http.ws_connect(f"ws://{server.host}:{server.port}/perp/ws/v5/public")


async def _answer(ws: aiohttp.ClientWebSocketResponse) -> dict[str, object]:
    reply: dict[str, object] = json.loads(await ws.receive_str(timeout=5))
    return reply


async def test_simulator_refuses_args_over_64_kb_and_too_frequent_requests_as_okx_does() -> None:
    server = OkxSim([listing("BTC/USDT:USDT", 97_000.0)])
    await server.start()
    http, ws = await _ws(server)
    try:
        arg = {"channel": "books", "instId": "BTC-USDT-SWAP"}
        huge = {"op": "subscribe", "args": [arg] * 1700}  # 1 700 x 42 bytes > 64 KB
        await ws.send_str(json.dumps(huge))
        assert await _answer(ws) == {"event": "error", "code": "60013", "msg": "Invalid args", "connId": "sim"}
        for _ in range(3):  # three a second pass …
            await ws.send_str(json.dumps({"op": "subscribe", "args": [arg]}))
            assert (await _answer(ws))["event"] == "subscribe"
        await ws.send_str(json.dumps({"op": "subscribe", "args": [arg]}))  # … the fourth is refused
        assert await _answer(ws) == {"event": "error", "code": "60014", "msg": "Requests too frequent.", "connId": "sim"}
        server.max_requests_per_s = 1000
        server.max_requests_per_hour = 4  # the hour's budget (480 on OKX), spent by the three above and this one
        await ws.send_str(json.dumps({"op": "unsubscribe", "args": [arg]}))
        assert (await _answer(ws))["event"] == "unsubscribe"
        await ws.send_str(json.dumps({"op": "subscribe", "args": [arg]}))
        assert (await _answer(ws))["code"] == "60014"
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": "NOPE-USDT-SWAP"}]}))
        assert (await _answer(ws))["code"] == "60014"  # still refused, whatever the args
    finally:
        await ws.close()
        await http.close()
        await server.stop()


async def test_simulator_rest_answers_in_okx_format_with_contract_sizes() -> None:
    server = OkxSim([listing("BTC/USDT:USDT", 97_000.0, 1.0), listing("SOL/USDT:USDT", 190.0, status="delisted")])
    status, body = server.rest("GET", "perp", "/api/v5/public/instruments", {"instType": ["SWAP"]})
    answer = json.loads(body)
    assert status == 200 and answer["code"] == "0"
    [btc] = answer["data"]  # a delisted listing is absent, as on OKX
    assert (btc["instId"], btc["ctVal"], btc["ctMult"], btc["ctValCcy"], btc["ctType"]) == ("BTC-USDT-SWAP", "0.01", "1", "BTC", "linear")
    assert (btc["lotSz"], btc["minSz"], btc["tickSz"], btc["state"], btc["settleCcy"]) == ("0.01", "0.01", "0.1", "live", "USDT")
    status, body = server.rest("GET", "perp", "/api/v5/public/funding-rate", {"instId": ["ANY"]})
    [funding] = json.loads(body)["data"]
    assert int(funding["nextFundingTime"]) - int(funding["fundingTime"]) == 3_600_000  # the 1 h listing
    assert server.rest("GET", "perp", "/api/v5/public/instruments", {})[0] == 400
