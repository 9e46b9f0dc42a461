"""KuCoin listings on the real samples, subscription limits, and futures sizes in base units end to end."""

from __future__ import annotations

import copy
import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Quote
from arbsniper.venues.kucoin import KuCoinFutures, KuCoinSpot
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING, InstrumentMeta, MetadataError, RestRequest
from arbsniper.venues.units import contract_scale, contracts_to_base
from tests.conftest import FIXTURES
from tests.unit.venues.samples import sample_lines

RECV = 1_700_000_000_000_000_000
SYMBOLS = (FIXTURES / "kucoin" / "rest_symbols.json").read_bytes()
TICKERS = (FIXTURES / "kucoin" / "rest_allTickers.json").read_bytes()
CONTRACTS = (FIXTURES / "kucoin" / "rest_contracts_active.json").read_bytes()


def spot_metas(symbols: bytes = SYMBOLS, tickers: bytes = TICKERS) -> list[InstrumentMeta]:
    return KuCoinSpot.parse_metadata("spot", {"symbols": [symbols], "tickers": [tickers]})


def futures_metas(body: bytes = CONTRACTS) -> list[InstrumentMeta]:
    return KuCoinFutures.parse_metadata("perp", {"contracts": [body]})


def contracts_with(*changes: dict[str, object]) -> bytes:
    """The real XBTUSDTM entry once per ``changes``, each with those fields changed."""
    entry = json.loads(CONTRACTS)["data"][0]
    return json.dumps({"code": "200000", "data": [{**copy.deepcopy(entry), **c} for c in changes]}).encode()


# --- requests --------------------------------------------------------------------------------------


def test_spot_listing_is_symbols_plus_all_tickers_on_the_spot_host() -> None:
    assert KuCoinSpot.default_rest_base("spot") == "https://api.kucoin.com"
    assert KuCoinSpot.metadata_requests("spot", "https://api.kucoin.com/") == [
        RestRequest("GET", "https://api.kucoin.com/api/v2/symbols", "symbols"),
        RestRequest("GET", "https://api.kucoin.com/api/v1/market/allTickers", "tickers"),
    ]


def test_futures_listing_is_one_request_that_carries_the_24h_figures() -> None:
    assert KuCoinFutures.default_rest_base("perp") == "https://api-futures.kucoin.com"
    assert KuCoinFutures.metadata_requests("perp", "http://127.0.0.1:1/perp") == [
        RestRequest("GET", "http://127.0.0.1:1/perp/api/v1/contracts/active", "contracts")]
    assert KuCoinSpot.next_page("spot", KuCoinSpot.metadata_requests("spot", "x")[0], SYMBOLS) is None


# --- the real samples ------------------------------------------------------------------------------


def test_spot_sample_btc_usdt_has_its_steps_in_base_units_and_the_tickers_volume() -> None:
    [btc] = spot_metas()
    # rest_symbols.source.txt: baseIncrement 0.00000001, baseMinSize 0.00001 BTC, priceIncrement 0.1,
    # minFunds 0.1 USDT, enableTrading true; rest_allTickers: volValue 124068431.06726933 USDT, last 67193.
    assert btc == InstrumentMeta(
        venue="kucoin", market="spot", native_symbol="BTC-USDT", instrument="BTC/USDT", status=TRADING,
        venue_status="enableTrading=true", contract_size=1.0, lot_size=0.00000001, tick_size=0.1, min_size=0.00001,
        min_notional=0.1, funding_interval_hours=0.0, venue_base="", quote_volume_24h=124068431.06726933, last_price=67193.0)


def test_futures_sample_xbtusdtm_is_btc_with_lots_of_a_thousandth_and_an_8h_funding_period() -> None:
    [xbt] = futures_metas()
    # rest_contracts_active.source.txt: multiplier 0.001 BTC per contract, lotSize 1 contract (= 0.001 BTC,
    # also the smallest order), tickSize 0.1, no min notional, fundingRateGranularity 28 800 000 ms = 8 h,
    # turnoverOf24h 1034643198.3265533 USDT (12069.225 BTC x ~85 700), lastTradePrice 86364.
    assert xbt == InstrumentMeta(
        venue="kucoin", market="perp", native_symbol="XBTUSDTM", instrument="BTC/USDT:USDT", status=TRADING,
        venue_status="Open", contract_size=0.001, lot_size=0.001, tick_size=0.1, min_size=0.001, min_notional=0.0,
        funding_interval_hours=8.0, venue_base="XBT", quote_volume_24h=1034643198.3265533, last_price=86364.0)


def test_futures_granularity_gives_4h_and_1h_periods() -> None:
    four, one = futures_metas(contracts_with({"symbol": "ETHUSDTM", "baseCurrency": "ETH", "fundingRateGranularity": 14_400_000},
                                             {"symbol": "SOLUSDTM", "baseCurrency": "SOL", "fundingRateGranularity": 3_600_000}))
    assert (four.instrument, four.funding_interval_hours) == ("ETH/USDT:USDT", 4.0)
    assert (one.instrument, one.funding_interval_hours, one.venue_base) == ("SOL/USDT:USDT", 1.0, "")


def test_futures_status_words_map_to_trading_halted_prelaunch_and_delisted() -> None:
    words = ["Open", "Paused", "CancelOnly", "Init", "BeingSettled", "Settled", "Closed", "Surprise"]
    metas = futures_metas(contracts_with(*({"symbol": f"X{i}USDTM", "baseCurrency": f"X{i}", "status": w} for i, w in enumerate(words))))
    assert [(m.venue_status, m.status) for m in metas] == [
        ("Open", TRADING), ("Paused", HALTED), ("CancelOnly", HALTED), ("Init", PRELAUNCH), ("BeingSettled", DELISTED),
        ("Settled", DELISTED), ("Closed", DELISTED), ("Surprise", HALTED)]


def test_futures_inverse_and_dated_contracts_are_left_out() -> None:
    metas = futures_metas(contracts_with(
        {"symbol": "XBTUSDM", "quoteCurrency": "USD", "settleCurrency": "XBT", "isInverse": True},
        {"symbol": "XBTMZ25", "type": "FFICSX", "expireDate": 1766736000000},
        {"symbol": "ETHUSDTM", "baseCurrency": "ETH", "multiplier": 0.01, "lotSize": 1}))
    [eth] = metas
    assert (eth.native_symbol, eth.contract_size, eth.lot_size, eth.min_size) == ("ETHUSDTM", 0.01, 0.01, 0.01)


def test_spot_halt_and_call_auction_and_a_symbol_without_a_ticker() -> None:
    entry = json.loads(SYMBOLS)["data"][0]
    body = json.dumps({"code": "200000", "data": [
        {**entry, "symbol": "ETH-USDT", "baseCurrency": "ETH", "enableTrading": False},
        {**entry, "symbol": "NEW-USDT", "baseCurrency": "NEW", "callauctionIsEnabled": True},
    ]}).encode()
    halted, auction = spot_metas(body)
    assert (halted.status, halted.venue_status, halted.quote_volume_24h, halted.last_price) == (HALTED, "enableTrading=false", 0.0, 0.0)
    assert (auction.instrument, auction.status) == ("NEW/USDT", PRELAUNCH)


@pytest.mark.parametrize(
    ("market", "bodies", "message"),
    [
        ("spot", {"symbols": [b"<html>"], "tickers": [TICKERS]}, "GET /api/v2/symbols is not KuCoin's format"),
        ("spot", {"symbols": [b'{"code":"200000","data":[{"symbol":"BTC-USDT"}]}'], "tickers": [TICKERS]}, "missing required field"),
        ("spot", {"symbols": [b'{"code":"429000","msg":"Too Many Requests"}'], "tickers": [TICKERS]}, "refused: code=429000"),
        ("spot", {"symbols": [SYMBOLS]}, "no 'tickers' response"),
        ("spot", {"symbols": [SYMBOLS], "tickers": [b'{"code":"200000","data":{"ticker":[{"symbol":1}]}}']}, "allTickers is not"),
        ("perp", {"contracts": [b'{"code":"200000","data":{"symbol":"XBTUSDTM"}}']}, "contracts/active is not KuCoin's format"),
        ("perp", {"contracts": [contracts_with({"multiplier": 0})]}, "contract XBTUSDTM: contract size must be positive"),
        ("perp", {}, "no 'contracts' response"),
    ],
)
def test_malformed_listings_are_metadata_errors_that_say_what_is_wrong(market: str, bodies: dict[str, list[bytes]], message: str) -> None:
    cls = KuCoinSpot if market == "spot" else KuCoinFutures
    with pytest.raises(MetadataError, match=message):
        cls.parse_metadata(market, bodies)


# --- units end to end ------------------------------------------------------------------------------


def test_real_xbtusdtm_frames_with_the_real_listing_give_quotes_and_books_in_btc() -> None:
    venue = KuCoinFutures("perp", SymbolMap(), futures_metas())
    ticker, depth5, change = sample_lines("kucoin", "futures_frames")
    [q] = venue.parse(ticker, RECV).events
    # 20074 and 1187 contracts of 0.001 BTC
    assert isinstance(q, Quote) and (q.bid, q.bid_size, q.ask, q.ask_size) == (31766.0, 20.074, 31767.0, 1.187)
    [b] = venue.parse(depth5, RECV).events
    assert isinstance(b, Book)
    assert b.bids == [(31607.0, 16.35), (31606.0, 7.183), (31605.0, 17.234), (31604.0, 0.553), (31603.0, 0.62)]
    assert b.asks == [(31608.0, 32.278), (31609.0, 0.571), (31610.0, 4.456), (31611.0, 10.157), (31612.0, 3.185)]
    # The real level2 change on a book snapshot one sequence before it: 4374 contracts = 4.374 BTC.
    iid = venue.symbols.instrument_id("BTC/USDT:USDT")
    snapshot = json.dumps({"code": "200000", "data": {"symbol": "XBTUSDTM", "sequence": 1618232029292, "ts": 1622719195000000000,
                                                       "bids": [[38961.0, 1000]], "asks": [[38963.0, 250]]}})
    _, first = venue.apply_snapshot(iid, snapshot, RECV).events
    assert isinstance(first, Book) and first.bids == [(38961.0, 1.0)] and first.asks == [(38963.0, 0.25)]
    [after] = venue.parse(change, RECV).events
    assert isinstance(after, Book) and after.bids == [(38962.0, 4.374), (38961.0, 1.0)] and after.seq == 1618232029293


def test_open_mode_with_metadata_parses_a_recording_in_base_units_and_names_it_from_the_listing() -> None:
    venue = KuCoinFutures("perp", SymbolMap(), metadata=futures_metas())
    [q] = venue.parse(sample_lines("kucoin", "futures_frames")[0], RECV).events
    assert isinstance(q, Quote) and venue.symbols.instrument_name(q.instrument) == "BTC/USDT:USDT" and q.bid_size == 20.074


@pytest.mark.parametrize(("contracts", "size", "base"), [(83, 0.01, 0.83), (4374, 0.001, 4.374), (7, 10.0, 70.0), (7, 0.3, 2.1), (3, 1.0, 3.0)])
def test_contract_scale_is_exact_for_decimal_sizes(contracts: int, size: float, base: float) -> None:
    mul, div = contract_scale(size)
    assert contracts * mul / div == base == contracts_to_base(contracts, size)


# --- subscription limits ---------------------------------------------------------------------------


def test_limits_are_the_docs_new_figures() -> None:
    spot, perp = KuCoinSpot.subscription_limits, KuCoinFutures.subscription_limits
    assert (spot.streams_per_instrument, spot.max_streams_per_connection, spot.max_args_per_request) == (2, 400, 100)
    assert (spot.max_requests_per_s, spot.max_connections) == (10.0, 800)  # 100 messages per 10 s; 800 per user
    assert (perp.streams_per_instrument, perp.max_streams_per_connection, perp.max_args_per_request) == (3, 400, 100)
    assert (KuCoinSpot.max_instruments_per_connection, KuCoinFutures.max_instruments_per_connection) == (200, 133)
    assert KuCoinSpot.max_messages_per_s == 5.0  # our pacing: half the allowance, pings fit beside it


def test_subscribe_messages_put_at_most_100_symbols_in_a_topic() -> None:
    names = [f"C{i}" for i in range(150)]
    venue = KuCoinSpot("spot", SymbolMap(), [f"{n}/USDT" for n in names])
    topics = [json.loads(m)["topic"] for m in venue.subscribe_messages()]
    first, second = ",".join(f"{n}-USDT" for n in names[:100]), ",".join(f"{n}-USDT" for n in names[100:])
    assert topics == [f"/market/ticker:{first}", f"/market/level2:{first}", f"/market/ticker:{second}", f"/market/level2:{second}"]
    metas = [InstrumentMeta(venue="kucoin", market="perp", native_symbol=f"{n}USDTM", instrument=f"{n}/USDT:USDT", status=TRADING,
                            contract_size=1.0) for n in names[:3]]
    futures_topics = [json.loads(m)["topic"] for m in KuCoinFutures("perp", SymbolMap(), metas).subscribe_messages()]
    assert futures_topics == ["/contractMarket/tickerV2:C0USDTM,C1USDTM,C2USDTM", "/contractMarket/level2:C0USDTM,C1USDTM,C2USDTM",
                              "/contract/instrument:C0USDTM,C1USDTM,C2USDTM"]
