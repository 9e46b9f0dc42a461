"""Bitget listing parsers on the real REST samples (numbers read off each ``.source.txt``) and on bad bodies."""

from __future__ import annotations

import json
import re

import pytest

from arbsniper.venues.bitget import Bitget
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING, MetadataError, RestRequest
from tests.conftest import FIXTURES
from tests.unit.venues.samples import sample_json

SYMBOLS = (FIXTURES / "bitget" / "rest_spot_public_symbols.json").read_bytes()
CONTRACTS = (FIXTURES / "bitget" / "rest_mix_market_contracts.json").read_bytes()
CCXT_CONTRACT = json.loads((FIXTURES / "bitget" / "rest_mix_market_contracts_ccxt_comment.json").read_text())


def answer(data: list[dict[str, object]]) -> bytes:
    return json.dumps({"code": "00000", "msg": "success", "requestTime": 1725192127389, "data": data}).encode()


def contract(**changes: str) -> dict[str, object]:
    """A contract in the shape ccxt pasted from the live venue (BTCUSDT), some values changed."""
    return CCXT_CONTRACT | changes


def test_requests_are_the_symbols_contracts_and_ticker_endpoints() -> None:
    assert Bitget.default_rest_base("perp") == "https://api.bitget.com"
    assert Bitget.metadata_requests("spot", "https://api.bitget.com") == [
        RestRequest("GET", "https://api.bitget.com/api/v2/spot/public/symbols", "symbols"),
        RestRequest("GET", "https://api.bitget.com/api/v2/spot/market/tickers", "tickers"),
    ]
    assert Bitget.metadata_requests("perp", "http://127.0.0.1:9/perp") == [
        RestRequest("GET", "http://127.0.0.1:9/perp/api/v2/mix/market/contracts?productType=USDT-FUTURES", "contracts"),
        RestRequest("GET", "http://127.0.0.1:9/perp/api/v2/mix/market/tickers?productType=USDT-FUTURES", "tickers"),
    ]


def test_real_spot_symbols_steps_are_decimal_places() -> None:
    metas = {m.native_symbol: m for m in Bitget.parse_metadata("spot", {"symbols": [SYMBOLS]})}
    assert list(metas) == ["BTCUSDT", "ETHUSDT", "BGBUSDT"]
    btc = metas["BTCUSDT"]
    assert (btc.venue, btc.market, btc.instrument, btc.status, btc.venue_status) == ("bitget", "spot", "BTC/USDT", TRADING, "online")
    # quantityPrecision "6" -> 0.000001 BTC, pricePrecision "2" -> 0.01, minTradeAmount "0", minTradeUSDT "1"
    assert (btc.contract_size, btc.lot_size, btc.tick_size, btc.min_size, btc.min_notional) == (1.0, 1e-6, 0.01, 0.0, 1.0)
    eth, bgb = metas["ETHUSDT"], metas["BGBUSDT"]
    assert (eth.lot_size, eth.tick_size) == (1e-4, 0.01)  # quantityPrecision 4, pricePrecision 2
    assert (bgb.lot_size, bgb.tick_size) == (1e-4, 1e-4)  # 4 and 4
    assert all(m.funding_interval_hours == 0.0 for m in metas.values())


def test_real_contracts_docs_example_and_ccxt_capture() -> None:
    [docs] = Bitget.parse_metadata("perp", {"contracts": [CONTRACTS]})
    assert (docs.native_symbol, docs.instrument, docs.status, docs.venue_status) == ("BTCUSDT", "BTC/USDT:USDT", TRADING, "normal")
    # sizeMultiplier "0.01" BTC, minTradeNum "0.01", pricePlace "1" x priceEndStep "1" -> 0.1, minTradeUSDT "5", fundInterval "8" h
    assert (docs.contract_size, docs.lot_size, docs.min_size, docs.tick_size, docs.min_notional, docs.funding_interval_hours) == (
        1.0, 0.01, 0.01, 0.1, 5.0, 8.0)
    [live] = Bitget.parse_metadata("perp", {"contracts": [answer([CCXT_CONTRACT])]})
    assert (live.lot_size, live.min_size, live.tick_size, live.min_notional, live.funding_interval_hours) == (0.001, 0.001, 0.1, 5.0, 8.0)


def test_tick_is_price_end_step_at_price_place_and_fund_interval_is_hours() -> None:
    [m] = Bitget.parse_metadata("perp", {"contracts": [answer([contract(symbol="DOGEUSDT", baseCoin="DOGE", pricePlace="5",
                                                                        priceEndStep="5", sizeMultiplier="1", fundInterval="4")])]})
    assert (m.instrument, m.tick_size, m.lot_size, m.funding_interval_hours) == ("DOGE/USDT:USDT", 0.00005, 1.0, 4.0)
    [m] = Bitget.parse_metadata("perp", {"contracts": [answer([contract(sizeMultiplier="", volumePlace="2")])]})
    assert m.lot_size == 0.01  # no multiplier given: the size decimals


def test_status_words_map_to_statuses_and_delivery_futures_are_left_out() -> None:
    words = ["normal", "listed", "maintain", "limit_open", "restrictedAPI", "off", "somethingNew"]
    contracts = answer([contract(symbol=f"C{i}USDT", baseCoin=f"C{i}", symbolStatus=w) for i, w in enumerate(words)]
                       + [contract(symbol="BTCUSDT", symbolType="delivery")])
    metas = Bitget.parse_metadata("perp", {"contracts": [contracts]})
    assert [m.status for m in metas] == [TRADING, PRELAUNCH, HALTED, HALTED, HALTED, DELISTED, HALTED]
    spot = json.loads(SYMBOLS)["data"][0]
    symbols = answer([spot | {"symbol": f"S{i}USDT", "baseCoin": f"S{i}", "status": w} for i, w in enumerate(["online", "halt", "gray", "offline"])])
    assert [m.status for m in Bitget.parse_metadata("spot", {"symbols": [symbols]})] == [TRADING, HALTED, PRELAUNCH, DELISTED]


def test_quote_volume_and_last_price_from_the_tickers() -> None:
    storj = sample_json("bitget", "v2_futures_ticker")[0]["data"][0]  # the real row: quoteVolume 1355483.45089, lastPr 0.4706
    contracts = answer([contract(symbol="STORJUSDT", baseCoin="STORJ", pricePlace="4", sizeMultiplier="0.1")])
    [m] = Bitget.parse_metadata("perp", {"contracts": [contracts], "tickers": [answer([storj])]})
    assert (m.quote_volume_24h, m.last_price, m.tick_size, m.lot_size) == (1355483.45089, 0.4706, 0.0001, 0.1)
    tickers = answer([{"symbol": "BTCUSDT", "lastPr": "34413.1", "quoteVolume": "123456.7", "baseVolume": "3.58", "usdtVolume": "123456.7"}])
    [btc, eth, _] = Bitget.parse_metadata("spot", {"symbols": [SYMBOLS], "tickers": [tickers]})
    assert (btc.quote_volume_24h, btc.last_price) == (123456.7, 34413.1)
    assert (eth.quote_volume_24h, eth.last_price) == (0.0, 0.0)  # no ticker row: not known


def test_symbols_whose_coins_do_not_spell_them_are_left_out() -> None:
    odd = answer([contract(symbol="BTCUSDT", baseCoin="XBT")])
    assert Bitget.parse_metadata("perp", {"contracts": [odd]}) == []


@pytest.mark.parametrize(
    ("market", "bodies", "message"),
    [
        ("spot", {}, "no 'symbols' answer"),
        ("spot", {"symbols": [b"Bad Gateway"]}, "not a Bitget answer"),
        ("perp", {"contracts": [b'{"code":"40034","msg":"Parameter does not exist","data":null}']}, "refused: code 40034: Parameter does not exist"),
        ("perp", {"contracts": [b'{"code":"00000","msg":"success","data":{"symbol":"BTCUSDT"}}']}, "not the Bitget format"),
        ("perp", {"contracts": [answer([contract(pricePlace="one")])]}, "BTCUSDT pricePlace is not a number of decimal places: 'one'"),
        ("perp", {"contracts": [answer([contract(minTradeUSDT="-5")])]}, "BTCUSDT minTradeUSDT is not a non-negative number: '-5'"),
        ("spot", {"symbols": [SYMBOLS], "tickers": [answer([{"symbol": "BTCUSDT", "lastPr": "n/a"}])]}, "BTCUSDT lastPr is not a number"),
    ],
)
def test_bad_bodies_raise_metadata_error_saying_what_is_wrong(market: str, bodies: dict[str, list[bytes]], message: str) -> None:
    with pytest.raises(MetadataError, match=re.escape(message)):
        Bitget.parse_metadata(market, bodies)
