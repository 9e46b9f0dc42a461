"""Bybit's v5 REST listing on the real samples: instruments-info (spot, linear, paged), tickers, statuses, errors.

Numbers checked by hand against the samples' ``.source.txt`` notes (sizes base coin, fundingInterval minutes).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from arbsniper.venues.bybit import BybitLinear, BybitSpot
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING, InstrumentMeta, MetadataError, RestRequest
from tests.conftest import FIXTURES


def _raw(name: str) -> bytes:
    return (FIXTURES / "bybit" / f"{name}.json").read_bytes()


def _spot(*pages: bytes, tickers: bytes | None = None) -> dict[str, InstrumentMeta]:
    bodies = {"instruments": list(pages), "tickers": [tickers or _raw("rest_tickers_spot")]}
    return {m.native_symbol: m for m in BybitSpot.parse_metadata("spot", bodies)}


def _linear(*pages: bytes, tickers: bytes | None = None) -> dict[str, InstrumentMeta]:
    bodies = {"instruments": list(pages), "tickers": [tickers or _raw("rest_tickers_linear")]}
    return {m.native_symbol: m for m in BybitLinear.parse_metadata("perp", bodies)}


def _edited(name: str, **fields: Any) -> bytes:
    """The sample with its first instrument's fields changed (a listing the sample lacks)."""
    doc = json.loads(_raw(name))
    entry = doc["result"]["list"][0]
    for key, value in fields.items():
        if isinstance(value, dict):
            entry[key] = {**entry[key], **value}
        else:
            entry[key] = value
    return json.dumps(doc).encode()


def test_metadata_requests_ask_linear_for_1000_per_page_and_spot_for_its_one_page() -> None:
    spot = BybitSpot.metadata_requests("spot", BybitSpot.default_rest_base("spot"))
    assert [(r.name, r.url) for r in spot] == [
        ("instruments", "https://api.bybit.com/v5/market/instruments-info?category=spot"),
        ("tickers", "https://api.bybit.com/v5/market/tickers?category=spot"),
    ]
    linear = BybitLinear.metadata_requests("perp", "http://127.0.0.1:9/{market}")
    assert [(r.name, r.url) for r in linear] == [
        ("instruments", "http://127.0.0.1:9/perp/v5/market/instruments-info?category=linear&limit=1000"),
        ("tickers", "http://127.0.0.1:9/perp/v5/market/tickers?category=linear"),
    ]


def test_spot_docs_sample_gives_base_precision_as_lot_and_min_order_amount_as_notional() -> None:
    btc = _spot(_raw("rest_instruments_spot"))["BTCUSDT"]
    # basePrecision "0.000001", minOrderQty "0.000011", minOrderAmt "5", tickSize "0.1"
    assert (btc.venue, btc.market, btc.instrument, btc.status, btc.venue_status) == ("bybit", "spot", "BTC/USDT", TRADING, "Trading")
    assert (btc.contract_size, btc.lot_size, btc.min_size, btc.min_notional, btc.tick_size) == (1.0, 0.000001, 0.000011, 5.0, 0.1)
    assert btc.funding_interval_hours == 0.0
    # tickers: lastPrice "20533.13", turnover24h "243765620.65899866" (USDT)
    assert (btc.last_price, btc.quote_volume_24h) == (20533.13, 243765620.65899866)


def test_spot_2023_capture_without_category_key_parses_both_pairs() -> None:
    metas = _spot(_raw("rest_instruments_spot_capture2023"))
    btc, eth = metas["BTCUSDT"], metas["ETHUSDT"]
    assert (btc.lot_size, btc.min_size, btc.min_notional, btc.tick_size) == (0.000001, 0.000048, 1.0, 0.01)
    assert (eth.instrument, eth.lot_size, eth.min_size, eth.min_notional, eth.tick_size) == ("ETH/USDT", 0.00001, 0.00062, 1.0, 0.01)
    assert eth.quote_volume_24h == 0.0  # not in the tickers sample


def test_linear_docs_sample_gives_qty_step_and_funding_interval_in_hours() -> None:
    btc = _linear(_raw("rest_instruments_linear"))["BTCUSDT"]
    # qtyStep/minOrderQty "0.001" (BTC), minNotionalValue "5", tickSize "0.10", fundingInterval 480 minutes
    assert (btc.instrument, btc.market, btc.status, btc.contract_size) == ("BTC/USDT:USDT", "perp", TRADING, 1.0)
    assert (btc.lot_size, btc.min_size, btc.min_notional, btc.tick_size, btc.funding_interval_hours) == (0.001, 0.001, 5.0, 0.1, 8.0)
    assert (btc.last_price, btc.quote_volume_24h) == (28550.7, 4273027716.4294)


def test_linear_2023_capture_parses_both_perpetuals() -> None:
    metas = _linear(_raw("rest_instruments_linear_capture2023"))
    eth = metas["ETHUSDT"]
    assert (eth.lot_size, eth.min_size, eth.min_notional, eth.tick_size, eth.funding_interval_hours) == (0.01, 0.01, 5.0, 0.01, 8.0)
    assert metas["BTCUSDT"].tick_size == 0.1


def test_prelaunch_perpetual_is_listed_as_not_yet_trading() -> None:
    bio = _linear(_raw("rest_instruments_linear_prelaunch"))["BIOUSDT"]
    assert (bio.status, bio.venue_status, bio.trading) == (PRELAUNCH, "PreLaunch", False)
    assert (bio.lot_size, bio.min_size, bio.tick_size, bio.min_notional, bio.funding_interval_hours) == (1.0, 1.0, 0.0001, 5.0, 8.0)


@pytest.mark.parametrize(("minutes", "hours"), [(480, 8.0), (240, 4.0), (60, 1.0)])
def test_funding_interval_minutes_become_hours(minutes: int, hours: float) -> None:
    meta = _linear(_edited("rest_instruments_linear", fundingInterval=minutes))["BTCUSDT"]
    assert meta.funding_interval_hours == hours


@pytest.mark.parametrize(("word", "status"), [("Closed", DELISTED), ("Delivering", DELISTED), ("Settling", HALTED)])
def test_status_words_are_normalised_and_kept(word: str, status: str) -> None:
    meta = _linear(_edited("rest_instruments_linear", status=word))["BTCUSDT"]
    assert (meta.status, meta.venue_status) == (status, word)


def test_dated_futures_and_inverse_are_left_out_and_usdc_perps_keep_their_symbol() -> None:
    dated = _edited("rest_instruments_linear", symbol="BTC-26DEC25", contractType="LinearFutures")
    assert _linear(dated) == {}
    usdc = _edited("rest_instruments_linear", symbol="BTCPERP", quoteCoin="USDC", settleCoin="USDC")
    assert _linear(usdc)["BTCPERP"].instrument == "BTC/USDC:USDC"
    other_settle = _edited("rest_instruments_linear", settleCoin="USDC")
    assert _linear(other_settle) == {}


def test_next_page_passes_the_cursor_back_until_the_last_page() -> None:
    [first, tickers] = BybitLinear.metadata_requests("perp", "https://api.bybit.com")
    page = BybitLinear.next_page("perp", first, _raw("rest_instruments_linear_prelaunch"))
    assert page is not None and page.name == "instruments"
    # the cursor is sent as a value (encoded again, as the official SDK does): the venue gets it back verbatim
    assert page.url == ("https://api.bybit.com/v5/market/instruments-info?category=linear&limit=1000"
                        "&cursor=first%253DBIOUSDT%2526last%253DBIOUSDT")
    assert BybitLinear.next_page("perp", page, _raw("rest_instruments_linear")) is None  # nextPageCursor ""
    assert BybitLinear.next_page("perp", page, _raw("rest_instruments_linear_prelaunch")) is None  # same cursor again: stop
    assert BybitLinear.next_page("perp", tickers, _raw("rest_tickers_linear")) is None
    [spot, _] = BybitSpot.metadata_requests("spot", "https://api.bybit.com")
    assert BybitSpot.next_page("spot", spot, _raw("rest_instruments_spot")) is None


def test_every_page_is_read_and_a_repeated_symbol_counts_once() -> None:
    metas = _linear(_raw("rest_instruments_linear_prelaunch"), _raw("rest_instruments_linear"), _raw("rest_instruments_linear"))
    assert sorted(metas) == ["BIOUSDT", "BTCUSDT"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "instruments-info is not a v5 answer"),
        (b'{"retCode":10001,"retMsg":"params error: category","result":{},"retExtInfo":{},"time":1}', "venue error 10001: params error"),
        (b'{"retCode":0,"retMsg":"OK","result":{"category":"spot"}}', "instruments-info is not the listing format"),
    ],
    ids=["not-json", "refused", "no-list"],
)
def test_malformed_bodies_raise_metadata_error_saying_what(body: bytes, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        _spot(body)


def test_a_bad_number_names_the_field_and_missing_responses_are_named() -> None:
    with pytest.raises(MetadataError, match=r"linear BTCUSDT qtyStep 'x'"):
        _linear(_edited("rest_instruments_linear", lotSizeFilter={"qtyStep": "x"}))
    with pytest.raises(MetadataError, match="no linear tickers response"):
        BybitLinear.parse_metadata("perp", {"instruments": [_raw("rest_instruments_linear")]})
    with pytest.raises(MetadataError, match="no spot instruments-info response"):
        BybitSpot.parse_metadata("spot", {"tickers": [_raw("rest_tickers_spot")]})
    with pytest.raises(MetadataError, match="instruments-info is not a v5 answer"):
        BybitLinear.next_page("perp", RestRequest("GET", "https://x/v5/market/instruments-info", "instruments"), b"oops")

