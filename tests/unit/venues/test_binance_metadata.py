"""Binance's REST listing on the real samples: exchangeInfo filters, fundingInfo, 24 h tickers, statuses, errors.

Numbers checked by hand against the samples' ``.source.txt`` notes (all sizes base units).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from arbsniper.venues.binance import Binance, BinanceSpot, BinanceUsdm
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING, InstrumentMeta, MetadataError
from tests.conftest import FIXTURES


def _raw(name: str) -> bytes:
    return (FIXTURES / "binance" / f"{name}.json").read_bytes()


def _json(name: str) -> Any:
    return json.loads(_raw(name))


def _spot(info: bytes | None = None, tickers: bytes | None = None) -> dict[str, InstrumentMeta]:
    bodies = {"exchangeInfo": [info or _raw("rest_exchangeInfo_spot")], "ticker24hr": [tickers or _raw("rest_ticker24hr_spot_mini")]}
    return {m.native_symbol: m for m in BinanceSpot.parse_metadata("spot", bodies)}


def _perp(info: bytes | None = None, funding: bytes | None = None, tickers: bytes | None = None) -> dict[str, InstrumentMeta]:
    bodies = {
        "exchangeInfo": [info or _raw("rest_exchangeInfo_futures")],
        "fundingInfo": [funding or _raw("rest_fundingInfo")],
        "ticker24hr": [tickers or _raw("rest_ticker24hr_futures")],
    }
    return {m.native_symbol: m for m in BinanceUsdm.parse_metadata("perp", bodies)}


def _with_symbol(sample: str | bytes, template: str, symbol: str, base: str, **fields: object) -> bytes:
    """A sample with one more symbol: a copy of ``template`` renamed (a listing the capture lacks)."""
    doc = json.loads(sample) if isinstance(sample, bytes) else _json(sample)
    entry = copy.deepcopy(next(s for s in doc["symbols"] if s["symbol"] == template))
    entry.update({"symbol": symbol, "baseAsset": base, **fields})
    if "pair" in entry:
        entry["pair"] = symbol
    doc["symbols"].append(entry)
    return json.dumps(doc).encode()


def test_metadata_requests_name_the_listing_funding_and_ticker_endpoints() -> None:
    spot = BinanceSpot.metadata_requests("spot", BinanceSpot.default_rest_base("spot"))
    assert [(r.name, r.method, r.url) for r in spot] == [
        ("exchangeInfo", "GET", "https://api.binance.com/api/v3/exchangeInfo"),
        ("ticker24hr", "GET", "https://api.binance.com/api/v3/ticker/24hr?type=MINI"),
    ]
    perp = BinanceUsdm.metadata_requests("perp", "http://127.0.0.1:9/{market}/")
    assert [(r.name, r.url) for r in perp] == [
        ("exchangeInfo", "http://127.0.0.1:9/perp/fapi/v1/exchangeInfo"),
        ("fundingInfo", "http://127.0.0.1:9/perp/fapi/v1/fundingInfo"),
        ("ticker24hr", "http://127.0.0.1:9/perp/fapi/v1/ticker/24hr"),
    ]
    assert BinanceUsdm.next_page("perp", perp[0], b"{}") is None  # nothing Binance serves is paginated


def test_spot_exchange_info_sample_gives_filters_in_base_units_and_quote_currency() -> None:
    metas = _spot()
    btc, eth = metas["BTCUSDT"], metas["ETHUSDT"]
    # BTCUSDT: PRICE_FILTER.tickSize "0.01000000", LOT_SIZE stepSize/minQty "0.00001000", MIN_NOTIONAL "10.00000000"
    assert (btc.venue, btc.market, btc.instrument, btc.status, btc.venue_status) == ("binance", "spot", "BTC/USDT", TRADING, "TRADING")
    assert (btc.contract_size, btc.tick_size, btc.lot_size, btc.min_size, btc.min_notional) == (1.0, 0.01, 0.00001, 0.00001, 10.0)
    assert btc.funding_interval_hours == 0.0
    # ETHUSDT: stepSize "0.00010000"
    assert (eth.instrument, eth.tick_size, eth.lot_size, eth.min_size, eth.min_notional) == ("ETH/USDT", 0.01, 0.0001, 0.0001, 10.0)
    assert btc.quote_volume_24h == 0.0 and btc.last_price == 0.0  # not in the docs' ticker example


def test_spot_ticker_gives_quote_volume_and_last_price() -> None:
    info = _with_symbol("rest_exchangeInfo_spot", "ETHUSDT", "BNBBTC", "BNB", quoteAsset="BTC")
    bnb = _spot(info)["BNBBTC"]
    assert bnb.instrument == "BNB/BTC"
    assert (bnb.quote_volume_24h, bnb.last_price) == (15.3, 4.000002)  # quoteVolume "15.30000000" BTC, lastPrice "4.00000200"


def test_spot_notional_filter_of_2023_and_later_is_read_like_the_older_min_notional() -> None:
    doc = _json("rest_exchangeInfo_spot")
    for s in doc["symbols"]:
        s["filters"] = [
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True, "maxNotional": "9000000.00000000",
             "applyMaxToMarket": False, "avgPriceMins": 5} if f["filterType"] == "MIN_NOTIONAL" else f
            for f in s["filters"]
        ]
    assert _spot(json.dumps(doc).encode())["BTCUSDT"].min_notional == 5.0


def test_usdm_exchange_info_keeps_perpetuals_only_with_8h_default_funding() -> None:
    metas = _perp()
    assert sorted(metas) == ["BTCUSDT", "ETHUSDT"]  # BTCUSDT_220325 (CURRENT_QUARTER) left out
    btc = metas["BTCUSDT"]
    # tickSize "0.10", LOT_SIZE stepSize/minQty "0.001" (BTC), MIN_NOTIONAL.notional "10"; absent from fundingInfo: 8 h
    assert (btc.instrument, btc.market, btc.status, btc.contract_size) == ("BTC/USDT:USDT", "perp", TRADING, 1.0)
    assert (btc.tick_size, btc.lot_size, btc.min_size, btc.min_notional, btc.funding_interval_hours) == (0.1, 0.001, 0.001, 10.0, 8.0)
    assert (btc.quote_volume_24h, btc.last_price) == (15.3, 4.000002)
    assert (metas["ETHUSDT"].tick_size, metas["ETHUSDT"].lot_size) == (0.01, 0.001)


def test_usdm_funding_info_gives_the_adjusted_4h_interval() -> None:
    info = _with_symbol("rest_exchangeInfo_futures", "ETHUSDT", "BLZUSDT", "BLZ")
    info = _with_symbol(info, "ETHUSDT", "GTCUSDT", "GTC")
    metas = _perp(info)
    assert metas["BLZUSDT"].funding_interval_hours == 4.0  # fundingInfo: BLZUSDT fundingIntervalHours 4
    assert metas["GTCUSDT"].funding_interval_hours == 8.0  # listed with 8 (cap adjusted only)
    assert metas["BTCUSDT"].funding_interval_hours == 8.0  # not listed: the 8 h default
    docs = _perp(info, funding=_raw("rest_fundingInfo_docs"))
    assert docs["BLZUSDT"].funding_interval_hours == 8.0  # the docs example says 8 for BLZUSDT


@pytest.mark.parametrize(
    ("market", "word", "status"),
    [
        ("spot", "HALT", HALTED), ("spot", "BREAK", DELISTED), ("spot", "PRE_TRADING", PRELAUNCH), ("spot", "AUCTION_MATCH", HALTED),
        ("perp", "SETTLING", HALTED), ("perp", "PENDING_TRADING", PRELAUNCH), ("perp", "CLOSE", DELISTED),
        ("perp", "A_NEW_WORD", HALTED),
    ],
)
def test_status_words_are_normalised_and_kept(market: str, word: str, status: str) -> None:
    doc = _json("rest_exchangeInfo_futures" if market == "perp" else "rest_exchangeInfo_spot")
    doc["symbols"][0]["status"] = word
    body = json.dumps(doc).encode()
    meta = (_perp(body) if market == "perp" else _spot(body))["BTCUSDT"]
    assert (meta.status, meta.venue_status, meta.trading) == (status, word, False)


def test_coin_margined_and_unnameable_symbols_are_left_out() -> None:
    info = _with_symbol("rest_exchangeInfo_futures", "ETHUSDT", "BTCUSDC", "BTC", quoteAsset="USDC", marginAsset="USDT")
    assert "BTCUSDC" not in _perp(info)  # margin USDT on a USDC quote: not a linear perpetual we can name
    spot = _with_symbol("rest_exchangeInfo_spot", "ETHUSDT", "币安人生USDT", "币安人生")
    assert sorted(_spot(spot)) == ["BTCUSDT", "ETHUSDT"]


@pytest.mark.parametrize(
    ("bodies", "message"),
    [
        ({"exchangeInfo": [b"not json"], "ticker24hr": [b"[]"]}, "exchangeInfo is not the listing format"),
        ({"exchangeInfo": [b'{"code":-1121,"msg":"Invalid symbol."}'], "ticker24hr": [b"[]"]}, "venue error -1121: Invalid symbol."),
        ({"exchangeInfo": [b'{"symbols":[{"symbol":"X"}]}'], "ticker24hr": [b"[]"]}, "missing required field"),
        ({"ticker24hr": [b"[]"]}, "no spot exchangeInfo response"),
        ({"exchangeInfo": [b'{"symbols":[]}'], "ticker24hr": [b'{"symbol":"BTCUSDT"}']}, "ticker/24hr is not the listing format"),
    ],
    ids=["not-json", "venue-error", "missing-field", "missing-response", "ticker-not-a-list"],
)
def test_malformed_spot_bodies_raise_metadata_error_saying_what(bodies: dict[str, list[bytes]], message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        BinanceSpot.parse_metadata("spot", bodies)


def test_a_filter_that_is_not_a_number_names_the_field() -> None:
    doc = _json("rest_exchangeInfo_futures")
    doc["symbols"][0]["filters"][0]["tickSize"] = "abc"
    with pytest.raises(MetadataError, match=r"BTCUSDT PRICE_FILTER.tickSize 'abc'"):
        _perp(json.dumps(doc).encode())
    with pytest.raises(MetadataError, match="no fundingInfo response"):
        BinanceUsdm.parse_metadata("perp", {"exchangeInfo": [_raw("rest_exchangeInfo_futures")], "ticker24hr": [b"[]"]})


def test_binance_of_a_market_is_that_market_s_protocol_with_its_limits() -> None:
    from arbsniper.instruments import SymbolMap

    assert type(Binance("spot", SymbolMap())) is BinanceSpot and type(Binance("perp", SymbolMap())) is BinanceUsdm
    spot, perp = BinanceSpot.subscription_limits, BinanceUsdm.subscription_limits
    assert (spot.max_streams_per_connection, spot.max_requests_per_s, spot.max_connections) == (1024, 5.0, 300)
    assert (perp.max_streams_per_connection, perp.max_requests_per_s, perp.streams_per_instrument) == (1024, 10.0, 2)
    assert BinanceSpot.max_instruments_per_connection == 512 and BinanceUsdm.max_instruments_per_connection == 512
    assert BinanceSpot.max_messages_per_s < 5.0 and BinanceUsdm.max_messages_per_s < 10.0
