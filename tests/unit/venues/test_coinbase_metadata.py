"""Coinbase listings on the real samples (spot, and the US perp-style futures), futures sizes in base
units end to end, funding polled over REST, and the subscription limits."""

from __future__ import annotations

import copy
import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Funding, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, FrameError
from arbsniper.venues.coinbase import INFO, Coinbase, CoinbasePerp, iso_to_ns
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING, InstrumentMeta, MetadataError, RestRequest
from tests.conftest import FIXTURES
from tests.unit.venues.samples import sample_lines

RECV = 1_700_000_000_000_000_000  # 2023-11-14
SPOT = (FIXTURES / "coinbase" / "rest_products.json").read_bytes()
FUTURE = (FIXTURES / "coinbase" / "rest_products_future.json").read_bytes()


def spot_metas(body: bytes = SPOT) -> list[InstrumentMeta]:
    return Coinbase.parse_metadata("spot", {"products": [body]})


def perp_metas(body: bytes = FUTURE) -> list[InstrumentMeta]:
    return CoinbasePerp.parse_metadata("perp", {"products": [body]})


def products(sample: bytes, index: int, *changes: dict[str, object]) -> bytes:
    """Product ``index`` of a sample once per ``changes``, each with those fields changed
    (``future_product_details`` / ``fcm_trading_session_details`` changes merge into the original)."""
    entry = json.loads(sample)["products"][index]
    out = []
    for change in changes:
        p = copy.deepcopy(entry)
        for key, value in change.items():
            if isinstance(value, dict) and isinstance(p.get(key), dict):
                p[key].update(value)
            else:
                p[key] = value
        out.append(p)
    return json.dumps({"products": out, "num_products": len(out), "pagination": None}).encode()


# --- requests ----------------------------------------------------------------------------------------


def test_spot_and_futures_listings_are_the_public_products_endpoint_by_product_type() -> None:
    assert Coinbase.default_rest_base("spot") == CoinbasePerp.default_rest_base("perp") == "https://api.coinbase.com"
    assert Coinbase.metadata_requests("spot", "https://api.coinbase.com") == [
        RestRequest("GET", "https://api.coinbase.com/api/v3/brokerage/market/products?product_type=SPOT", "products")]
    assert CoinbasePerp.metadata_requests("perp", "http://127.0.0.1:9/perp/") == [
        RestRequest("GET", "http://127.0.0.1:9/perp/api/v3/brokerage/market/products?product_type=FUTURE", "products")]


def test_perp_market_is_registered_with_its_taker_fee() -> None:
    assert dict(INFO.markets) == {"spot": Coinbase, "perp": CoinbasePerp}
    assert (INFO.taker_fee_bps["spot"], INFO.taker_fee_bps["perp"], INFO.funding_interval_h) == (120.0, 10.0, 1.0)
    assert CoinbasePerp.sizes_in_contracts and not Coinbase.sizes_in_contracts


# --- the real samples --------------------------------------------------------------------------------


def test_spot_sample_is_btc_usd_once_the_usdc_alias_of_the_same_book_left_out() -> None:
    # rest_products.source.txt: base_increment 0.00000001 BTC, base_min_size 0.00000001, price_increment 0.01,
    # quote_min_size 1 USD; approximate_quote_24h_volume 758532193.02 (11005.03 BTC x ~68 926); price 68925.98.
    # BTC-USDC has "alias":"BTC-USD": the same book, counted once.
    assert spot_metas() == [InstrumentMeta(
        venue="coinbase", market="spot", native_symbol="BTC-USD", instrument="BTC/USD", status=TRADING, venue_status="online",
        contract_size=1.0, lot_size=0.00000001, tick_size=0.01, min_size=0.00000001, min_notional=1.0,
        quote_volume_24h=758532193.02, last_price=68925.98)]


def test_futures_sample_keeps_the_nano_btc_perp_in_btc_and_leaves_the_dated_future_out() -> None:
    # rest_products_future.source.txt: BIP-20DEC30-CDE contract_size 0.01 BTC, base_increment 1 and base_min_size 1
    # CONTRACT (= 0.01 BTC), price_increment 5 USD, quote_min_size 0, funding_interval 3600s = 1 h, status "" with the
    # FCM session open; 24 h 467673506.8 USD (678476 contracts x 0.01 x 68930); BIT-24APR26-CDE has no funding: dated.
    assert perp_metas() == [InstrumentMeta(
        venue="coinbase", market="perp", native_symbol="BIP-20DEC30-CDE", instrument="BTC/USD:USD", status=TRADING,
        venue_status="FCM_TRADING_SESSION_STATE_OPEN", contract_size=0.01, lot_size=0.01, tick_size=5.0, min_size=0.01,
        min_notional=0.0, funding_interval_hours=1.0, quote_volume_24h=467673506.8, last_price=68930.0)]


def test_spot_status_flags_map_to_halted_prelaunch_and_delisted() -> None:
    body = products(SPOT, 0, {}, {"product_id": "A-USD", "base_currency_id": "A", "cancel_only": True},
                    {"product_id": "B-USD", "base_currency_id": "B", "trading_disabled": True},
                    {"product_id": "C-USD", "base_currency_id": "C", "status": "offline"},
                    {"product_id": "D-USD", "base_currency_id": "D", "view_only": True},
                    {"product_id": "E-USD", "base_currency_id": "E", "status": "delisted", "is_disabled": True})
    assert [(m.native_symbol, m.status, m.venue_status) for m in spot_metas(body)] == [
        ("BTC-USD", TRADING, "online"), ("A-USD", HALTED, "online,cancel_only"), ("B-USD", HALTED, "online,trading_disabled"),
        ("C-USD", HALTED, "offline"), ("D-USD", PRELAUNCH, "online,view_only"), ("E-USD", DELISTED, "delisted,is_disabled")]


def test_futures_with_the_fcm_session_closed_or_trading_disabled_are_halted() -> None:
    body = products(FUTURE, 0, {"fcm_trading_session_details": {"is_session_open": False, "session_state": "FCM_TRADING_SESSION_STATE_CLOSED"}},
                    {"product_id": "ETP-20DEC30-CDE", "trading_disabled": True,
                     "future_product_details": {"contract_root_unit": "ETH", "contract_size": "0.1"}})
    closed, disabled = perp_metas(body)
    assert (closed.status, closed.venue_status) == (HALTED, "FCM_TRADING_SESSION_STATE_CLOSED")
    assert (disabled.instrument, disabled.status, disabled.contract_size, disabled.lot_size) == ("ETH/USD:USD", HALTED, 0.1, 0.1)


def test_perpetual_expiry_type_is_kept_and_intx_products_are_left_out() -> None:
    body = products(FUTURE, 1, {"product_id": "SLP-20DEC30-CDE", "future_product_details": {
        "contract_expiry_type": "PERPETUAL", "contract_root_unit": "SOL", "contract_size": "5", "funding_interval": "28800s"}},
                    {"product_id": "BTC-PERP-INTX", "product_venue": "INTX", "future_product_details": {"contract_expiry_type": "PERPETUAL"}})
    [sol] = perp_metas(body)
    assert (sol.instrument, sol.contract_size, sol.lot_size, sol.funding_interval_hours) == ("SOL/USD:USD", 5.0, 5.0, 8.0)


@pytest.mark.parametrize(
    ("cls", "bodies", "message"),
    [
        (Coinbase, {"products": [b"not json"]}, "products?product_type=SPOT is not Coinbase's products format"),
        (Coinbase, {"products": [b'{"products":[{"status":"online"}]}']}, "missing required field `product_id`"),
        (Coinbase, {"products": [products(SPOT, 0, {"base_increment": "tiny"})]}, "product BTC-USD: base_increment 'tiny' is not a number"),
        (CoinbasePerp, {"products": [products(FUTURE, 0, {"future_product_details": {"funding_interval": "1h"}})]},
         "product BIP-20DEC30-CDE: not a duration"),
        (CoinbasePerp, {"products": [products(FUTURE, 0, {"future_product_details": {"contract_size": "0"}})]}, "contract size must be positive"),
        (CoinbasePerp, {}, "no 'products' response"),
    ],
)
def test_malformed_listings_are_metadata_errors_that_say_what_is_wrong(cls: type[Coinbase], bodies: dict[str, list[bytes]],
                                                                      message: str) -> None:
    with pytest.raises(MetadataError, match=message.replace("?", r"\?")):
        cls.parse_metadata("spot" if cls is Coinbase else "perp", bodies)


# --- units end to end --------------------------------------------------------------------------------


def perp(*metas: InstrumentMeta) -> CoinbasePerp:
    return CoinbasePerp("perp", SymbolMap(), list(metas or perp_metas()))


def test_real_futures_level2_update_with_the_real_listing_gives_a_book_in_btc() -> None:
    venue = perp()
    snapshot, update, ticker = sample_lines("coinbase", "advanced_futures")
    status, book = venue.parse(snapshot, RECV).events
    assert isinstance(status, VenueStatus) and isinstance(book, Book)
    # 40 and 5 bid, 431 and 2 offer contracts of 0.01 BTC
    assert book.bids == [(72575.0, 0.4), (72570.0, 0.05)] and book.asks == [(72580.0, 4.31), (72585.0, 0.02)]
    [book] = venue.parse(update, RECV).events  # the real frame: 72575 gone, 68 and 13 contracts
    assert isinstance(book, Book)
    assert book.bids == [(72570.0, 0.68)] and book.asks == [(72580.0, 0.13), (72585.0, 0.02)]
    assert book.exchange_ts_ns == iso_to_ns("2026-03-05T09:05:32.483569449Z")
    [q] = venue.parse(ticker, RECV).events
    assert isinstance(q, Quote) and (q.bid, q.bid_size, q.ask, q.ask_size) == (72570.0, 0.68, 72580.0, 0.13)
    assert venue.symbols.instrument_name(q.instrument) == "BTC/USD:USD"


def test_a_futures_product_without_metadata_has_no_name_and_no_unit() -> None:
    with pytest.raises(ValueError, match="futures product ids come from the listing"):
        CoinbasePerp("perp", SymbolMap(), ["BTC/USD:USD"])
    open_venue = CoinbasePerp("perp", SymbolMap())
    with pytest.raises(FrameError, match="BIP-20DEC30-CDE"):
        open_venue.parse(sample_lines("coinbase", "advanced_futures")[2], RECV)
    # Given the metadata (a recording parsed later), the same frame is BTC.
    [q] = CoinbasePerp("perp", SymbolMap(), metadata=perp_metas()).parse(sample_lines("coinbase", "advanced_futures")[2], RECV).events
    assert isinstance(q, Quote) and q.bid_size == 0.68


def test_named_by_unified_instrument_with_metadata_at_hand() -> None:
    venue = CoinbasePerp("perp", SymbolMap(), ["BTC/USD:USD"], metadata=perp_metas())
    assert venue.subscribed_natives() == ["BIP-20DEC30-CDE"]


def test_spot_sizes_stay_base_units() -> None:
    [q] = Coinbase("spot", SymbolMap(), spot_metas()).parse(sample_lines("coinbase", "advanced_ticker")[0], RECV).events
    assert isinstance(q, Quote) and (q.bid_size, q.ask_size) == (1.5, 0.5)


# --- funding over REST -------------------------------------------------------------------------------


def test_funding_is_polled_from_the_futures_listing_per_its_funding_interval() -> None:
    venue = CoinbasePerp("perp", SymbolMap(), perp_metas(), rest_url="http://127.0.0.1:9/{market}")
    assert CoinbasePerp.poll_interval_s == 60.0
    [request] = venue.poll_requests()
    assert request == RestRequest("GET", "http://127.0.0.1:9/perp/api/v3/brokerage/market/products?product_type=FUTURE", "funding")
    [f] = venue.on_poll(request, FUTURE, RECV).events
    # future_product_details.funding_rate "0.000013" per funding_interval "3600s"; funding_time 2026-04-07T00:00:00Z lies ahead
    iid = venue.symbols.instrument_id("BTC/USD:USD")
    assert f == Funding(venue.venue_id, iid, 0.000013, 1.0, iso_to_ns("2026-04-07T00:00:00Z"), RECV, RECV)
    later = iso_to_ns("2026-04-07T00:30:00Z")
    [f] = venue.on_poll(request, FUTURE, later).events
    assert f.next_funding_ts_ns == 0  # a funding time already past is not the next one


def test_funding_poll_ignores_dated_and_unsubscribed_products_and_refuses_a_bad_body() -> None:
    eth = InstrumentMeta(venue="coinbase", market="perp", native_symbol="ETP-20DEC30-CDE", instrument="ETH/USD:USD", status=TRADING,
                         contract_size=0.1, funding_interval_hours=1.0)
    venue = perp(eth)
    [request] = venue.poll_requests()
    assert venue.on_poll(request, FUTURE, RECV) == NOTHING  # BIP not subscribed here; BIT is dated
    with pytest.raises(FrameError, match="bad futures listing"):
        venue.on_poll(request, b"{", RECV)
    with pytest.raises(FrameError, match="absurd funding rate"):
        perp().on_poll(request, products(FUTURE, 0, {"future_product_details": {"funding_rate": "2"}}), RECV)


# --- subscription limits -----------------------------------------------------------------------------


def test_limits_one_channel_per_message_8_messages_per_second_100_products_per_message() -> None:
    limits = Coinbase.subscription_limits
    assert (limits.streams_per_instrument, limits.max_streams_per_connection, limits.max_args_per_request) == (2, 200, 100)
    assert (limits.max_requests_per_s, limits.max_connections) == (8.0, 0)
    assert (Coinbase.max_instruments_per_connection, Coinbase.max_messages_per_s) == (100, 6.0)
    assert CoinbasePerp.subscription_limits is limits


def test_subscribe_messages_batch_products_within_the_limit() -> None:
    venue = Coinbase("spot", SymbolMap(), [f"C{i}/USD" for i in range(150)])
    msgs = [json.loads(m) for m in venue.subscribe_messages()]
    assert [(m["channel"], len(m["product_ids"])) for m in msgs] == [
        ("heartbeats", 100), ("ticker", 100), ("level2", 100), ("ticker", 50), ("level2", 50)]
    assert msgs[3]["product_ids"][0] == "C100-USD"
