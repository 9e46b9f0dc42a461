"""OKX listing parsers on the real REST samples (numbers read off each ``.source.txt``) and on bad bodies."""

from __future__ import annotations

import json
import re

import pytest

from arbsniper.venues.metadata import HALTED, PRELAUNCH, TRADING, MetadataError, RestRequest
from arbsniper.venues.okx import Okx, OkxSwap
from tests.conftest import FIXTURES

SPOT = (FIXTURES / "okx" / "rest_instruments_spot.json").read_bytes()
SWAP = (FIXTURES / "okx" / "rest_instruments_swap.json").read_bytes()
FUNDING = (FIXTURES / "okx" / "rest_funding-rate.json").read_bytes()


def answer(data: list[dict[str, object]]) -> bytes:
    return json.dumps({"code": "0", "msg": "", "data": data}).encode()


def swap_entry(inst_id: str, ct_val: str, lot: str = "1", min_sz: str = "1", tick: str = "0.0001", state: str = "live") -> dict[str, object]:
    """An instruments entry in the real SWAP shape (that of BTC-USDT-SWAP in the sample), values changed."""
    entry = dict(json.loads(SWAP)["data"][2])
    family = inst_id.removesuffix("-SWAP")
    entry |= {"instId": inst_id, "instFamily": family, "uly": family, "ctVal": ct_val, "ctValCcy": family.split("-")[0],
              "lotSz": lot, "minSz": min_sz, "tickSz": tick, "state": state}
    return entry


def test_requests_are_the_instruments_funding_and_ticker_endpoints() -> None:
    assert Okx.default_rest_base("spot") == "https://www.okx.com"
    assert Okx.metadata_requests("spot", "https://www.okx.com") == [
        RestRequest("GET", "https://www.okx.com/api/v5/public/instruments?instType=SPOT", "instruments"),
        RestRequest("GET", "https://www.okx.com/api/v5/market/tickers?instType=SPOT", "tickers"),
    ]
    assert OkxSwap.metadata_requests("perp", "http://127.0.0.1:9/perp/") == [
        RestRequest("GET", "http://127.0.0.1:9/perp/api/v5/public/instruments?instType=SWAP", "instruments"),
        RestRequest("GET", "http://127.0.0.1:9/perp/api/v5/public/funding-rate?instId=ANY", "funding"),
        RestRequest("GET", "http://127.0.0.1:9/perp/api/v5/market/tickers?instType=SWAP", "tickers"),
    ]
    assert OkxSwap.next_page("perp", OkxSwap.metadata_requests("perp", "x")[0], SWAP) is None  # OKX does not page


def test_real_spot_listing_sizes_are_base_units() -> None:
    metas = {m.native_symbol: m for m in Okx.parse_metadata("spot", {"instruments": [SPOT]})}
    assert list(metas) == ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "USDT-USD"]
    btc = metas["BTC-USD"]
    assert (btc.venue, btc.market, btc.instrument, btc.status, btc.venue_status) == ("okx", "spot", "BTC/USD", TRADING, "live")
    # lotSz "0.00000001", minSz "0.00001" BTC, tickSz "0.1" USD; no min notional; ctVal "" -> 1
    assert (btc.contract_size, btc.lot_size, btc.min_size, btc.tick_size, btc.min_notional) == (1.0, 1e-8, 1e-5, 0.1, 0.0)
    assert (metas["ETH-USD"].lot_size, metas["ETH-USD"].min_size, metas["ETH-USD"].tick_size) == (1e-6, 1e-4, 0.01)
    assert (metas["XRP-USD"].min_size, metas["XRP-USD"].tick_size) == (1.0, 0.0001)
    assert metas["USDT-USD"].instrument == "USDT/USD"
    assert all(m.funding_interval_hours == 0.0 and m.quote_volume_24h == 0.0 for m in metas.values())  # no tickers given


def test_real_swap_listing_converts_contracts_to_base_and_leaves_out_the_inverse_swap() -> None:
    metas = {m.native_symbol: m for m in OkxSwap.parse_metadata("perp", {"instruments": [SWAP]})}
    assert list(metas) == ["ETH-USDT-SWAP", "BTC-USDT-SWAP"]  # BTC-USD-SWAP: ctType inverse, ctValCcy USD
    btc = metas["BTC-USDT-SWAP"]
    assert (btc.instrument, btc.status, btc.venue_status) == ("BTC/USDT:USDT", TRADING, "live")
    # ctVal 0.01 x ctMult 1 BTC; lotSz / minSz 0.01 contracts = 0.0001 BTC; tickSz 0.1 USDT
    assert (btc.contract_size, btc.lot_size, btc.min_size, btc.tick_size, btc.min_notional) == (0.01, 0.0001, 0.0001, 0.1, 0.0)
    eth = metas["ETH-USDT-SWAP"]
    # ctVal 0.1 ETH; lotSz / minSz 0.01 contracts = 0.001 ETH; tickSz 0.01
    assert (eth.contract_size, eth.lot_size, eth.min_size, eth.tick_size) == (0.1, 0.001, 0.001, 0.01)
    assert btc.funding_interval_hours == 0.0  # no funding answer given: not known


def test_funding_interval_is_the_spacing_of_the_real_funding_times() -> None:
    instruments = answer([swap_entry("XRP-USDT-SWAP", "100"), swap_entry("BTC-USDT-SWAP", "0.01", "0.01", "0.01", "0.1")])
    four_hours = answer([{"instId": "BTC-USDT-SWAP", "fundingTime": "1704816000000", "nextFundingTime": "1704830400000"}])
    [xrp, btc] = OkxSwap.parse_metadata("perp", {"instruments": [instruments], "funding": [FUNDING]})
    # real sample: 1704844800000 - 1704816000000 = 28 800 000 ms = 8 h
    assert (xrp.native_symbol, xrp.funding_interval_hours, xrp.contract_size, xrp.lot_size) == ("XRP-USDT-SWAP", 8.0, 100.0, 100.0)
    assert btc.funding_interval_hours == 0.0  # not in the sample's answer
    [_, btc] = OkxSwap.parse_metadata("perp", {"instruments": [instruments], "funding": [four_hours]})
    assert btc.funding_interval_hours == 4.0  # 14 400 000 ms


def test_states_map_to_statuses_and_an_unknown_word_is_not_trading() -> None:
    instruments = answer([swap_entry("A-USDT-SWAP", "1", state="suspend"), swap_entry("B-USDT-SWAP", "1", state="preopen"),
                          swap_entry("C-USDT-SWAP", "1", state="test"), swap_entry("D-USDT-SWAP", "1", state="rebase")])
    metas = OkxSwap.parse_metadata("perp", {"instruments": [instruments]})
    assert [(m.status, m.venue_status) for m in metas] == [(HALTED, "suspend"), (PRELAUNCH, "preopen"), (PRELAUNCH, "test"), (HALTED, "rebase")]


def test_quote_volume_is_volccy_on_spot_and_volccy_times_last_on_swap() -> None:
    spot_tickers = answer([{"instType": "SPOT", "instId": "BTC-USD", "last": "30236", "volCcy24h": "525802090.62716611",
                            "vol24h": "17602.13085371"}])
    [btc, *_] = Okx.parse_metadata("spot", {"instruments": [SPOT], "tickers": [spot_tickers]})
    assert (btc.quote_volume_24h, btc.last_price) == (525802090.62716611, 30236.0)  # SPOT volCcy24h: quote currency
    swap_tickers = answer([{"instType": "SWAP", "instId": "BTC-USDT-SWAP", "last": "97000.5", "volCcy24h": "12345.67",
                            "vol24h": "1234567"}])
    [_, btc_swap] = OkxSwap.parse_metadata("perp", {"instruments": [SWAP], "tickers": [swap_tickers]})
    # SWAP volCcy24h is BTC: 12 345.67 BTC x 97 000.5 = 1 197 536 162.835 USDT
    assert btc_swap.quote_volume_24h == pytest.approx(1_197_536_162.835)
    assert btc_swap.last_price == 97000.5


@pytest.mark.parametrize(
    ("market", "bodies", "message"),
    [
        ("spot", {}, "no 'instruments' answer"),
        ("spot", {"instruments": [b"<html>502</html>"]}, "not an OKX answer"),
        ("perp", {"instruments": [b'{"code":"50011","msg":"Too Many Requests","data":[]}']}, "refused: code 50011: Too Many Requests"),
        ("spot", {"instruments": [b'{"code":"0","msg":"","data":{"instId":"BTC-USDT"}}']}, "not the OKX format"),
        ("spot", {"instruments": [answer([{"instId": "BTC-USDT", "instType": "SPOT", "baseCcy": "BTC", "quoteCcy": "USDT",
                                           "lotSz": "abc", "state": "live"}])]}, "BTC-USDT lotSz is not a number: 'abc'"),
        ("perp", {"instruments": [answer([{"instId": "BTC-USDT-SWAP", "instType": "SPOT"}])]}, "instType SPOT, asked for SWAP"),
        ("perp", {"instruments": [SWAP], "tickers": [b'{"code":"0","data":[{"instId":"BTC-USDT-SWAP","last":"-1"}]}']},
         "BTC-USDT-SWAP last is not a non-negative number"),
    ],
)
def test_bad_bodies_raise_metadata_error_saying_what_is_wrong(market: str, bodies: dict[str, list[bytes]], message: str) -> None:
    cls = Okx if market == "spot" else OkxSwap
    with pytest.raises(MetadataError, match=re.escape(message)):
        cls.parse_metadata(market, bodies)


def test_linear_swap_without_contract_size_is_an_error_not_a_guess() -> None:
    with pytest.raises(MetadataError, match="without a contract size"):
        OkxSwap.parse_metadata("perp", {"instruments": [answer([swap_entry("X-USDT-SWAP", "")])]})
