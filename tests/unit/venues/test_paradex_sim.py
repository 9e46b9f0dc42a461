"""The Paradex simulator speaks the venue's truth: its REST listing parses into the metadata the
connector runs on, its channel data is binary SBE that the real session turns into the synthetic
market's books, and it refuses what the venue refuses (no SBE at connect, duplicate and malformed
channels, connection bursts); halted listings are listed as such and get no data."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from arbsniper.config import DemoConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Funding, MarketEvent, Quote
from arbsniper.sim.exchange import Simulator
from arbsniper.sim.paradex import ParadexSim, listing
from arbsniper.venues.metadata import HALTED, PRELAUNCH, TRADING, InstrumentMeta
from arbsniper.venues.paradex import Paradex
from arbsniper.venues.session import ReconnectPolicy, VenueSession

CALM = DemoConfig(updates_per_s=300.0, dislocation_every_s=1e6, stale_every_s=1e6, crossed_every_s=1e6)
LISTINGS = [
    listing("BTC/USD:USDC", 97_000.0),
    listing("ETH/USD:USDC", 3_400.0, funding_interval_hours=4.0),
    listing("SOL/USD:USDC", 190.0, status=HALTED),
    listing("DOGE/USD:USDC", 0.3, status=PRELAUNCH),
]


def test_listing_metadata_fits_the_price() -> None:
    btc, eth, sol, doge = LISTINGS
    assert (btc.lot_size, btc.tick, btc.min_notional, btc.funding_interval_hours, btc.contract_size) == (1e-05, 0.1, 10.0, 8.0, 1.0)
    assert (eth.lot_size, eth.tick, eth.funding_interval_hours) == (1e-04, 0.01, 4.0)
    assert (sol.lot_size, sol.tick, sol.status) == (1e-03, 0.001, HALTED)
    assert (doge.lot_size, doge.tick) == (1.0, 1e-06)
    with pytest.raises(ValueError, match="USD-quoted perpetuals"):
        listing("BTC/USDT:USDT", 97_000.0)


@contextlib.asynccontextmanager
async def simulator() -> AsyncIterator[tuple[Simulator, ParadexSim, str, str]]:
    sim = Simulator(LISTINGS, demo=CALM, seed=5, venues=["paradex"])
    await sim.start()
    server = sim.servers["paradex"]
    assert isinstance(server, ParadexSim)
    ws, rest = sim.urls()["paradex"]
    try:
        yield sim, server, ws.replace("{market}", "perp"), rest.replace("{market}", "perp")
    finally:
        await sim.stop()


async def fetch_metadata(rest: str) -> list[InstrumentMeta]:
    bodies: dict[str, list[bytes]] = {}
    async with aiohttp.ClientSession() as http:
        for req in Paradex.metadata_requests("perp", rest):
            async with http.request(req.method, req.url) as resp:
                assert resp.status == 200, await resp.text()
                bodies.setdefault(req.name, []).append(await resp.read())
    return Paradex.parse_metadata("perp", bodies)


async def until(pred: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
    for _ in range(int(deadline_s / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never saw {what}")


async def test_rest_listing_round_trips_and_the_session_sees_the_synthetic_books_in_base_units() -> None:
    async with simulator() as (sim, server, ws, rest):
        metas = {m.native_symbol: m for m in await fetch_metadata(rest)}
        assert set(metas) == {"BTC-USD-PERP", "ETH-USD-PERP", "SOL-USD-PERP", "DOGE-USD-PERP"}
        btc, eth = metas["BTC-USD-PERP"], metas["ETH-USD-PERP"]
        assert (btc.instrument, btc.status, btc.venue_status, btc.lot_size, btc.tick_size, btc.min_notional) == \
            ("BTC/USD:USDC", TRADING, "STANDARD", 1e-05, 0.1, 10.0)
        assert (btc.funding_interval_hours, eth.funding_interval_hours) == (8.0, 4.0)
        assert (metas["SOL-USD-PERP"].status, metas["SOL-USD-PERP"].venue_status) == (HALTED, "CANCEL_ONLY")
        assert metas["DOGE-USD-PERP"].status == PRELAUNCH
        book = server.books["BTC/USD:USDC"]
        assert btc.last_price == pytest.approx((book.bids[0][0] + book.asks[0][0]) / 2, rel=1e-3) and btc.quote_volume_24h > 0

        symbols = SymbolMap()
        venue = Paradex("perp", symbols, [btc, eth], base_url=server.base_url, rest_url=server.rest_url)
        assert venue.ws_url().endswith("/perp/v1?sbeSchemaId=1&sbeSchemaVersion=1")
        events: list[MarketEvent] = []
        session = VenueSession(venue, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2), seed=1)
        task = asyncio.create_task(session.run(events.append))
        try:
            eth_id = symbols.instrument_id("ETH/USD:USDC")
            await until(lambda: sum(isinstance(e, Book) for e in events) >= 20, "20 books")
            await until(lambda: any(isinstance(e, Funding) and e.instrument == eth_id for e in events), "ETH funding")
            await sim.pause()
            for inst in ("BTC/USD:USDC", "ETH/USD:USDC"):
                iid = symbols.instrument_id(inst)
                ref = server.books[inst]

                def caught_up(iid: int = iid, ref: object = ref) -> bool:
                    b = next((e for e in reversed(events) if isinstance(e, Book) and e.instrument == iid), None)
                    q = next((e for e in reversed(events) if isinstance(e, Quote) and e.instrument == iid), None)
                    return b is not None and q is not None and b.bids[:10] == ref.bids and b.asks[:10] == ref.asks \
                        and (q.bid, q.bid_size, q.ask, q.ask_size) == (*ref.bids[0], *ref.asks[0])  # type: ignore[attr-defined]

                await until(caught_up, f"{inst} book and quote equal to the simulator's")
            fundings = [e for e in events if isinstance(e, Funding) and e.instrument == eth_id]
            assert {f.interval_hours for f in fundings} == {4.0}  # the period from the listing's metadata
            assert session.stats.bad_frames == 0 and server.frames_sent > 0
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.mark.parametrize("query", ["", "?sbeSchemaId=2&sbeSchemaVersion=1", "?sbeSchemaId=1&sbeSchemaVersion=9", "?sbeSchemaId=1"])
async def test_a_connect_without_schema_1_is_refused_with_http_400(query: str) -> None:
    async with simulator() as (_sim, server, ws, _rest), aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws + "/v1" + query)
        assert refused.value.status == 400 and server.refused_upgrades == [400]


async def test_the_session_reports_the_refused_negotiation_as_a_failed_connect() -> None:
    async with simulator() as (_sim, server, _ws, _rest):
        venue = Paradex("perp", SymbolMap(), ["BTC/USD:USDC"], base_url=server.base_url)
        venue.ws_url = lambda: server.base_url.replace("{market}", "perp") + "/v1?sbeSchemaId=2&sbeSchemaVersion=1"  # type: ignore[method-assign]
        session = VenueSession(venue, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2), seed=1)
        task = asyncio.create_task(session.run(lambda _e: None))
        try:
            await until(lambda: bool(session.stats.down_reasons), "a failed connect")
            assert "connect failed" in session.stats.down_reasons[0] and "400" in session.stats.down_reasons[0]
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_more_than_20_connections_in_a_second_are_refused_with_http_429() -> None:
    async with simulator() as (_sim, server, ws, _rest), aiohttp.ClientSession() as http:
        url = ws + "/v1?sbeSchemaId=1&sbeSchemaVersion=1"
        sockets = [await http.ws_connect(url) for _ in range(20)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
        assert refused.value.status == 429 and server.refused_upgrades == [429]
        for s in sockets:
            await s.close()


async def rpc(sock: aiohttp.ClientWebSocketResponse, method: str, channel: str, rid: int) -> dict[str, object]:
    await sock.send_str(json.dumps({"jsonrpc": "2.0", "method": method, "params": {"channel": channel}, "id": rid}))
    while True:
        msg = await asyncio.wait_for(sock.receive(), 5.0)
        if msg.type is aiohttp.WSMsgType.TEXT:
            reply: dict[str, object] = json.loads(msg.data)
            if reply.get("id") == rid:
                return reply


async def test_control_plane_is_json_and_channel_data_binary_and_bad_subscriptions_are_refused_as_the_venue_does() -> None:
    async with simulator() as (_sim, _server, ws, _rest), aiohttp.ClientSession() as http, \
            http.ws_connect(ws + "/v1?sbeSchemaId=1&sbeSchemaVersion=1") as sock:
        assert await rpc(sock, "subscribe", "bbo.BTC-USD-PERP", 1) == {"jsonrpc": "2.0", "id": 1, "result": {"channel": "bbo.BTC-USD-PERP"}}
        again = await rpc(sock, "subscribe", "bbo.BTC-USD-PERP", 2)
        assert again["error"] == {"code": -32600, "message": "invalid subscribe request", "data": "already subscribed"}
        suffixed = await rpc(sock, "subscribe", "order_book.BTC-USD-PERP.deltas@15@50ms", 3)
        assert suffixed["error"] == {"code": -32600, "message": "invalid subscribe request", "data": "no parameters expected for deltas topic."}
        unknown = await rpc(sock, "subscribe", "bbo.NOPE-USD-PERP", 4)
        assert unknown["error"] == {"code": -32600, "message": "invalid subscribe request", "data": "invalid channel"}
        kinds = set()
        for _ in range(5):
            msg = await asyncio.wait_for(sock.receive(), 5.0)
            kinds.add(msg.type)
        assert kinds == {aiohttp.WSMsgType.BINARY}
        parsed = Paradex("perp", SymbolMap(), ["BTC/USD:USDC"]).parse_binary(msg.data, 1)
        assert isinstance(parsed.events[0], Quote)


async def test_halted_listing_is_acknowledged_but_gets_no_data() -> None:
    async with simulator() as (_sim, server, ws, _rest), aiohttp.ClientSession() as http, \
            http.ws_connect(ws + "/v1?sbeSchemaId=1&sbeSchemaVersion=1") as sock:
        for rid, channel in enumerate(("bbo.SOL-USD-PERP", "order_book.SOL-USD-PERP.deltas"), 1):
            assert (await rpc(sock, "subscribe", channel, rid))["result"] == {"channel": channel}
        sent = server.frames_sent
        await asyncio.sleep(0.3)  # the market moves (SOL too: the synthetic market does not know it is halted)
        assert server.frames_sent == sent
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sock.receive(), 0.2)


async def test_version_0_connections_get_v0_blocks() -> None:
    async with simulator() as (_sim, _server, ws, _rest), aiohttp.ClientSession() as http, \
            http.ws_connect(ws + "/v1?sbeSchemaId=1&sbeSchemaVersion=0") as sock:
        await rpc(sock, "subscribe", "markets_summary.BTC-USD-PERP", 1)
        msg = await asyncio.wait_for(sock.receive(), 10.0)
        assert msg.type is aiohttp.WSMsgType.BINARY and msg.data[:8] == bytes.fromhex("d800" "0400" "0100" "0000")  # 216, template 4, 1:0
        [f] = Paradex("perp", SymbolMap(), ["BTC/USD:USDC"]).parse_binary(msg.data, 1).events
        assert isinstance(f, Funding) and f.interval_hours == 8.0


async def test_rest_refuses_a_summary_without_market_and_answers_one_market() -> None:
    async with simulator() as (_sim, _server, _ws, rest), aiohttp.ClientSession() as http:
        async with http.get(rest + "/v1/markets/summary") as resp:
            assert resp.status == 400 and (await resp.json())["error"] == "VALIDATION_ERROR"
        async with http.get(rest + "/v1/markets?market=ETH-USD-PERP") as resp:
            [row] = (await resp.json())["results"]
            assert (row["symbol"], row["order_size_increment"], row["price_tick_size"], row["funding_period_hours"]) == \
                ("ETH-USD-PERP", "0.0001", "0.01", 4.0)


async def test_an_idle_connection_gets_sbe_heartbeats_which_the_parser_skips() -> None:
    async with simulator() as (_sim, server, ws, _rest), aiohttp.ClientSession() as http, \
            http.ws_connect(ws + "/v1?sbeSchemaId=1&sbeSchemaVersion=1") as sock:
        await until(lambda: bool(server.connections), "the connection")
        server.on_timer()  # not idle yet: nothing
        [conn] = server.connections
        conn.state["sent"] = 0.0  # long ago
        server.on_timer()
        msg = await asyncio.wait_for(sock.receive(), 5.0)
        assert msg.type is aiohttp.WSMsgType.BINARY and msg.data[:8] == bytes.fromhex("1000" "2800" "0100" "0100")  # 16, template 40
        parser = Paradex("perp", SymbolMap(), ["BTC/USD:USDC"])
        assert parser.parse_binary(msg.data, 1).events == () and parser.skipped_templates == 1
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sock.receive(), 0.2)  # one heartbeat, then idle again for 20 s
