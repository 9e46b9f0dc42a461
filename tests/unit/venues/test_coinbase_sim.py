"""The Coinbase simulator speaks the venue's truth: its products listing parses with the connector's
own parser, futures quantities travel as contracts and arrive as base units, funding comes from the
listing the connector polls, halted products send nothing, and the feed refuses what Coinbase refuses."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from arbsniper.model import Book, Funding, Quote
from arbsniper.sim import coinbase as sim_coinbase
from arbsniper.sim.synthetic import Listing
from arbsniper.venues.coinbase import Coinbase, CoinbasePerp
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING
from tests.unit.venues.simrun import fetch_bodies, fetch_metas, rest_base, session, simulator


def test_listing_gives_coinbases_increments_and_nano_perp_contract_sizes() -> None:
    btc = sim_coinbase.listing("BTC/USD", 97_000.0)
    # like the venue's BTC-USD: base_increment = base_min_size = 0.00000001, price_increment 0.01, quote_min_size 1
    assert (btc.contract_size, btc.lot_size, btc.min_size, btc.tick, btc.min_notional) == (1.0, 1e-8, 1e-8, 0.01, 1.0)
    doge = sim_coinbase.listing("DOGE/USD", 0.3)
    assert (doge.lot_size, doge.tick) == (0.1, 1e-5)
    perp = sim_coinbase.listing("BTC/USD:USD", 97_000.0, funding_interval_hours=1.0)
    # like BIP-20DEC30-CDE: 0.01 BTC per contract, lots of one contract, tick 5 USD
    assert (perp.contract_size, perp.lot_size, perp.min_size, perp.tick, perp.funding_interval_hours) == (0.01, 0.01, 0.01, 5.0, 1.0)
    sizes = {b: sim_coinbase.listing(f"{b}/USD:USD", p).contract_size for b, p in (("ETH", 3_400.0), ("SOL", 190.0), ("XRP", 2.0), ("NEAR", 5.0))}
    assert sizes == {"ETH": 0.1, "SOL": 5.0, "XRP": 500.0, "NEAR": 100.0}
    assert (sim_coinbase.perp_product_id("BTC/USD:USD"), sim_coinbase.perp_product_id("NEAR/USD:USD")) == ("BIP-20DEC30-CDE", "NEARP-20DEC30-CDE")


LISTINGS = [
    sim_coinbase.listing("BTC/USD", 97_000.0),
    sim_coinbase.listing("ETH/USD", 3_400.0, status=PRELAUNCH),
    sim_coinbase.listing("BTC/USD:USD", 97_000.0, funding_interval_hours=1.0),
    sim_coinbase.listing("ETH/USD:USD", 3_400.0, funding_interval_hours=1.0),
    sim_coinbase.listing("SOL/USD:USD", 190.0, funding_interval_hours=1.0, status=HALTED),
    sim_coinbase.listing("XRP/USD:USD", 2.0, status=DELISTED),
]


async def test_round_trip_products_then_futures_books_in_base_units_although_the_wire_carries_contracts() -> None:
    async with simulator(LISTINGS) as sim:
        spot = {m.instrument: m for m in await fetch_metas(Coinbase, "spot", rest_base(sim, "coinbase", "spot"))}
        assert set(spot) == {"BTC/USD", "ETH/USD"}
        assert (spot["BTC/USD"].lot_size, spot["BTC/USD"].tick_size, spot["BTC/USD"].min_notional) == (1e-8, 0.01, 1.0)
        assert (spot["ETH/USD"].status, spot["ETH/USD"].venue_status) == (PRELAUNCH, "online,view_only")
        metas = {m.instrument: m for m in await fetch_metas(CoinbasePerp, "perp", rest_base(sim, "coinbase", "perp"))}
        assert set(metas) == {"BTC/USD:USD", "ETH/USD:USD", "SOL/USD:USD"}  # XRP is delisted
        btc, eth, sol = metas["BTC/USD:USD"], metas["ETH/USD:USD"], metas["SOL/USD:USD"]
        assert (btc.native_symbol, btc.contract_size, btc.lot_size, btc.tick_size, btc.funding_interval_hours) == (
            "BIP-20DEC30-CDE", 0.01, 0.01, 5.0, 1.0)
        assert (eth.native_symbol, eth.contract_size, btc.quote_volume_24h > 0, btc.last_price > 0) == ("ETP-20DEC30-CDE", 0.1, True, True)
        assert (sol.status, sol.venue_status) == (HALTED, "trading_disabled,FCM_TRADING_SESSION_STATE_CLOSED")

        async with session(sim, CoinbasePerp, "perp", [btc, eth, sol]) as run:
            ids = {i: run.venue.symbols.instrument_id(i) for i in metas}
            await run.until(lambda: sum(isinstance(e, Book) and e.instrument == ids["ETH/USD:USD"] for e in run.events) >= 20, "20 ETH books")
            await sim.pause()
            ref = run.server.books["ETH/USD:USD"]

            def matches() -> bool:
                b = next((e for e in reversed(run.events) if isinstance(e, Book) and e.instrument == ids["ETH/USD:USD"]), None)
                return b is not None and b.bids[: len(ref.bids)] == ref.bids and b.asks[: len(ref.asks)] == ref.asks

            await run.until(matches, "the ETH reference book in base units")
            # The wire: quantities are whole contracts of 0.1 ETH; the events carry ETH.
            frame = next(json.loads(f) for f in reversed(run.tap.frames) if '"ticker"' in f and "ETP-20DEC30-CDE" in f)
            [ticker] = frame["events"][0]["tickers"]
            assert ticker["best_bid_quantity"] == str(int(ticker["best_bid_quantity"]))
            quote = next(e for e in reversed(run.events) if isinstance(e, Quote) and e.instrument == ids["ETH/USD:USD"])
            assert quote.bid_size == int(ticker["best_bid_quantity"]) / 10
            assert not any(isinstance(e, Quote | Book) and e.instrument == ids["SOL/USD:USD"] for e in run.events)  # halted: no data
            assert run.session.stats.bad_frames == 0 and run.server.refusals == []  # type: ignore[attr-defined]

            # Funding: the session polls the futures listing; the answer gives the synthetic market's rate per hour.
            [request] = run.venue.poll_requests()
            async with aiohttp.ClientSession() as http, http.get(request.url) as resp:
                body = await resp.read()
            fundings = {f.instrument: f for f in run.venue.on_poll(request, body, 0).events if isinstance(f, Funding)}
            assert set(fundings) == {ids["BTC/USD:USD"], ids["ETH/USD:USD"], ids["SOL/USD:USD"]}
            synthetic = run.server.fundings["BTC/USD:USD"]
            assert (fundings[ids["BTC/USD:USD"]].rate, fundings[ids["BTC/USD:USD"]].interval_hours) == (round(synthetic.rate, 10), 1.0)
            assert fundings[ids["BTC/USD:USD"]].next_funding_ts_ns == synthetic.next_funding_ts_ns


async def test_products_listing_is_in_coinbases_format_by_product_type() -> None:
    async with simulator(LISTINGS) as sim:
        bodies = await fetch_bodies(Coinbase, "spot", rest_base(sim, "coinbase", "spot"))
        listing = json.loads(bodies["products"][0])
        assert (listing["num_products"], listing["pagination"]) == (2, None)
        btc = listing["products"][0]
        assert (btc["product_id"], btc["product_type"], btc["status"], btc["base_increment"], btc["quote_min_size"]) == (
            "BTC-USD", "SPOT", "online", "0.00000001", "1")
        futures = json.loads((await fetch_bodies(CoinbasePerp, "perp", rest_base(sim, "coinbase", "perp")))["products"][0])["products"]
        bip = futures[0]
        assert (bip["product_id"], bip["status"], bip["base_increment"], bip["price_increment"]) == ("BIP-20DEC30-CDE", "", "1", "5")
        details = bip["future_product_details"]
        assert (details["contract_size"], details["contract_root_unit"], details["funding_interval"]) == ("0.01", "BTC", "3600s")
        assert isinstance(details["funding_rate"], str) and details["funding_time"].endswith("Z")


def test_demo_listings_without_steps_get_the_venues_conventions() -> None:
    server = sim_coinbase.CoinbaseSim([Listing("coinbase", "BTC/USD"), Listing("coinbase", "BTC/USD:USD", contract_size=0.01)])
    btc, perp = server.listings
    assert (btc.lot_size, btc.tick, btc.min_size, btc.min_notional) == (1e-8, 0.01, 1e-8, 1.0)
    assert (perp.lot_size, perp.tick, perp.min_size, perp.status) == (0.01, 5.0, 0.01, TRADING)


# --- refusals ----------------------------------------------------------------------------------------


async def _ws(http: aiohttp.ClientSession, sim_ws: str) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(sim_ws.replace("{market}", "spot"))


async def _error(ws: aiohttp.ClientWebSocketResponse) -> dict[str, object]:
    while True:
        msg = json.loads((await ws.receive()).data)
        if msg.get("type") == "error":
            return msg


async def test_one_channel_per_subscribe_and_8_messages_per_second_per_ip() -> None:
    async with simulator(LISTINGS) as sim, aiohttp.ClientSession() as http:
        ws_url = sim.urls()["coinbase"][0]
        ws = await _ws(http, ws_url)
        await ws.send_str(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"], "channels": ["ticker", "level2"]}))
        assert await _error(ws) == {"type": "error", "message": "Failed to subscribe", "reason": 'one channel per subscribe message ("channel")'}
        await ws.send_str(json.dumps({"type": "subscribe", "product_ids": ["XRP-USD"], "channel": "ticker"}))
        assert (await _error(ws))["reason"] == "bad channel or product"
        # A second connection from the same IP shares the budget: 2 above + 6 here = 8, the 9th is refused.
        other = await _ws(http, ws_url)
        for _ in range(7):
            await other.send_str(json.dumps({"type": "unsubscribe", "product_ids": ["BTC-USD"], "channel": "ticker"}))
        assert await _error(other) == {"type": "error", "message": "Failed to subscribe", "reason": "rate limit exceeded: 8 messages per second"}
        assert sim.servers["coinbase"].refusals == [  # type: ignore[attr-defined]
            'one channel per subscribe message ("channel")', "rate limit exceeded: 8 messages per second"]
        await asyncio.sleep(1.05)  # the window has passed
        await other.send_str(json.dumps({"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "ticker"}))
        assert json.loads((await other.receive()).data)["channel"] == "subscriptions"
        await ws.close()
        await other.close()


async def test_channels_without_heartbeats_close_after_a_quiet_spell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_coinbase, "IDLE_CLOSE_S", 0.5)
    async with simulator(LISTINGS) as sim, aiohttp.ClientSession() as http:
        ws = await _ws(http, sim.urls()["coinbase"][0])
        server = sim.servers["coinbase"]
        # ETH-USD is pre-launch: subscribed, no update ever comes.
        await ws.send_str(json.dumps({"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "ticker"}))
        assert json.loads((await ws.receive()).data)["channel"] == "subscriptions"
        [conn] = server.connections
        assert conn.subs == {"ticker:ETH-USD"}
        for _ in range(300):
            if not conn.subs:
                break
            await asyncio.sleep(0.01)
        assert conn.subs == set()
        await ws.close()
