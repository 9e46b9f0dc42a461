"""The Hyperliquid simulator speaks the venue's truth: ``POST /info`` perp and spot listings that
parse into the metadata the connectors run on (spot pairs under ``@<index>`` names of UBTC-style
tokens), books the real sessions see in coins, and the venue's per-IP refusals (1000
subscriptions, 2000 messages a minute) with its own error messages."""

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
from arbsniper.sim.hyperliquid import HyperliquidSim, listing, sz_decimals
from arbsniper.venues.base import Venue
from arbsniper.venues.hyperliquid import Hyperliquid, HyperliquidSpot
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING, InstrumentMeta
from arbsniper.venues.session import ReconnectPolicy, VenueSession

CALM = DemoConfig(updates_per_s=300.0, dislocation_every_s=1e6, stale_every_s=1e6, crossed_every_s=1e6)
LISTINGS = [
    listing("BTC/USDC:USDC", 97_000.0),
    listing("ETH/USDC:USDC", 3_400.0),
    listing("SOL/USDC:USDC", 190.0, status=HALTED),
    listing("DOGE/USDC:USDC", 0.3, status=PRELAUNCH),
    listing("BTC/USDC", 97_000.0),
    listing("ETH/USDC", 3_400.0),
    listing("SOL/USDC", 190.0, status=HALTED),
]


def test_listing_sz_decimals_fall_with_the_price_and_funding_is_hourly() -> None:
    assert [sz_decimals(p) for p in (97_000.0, 3_400.0, 190.0, 12.0, 0.3, 0.00002)] == [5, 4, 2, 1, 0, 0]
    btc = listing("BTC/USDC:USDC", 97_000.0, funding_interval_hours=8.0)
    assert (btc.lot_size, btc.tick, btc.min_size, btc.min_notional, btc.funding_interval_hours) == (1e-05, 1.0, 1e-05, 10.0, 1.0)
    eth = listing("ETH/USDC:USDC", 3_400.0)
    assert (eth.lot_size, eth.tick) == (1e-04, 0.1)  # 5 significant figures: 3400.0
    doge = listing("DOGE/USDC:USDC", 0.3)
    assert (doge.lot_size, doge.tick) == (1.0, 1e-05)
    spot_btc = listing("BTC/USDC", 97_000.0)
    assert (spot_btc.lot_size, spot_btc.tick, spot_btc.funding_interval_hours) == (1e-05, 1.0, 0.0)
    with pytest.raises(ValueError, match="USDC perpetuals and USDC spot"):
        listing("BTC/USDT:USDT", 97_000.0)


@contextlib.asynccontextmanager
async def simulator(listings: list = LISTINGS) -> AsyncIterator[tuple[Simulator, HyperliquidSim]]:  # type: ignore[type-arg]
    sim = Simulator(listings, demo=CALM, seed=3, venues=["hyperliquid"])
    await sim.start()
    server = sim.servers["hyperliquid"]
    assert isinstance(server, HyperliquidSim)
    try:
        yield sim, server
    finally:
        await sim.stop()


async def fetch(cls: type[Venue], market: str, rest_url: str) -> list[InstrumentMeta]:
    rest = rest_url.replace("{market}", market)
    bodies: dict[str, list[bytes]] = {}
    async with aiohttp.ClientSession() as http:
        for req in cls.metadata_requests(market, rest):
            async with http.request(req.method, req.url, data=req.body) as resp:
                assert resp.status == 200, await resp.text()
                bodies.setdefault(req.name, []).append(await resp.read())
    return cls.parse_metadata(market, bodies)


async def until(pred: Callable[[], bool], what: str, deadline_s: float = 15.0) -> None:
    for _ in range(int(deadline_s / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never saw {what}")


async def test_info_listings_round_trip_and_both_sessions_see_the_synthetic_books_in_coins() -> None:
    async with simulator() as (sim, server):
        perps = {m.instrument: m for m in await fetch(Hyperliquid, "perp", server.rest_url)}
        spots = {m.instrument: m for m in await fetch(HyperliquidSpot, "spot", server.rest_url)}
        assert set(perps) == {"BTC/USDC:USDC", "ETH/USDC:USDC", "SOL/USDC:USDC"}  # DOGE is not listed before it trades
        assert (perps["SOL/USDC:USDC"].status, perps["SOL/USDC:USDC"].venue_status) == (DELISTED, "delisted")  # no halt flag
        btc = perps["BTC/USDC:USDC"]
        assert (btc.status, btc.lot_size, btc.tick_size, btc.min_notional, btc.funding_interval_hours) == (TRADING, 1e-05, 1.0, 10.0, 1.0)
        assert btc.quote_volume_24h > 0 and btc.last_price > 0
        assert set(spots) == {"BTC/USDC", "ETH/USDC"}  # halted SOL/USDC is not in spotMeta
        sbtc, seth = spots["BTC/USDC"], spots["ETH/USDC"]
        assert (sbtc.native_symbol, sbtc.venue_base, sbtc.lot_size, seth.native_symbol, seth.venue_base) == ("@140", "UBTC", 1e-05, "@143", "UETH")

        symbols = SymbolMap()
        venues: list[Venue] = [
            Hyperliquid("perp", symbols, [btc, perps["ETH/USDC:USDC"]], base_url=server.base_url, rest_url=server.rest_url),
            HyperliquidSpot("spot", symbols, [sbtc, seth], base_url=server.base_url, rest_url=server.rest_url),
        ]
        assert [v.ws_url() for v in venues] == [server.base_url.replace("{market}", m) + "/ws" for m in ("perp", "spot")]
        events: list[MarketEvent] = []
        sessions = [VenueSession(v, policy=ReconnectPolicy(initial_s=0.05, max_s=0.2), seed=1) for v in venues]
        tasks = [asyncio.create_task(s.run(events.append)) for s in sessions]
        try:
            ids = {inst: symbols.instrument_id(inst) for inst in ("BTC/USDC:USDC", "ETH/USDC:USDC", "BTC/USDC", "ETH/USDC")}
            await until(lambda: {e.instrument for e in events if isinstance(e, Book)} >= set(ids.values()), "books of all four")
            await until(lambda: any(isinstance(e, Funding) for e in events), "perp funding")
            await sim.pause()
            for inst, iid in ids.items():
                ref = server.books[inst]

                def caught_up(iid: int = iid, ref: object = ref) -> bool:
                    b = next((e for e in reversed(events) if isinstance(e, Book) and e.instrument == iid), None)
                    q = next((e for e in reversed(events) if isinstance(e, Quote) and e.instrument == iid), None)
                    return b is not None and q is not None and b.bids == ref.bids and b.asks == ref.asks \
                        and (q.bid, q.bid_size, q.ask, q.ask_size) == (*ref.bids[0], *ref.asks[0])  # type: ignore[attr-defined]

                await until(caught_up, f"{inst} book and quote equal to the simulator's")
            assert {f.interval_hours for f in events if isinstance(f, Funding)} == {1.0}
            assert all(s.stats.bad_frames == 0 for s in sessions)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def test_spot_contexts_are_more_than_the_universe_so_only_their_names_match_them() -> None:
    listings = [listing("ZEC/USDC", 10.0, status=HALTED), listing("AAVE/USDC", 300.0), listing("MKR/USDC", 1_500.0)]
    async with simulator(listings) as (_sim, server), aiohttp.ClientSession() as http:
        async with http.post(server.rest_url.replace("{market}", "spot") + "/info", data='{"type":"spotMetaAndAssetCtxs"}') as resp:
            meta, ctxs = await resp.json()
        assert [p["name"] for p in meta["universe"]] == ["@143", "@146"]  # halted ZEC (@140) is left out
        assert [c["coin"] for c in ctxs] == ["@140", "@143", "@146"]  # its context is not
        assert [t["name"] for t in meta["tokens"]] == ["USDC", "ZEC", "AAVE", "MKR"]
        aave, mkr = HyperliquidSpot.parse_metadata("spot", {"spotMetaAndAssetCtxs": [json.dumps([meta, ctxs]).encode()]})
        assert (aave.instrument, aave.last_price) == ("AAVE/USDC", float(ctxs[1]["midPx"]))  # by name, not position 0
        assert (mkr.instrument, mkr.last_price) == ("MKR/USDC", float(ctxs[2]["midPx"]))


async def messages(sock: aiohttp.ClientWebSocketResponse, n: int, timeout: float = 5.0) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    while len(out) < n:
        msg = await asyncio.wait_for(sock.receive(), timeout)
        if msg.type is aiohttp.WSMsgType.TEXT and msg.data.startswith("{"):
            out.append(json.loads(msg.data))
    return out


async def replies(sock: aiohttp.ClientWebSocketResponse, want: Callable[[dict[str, object]], bool], n: int) -> list[dict[str, object]]:
    """The next ``n`` messages for which ``want`` holds (skipping the others, e.g. data)."""
    out: list[dict[str, object]] = []
    while len(out) < n:
        out.extend(m for m in await messages(sock, 1) if want(m))
    return out


def control(m: dict[str, object]) -> bool:
    return m.get("channel") in ("subscriptionResponse", "error", "pong")


async def test_the_1001st_subscription_of_an_ip_is_refused_whatever_the_connection() -> None:
    coins = [f"C{i}" for i in range(334)]  # 334 perps x 3 channels = 1002 possible subscriptions
    server = HyperliquidSim([listing(f"{c}/USDC:USDC", 5.0) for c in coins])
    await server.start()
    try:
        url = server.base_url.replace("{market}", "perp") + "/ws"
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as first, http.ws_connect(url) as second:
            subs = [json.dumps({"method": "subscribe", "subscription": {"type": kind, "coin": c}})
                    for c in coins for kind in ("bbo", "l2Book", "activeAssetCtx")]
            for text in subs[:600]:
                await first.send_str(text)
            assert all(m["channel"] == "subscriptionResponse" for m in await replies(first, control, 600))
            for text in subs[600:1001]:
                await second.send_str(text)
            got = await replies(second, control, 401)
            assert all(m["channel"] == "subscriptionResponse" for m in got[:400])
            assert got[400] == {"channel": "error", "data": "Cannot subscribe to more than 1000 channels."}
            assert server.subscriptions() == 1000
    finally:
        await server.stop()


async def test_the_2001st_message_of_a_minute_is_refused() -> None:
    server = HyperliquidSim([listing("BTC/USDC:USDC", 97_000.0)])
    await server.start()
    try:
        url = server.base_url.replace("{market}", "perp") + "/ws"
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as sock:
            for _ in range(2001):
                await sock.send_str('{"method":"ping"}')
            got = await replies(sock, control, 2001)
            assert all(m == {"channel": "pong"} for m in got[:2000])
            assert got[2000] == {"channel": "error", "data": "Cannot send more than 2000 messages per minute."}
    finally:
        await server.stop()


async def test_not_trading_perps_get_no_data_and_unlisted_ones_cannot_be_subscribed() -> None:
    async with simulator() as (_sim, server), aiohttp.ClientSession() as http, \
            http.ws_connect(server.base_url.replace("{market}", "perp") + "/ws") as sock:
        for kind in ("bbo", "l2Book"):
            await sock.send_str(json.dumps({"method": "subscribe", "subscription": {"type": kind, "coin": "SOL"}}))
        await sock.send_str(json.dumps({"method": "subscribe", "subscription": {"type": "bbo", "coin": "DOGE"}}))
        got = await replies(sock, control, 3)
        assert [m["channel"] for m in got] == ["subscriptionResponse", "subscriptionResponse", "error"]
        sent = server.frames_sent
        await asyncio.sleep(0.3)
        assert server.frames_sent == sent  # SOL moves in the synthetic market, but is delisted on the venue
