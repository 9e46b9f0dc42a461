"""Bybit v5 parser on the real samples: orderbook.1 / .50 snapshot + delta, tickers, control frames."""

from __future__ import annotations

import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import RESYNCING, UP, Book, Funding, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, PONG, FrameError
from arbsniper.venues.bybit import Bybit, BybitLinear, BybitSpot
from arbsniper.venues.metadata import TRADING, InstrumentMeta
from tests.unit.venues.samples import sample_lines

RECV = 1_700_000_000_000_000_000


def _open(market: str) -> Bybit:
    return Bybit(market, SymbolMap())


def test_linear_orderbook1_snapshot_and_delta_give_quotes() -> None:
    v = _open("perp")
    lines = sample_lines("bybit", "v5_linear_orderbook1")
    [q] = v.parse(lines[0], RECV).events
    assert isinstance(q, Quote) and v.symbols.instrument_name(q.instrument) == "BTC/USDT:USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.seq) == (28552.0, 0.047, 28552.1, 25.433, 50193540681)
    assert q.exchange_ts_ns == 1680673820717 * 10**6
    [q] = v.parse(lines[1], RECV).events  # u 7003305 -> 7003306
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (28552.0, 0.012, 28552.1, 25.433)
    # line 3 comes from another day's capture (u=1188472): against this book it is a gap
    parsed = v.parse(lines[2], RECV)
    [gap] = parsed.events
    assert gap.state == RESYNCING and "u=1188472 after 7003306" in gap.reason
    assert parsed.resyncs == (q.instrument,)


def test_spot_orderbook1_sample() -> None:
    v = _open("spot")
    lines = sample_lines("bybit", "v5_spot_orderbook1")
    [q] = v.parse(lines[0], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BTC/USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (28165.07, 0.175231, 28165.08, 0.996816)
    [q] = v.parse(lines[1], RECV).events
    assert (q.bid, q.bid_size) == (28165.07, 0.166754)


def test_spot_orderbook50_snapshot_then_delta() -> None:
    v = _open("spot")
    lines = sample_lines("bybit", "v5_spot_orderbook50")
    status, book = v.parse(lines[0], RECV).events
    assert isinstance(status, VenueStatus) and status.state == UP and isinstance(book, Book)
    [book] = v.parse(lines[1], RECV).events
    assert book.bids == [(28162.57, 0.07562), (28161.04, 0.177474)]
    assert book.asks == [(28162.58, 0.506829)]
    assert book.seq == 4281282232


def test_linear_usdc_perp_book_maps_to_usdc_settled() -> None:
    v = _open("perp")
    lines = sample_lines("bybit", "v5_linear_orderbook50")
    _, book = v.parse(lines[0], RECV).events
    assert v.symbols.instrument_name(book.instrument) == "BTC/USDC:USDC"
    [book] = v.parse(lines[1], RECV).events
    assert book.bids == [(28555.2, 0.677)] and book.asks == [(28555.3, 0.029)]


def test_derivative_tickers_give_quote_and_funding_and_merge_deltas() -> None:
    v = _open("perp")
    lines = sample_lines("bybit", "v5_derivs_tickers")
    q, f = v.parse(lines[0], RECV).events
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.seq) == (28550.7, 2.049, 28550.8, 15.328, 50193544280)
    # the 2023 capture has no fundingIntervalHour and there is no listing here: interval unknown (0)
    assert isinstance(f, Funding) and (f.rate, f.interval_hours, f.next_funding_ts_ns) == (0.0001, 0.0, 1680681600000 * 10**6)
    q, f = v.parse(lines[1], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BTC/USD:BTC"  # inverse perpetual
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (28560.0, 340549.0, 28560.5, 70817.0)
    q, f = v.parse(lines[2], RECV).events  # delta: merged into the snapshot
    assert (q.bid, q.ask, f.rate) == (28560.0, 28560.5, 0.0001)
    for line in lines[3:5]:
        with pytest.raises(FrameError, match="BTCUSDU23"):  # a dated future has no unified name
            v.parse(line, RECV)
    q, f = v.parse(lines[5], RECV).events
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (66666.6, 23789.165, 66666.7, 23775.469)
    assert (f.rate, f.interval_hours, f.next_funding_ts_ns) == (-0.005, 8.0, 1760342400000 * 10**6)
    q, f = v.parse(lines[6], RECV).events
    assert (f.rate, q.bid, q.ask) == (-0.000212, 17215.5, 17216.0)


def test_ticker_delta_without_prices_keeps_snapshot_prices() -> None:
    v = Bybit("perp", SymbolMap(), ["BTC/USDT:USDT"])
    v.parse(sample_lines("bybit", "v5_derivs_tickers")[0], RECV)
    [f] = v.parse('{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","fundingRate":"0.0002"},"cs":1,"ts":2}', RECV).events
    assert isinstance(f, Funding) and f.rate == 0.0002 and f.next_funding_ts_ns == 1680681600000 * 10**6


def test_spot_tickers_have_no_bbo_and_give_nothing() -> None:
    assert _open("spot").parse(sample_lines("bybit", "v5_spot_tickers")[0], RECV) == NOTHING


def test_pongs_are_pongs_acks_and_foreign_topics_are_nothing_and_errors_raise() -> None:
    v = _open("spot")
    for line in sample_lines("bybit", "v5_pong"):
        assert v.parse(line, RECV) == PONG
    for line in sample_lines("bybit", "v5_subscribe_ack"):
        assert v.parse(line, RECV) == NOTHING
    with pytest.raises(FrameError, match="Invalid topic"):
        v.parse(sample_lines("bybit", "v5_subscribe_error")[0], RECV)
    # the 2021 pre-v5 feed is not v5: its topics are not ours, so they yield nothing (not misread)
    for name in ("legacy_v2_orderBookL2_25_snapshot", "legacy_v2_orderBookL2_25_delta", "legacy_v2_subscribe_ack"):
        for line in sample_lines("bybit", name):
            assert v.parse(line, RECV) == NOTHING


def test_subscribe_batches_respect_spot_limit_of_ten_args() -> None:
    insts = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT"]
    v = Bybit("spot", SymbolMap(), insts, base_url="ws://h:1/{market}")
    msgs = v.subscribe_messages()
    assert v.ws_url() == "ws://h:1/spot/v5/public/spot"
    assert len(msgs) == 2 and msgs[0].startswith('{"req_id":"1","op":"subscribe","args":["orderbook.1.BTCUSDT","orderbook.50.BTCUSDT"')
    assert msgs[0].count("orderbook") == 10 and msgs[1].count("orderbook") == 2


def _linear_meta(native: str, instrument: str, funding_h: float) -> InstrumentMeta:
    return InstrumentMeta(venue="bybit", market="perp", native_symbol=native, instrument=instrument, status=TRADING,
                          funding_interval_hours=funding_h)


def test_ticker_funding_takes_the_listing_interval_when_the_frame_has_none() -> None:
    v = Bybit("perp", SymbolMap(), [_linear_meta("BTCUSDT", "BTC/USDT:USDT", 4.0)])
    _, f = v.parse(sample_lines("bybit", "v5_derivs_tickers")[0], RECV).events
    assert isinstance(f, Funding) and f.interval_hours == 4.0  # fundingInterval 240 minutes in the listing


def test_ticker_funding_interval_in_the_frame_beats_the_listing() -> None:
    v = Bybit("perp", SymbolMap(), [_linear_meta("BTCUSDT", "BTC/USDT:USDT", 4.0)])
    _, f = v.parse(sample_lines("bybit", "v5_derivs_tickers")[5], RECV).events  # "fundingIntervalHour":"8"
    assert isinstance(f, Funding) and f.interval_hours == 8.0


def test_usdc_perp_is_named_by_its_listing() -> None:
    v = Bybit("perp", SymbolMap(), metadata=[_linear_meta("BTCPERP", "BTC/USDC:USDC", 8.0)])
    _, book = v.parse(sample_lines("bybit", "v5_linear_orderbook50")[0], RECV).events
    assert v.symbols.instrument_name(book.instrument) == "BTC/USDC:USDC"


def test_sizes_follow_a_listing_whose_unit_is_not_one_base_unit() -> None:
    # Bybit lists every size in base units (contract_size 1); a record saying otherwise is obeyed
    meta = InstrumentMeta(venue="bybit", market="perp", native_symbol="BTCUSDT", instrument="BTC/USDT:USDT", status=TRADING,
                          contract_size=2.0)
    v = Bybit("perp", SymbolMap(), [meta])
    [q] = v.parse(sample_lines("bybit", "v5_linear_orderbook1")[0], RECV).events
    assert (q.bid_size, q.ask_size) == (0.094, 50.866)  # 0.047 and 25.433 units of 2
    q, _ = v.parse(sample_lines("bybit", "v5_derivs_tickers")[0], RECV).events
    assert (q.bid_size, q.ask_size) == (4.098, 30.656)  # bid1Size 2.049, ask1Size 15.328


def test_bybit_of_a_market_is_that_market_s_protocol_with_its_limits() -> None:
    assert type(Bybit("spot", SymbolMap())) is BybitSpot and type(Bybit("perp", SymbolMap())) is BybitLinear
    spot, linear = BybitSpot.subscription_limits, BybitLinear.subscription_limits
    assert (spot.max_args_per_request, spot.streams_per_instrument, spot.max_connections) == (10, 2, 500)
    assert (linear.max_args_per_request, linear.streams_per_instrument) == (100, 3)
    # 21,000 characters of args per connection over 36-character topics: 583 topics
    assert spot.max_streams_per_connection == linear.max_streams_per_connection == 583
    assert BybitSpot.max_instruments_per_connection == 291 and BybitLinear.max_instruments_per_connection == 194
    insts = [f"LONGSYMBOLABC{i:03d}/USDT:USDT" for i in range(194)]  # 20-character native symbols, the long case
    msgs = Bybit("perp", SymbolMap(), insts).subscribe_messages()
    chars = sum(len(json.dumps(json.loads(m)["args"])) for m in msgs)
    assert chars <= 21_000 and [len(json.loads(m)["args"]) for m in msgs] == [100] * 5 + [82]
