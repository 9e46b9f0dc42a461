"""Binance parser on the real samples: numbers as sent, spot and USD-M book rules, acks, errors."""

from __future__ import annotations

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import RESYNCING, UP, Book, Funding, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, FrameError, Parsed
from arbsniper.venues.binance import Binance
from conftest import sample_lines

RECV = 1_700_000_000_000_000_000


def _open(market: str) -> Binance:
    return Binance(market, SymbolMap())


def test_spot_book_ticker_sample_parses_to_its_numbers() -> None:
    v = _open("spot")
    [q] = v.parse(sample_lines("binance", "spot_bookTicker")[0], RECV).events
    assert isinstance(q, Quote)
    assert v.symbols.instrument_name(q.instrument) == "NKN/USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.seq) == (0.3521, 672.0, 0.3526, 3199.0, 499869768)
    assert q.exchange_ts_ns == RECV  # spot bookTicker has no time of its own
    [q] = v.parse(sample_lines("binance", "spot_bookTicker")[4], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BLZ/ETH"
    assert (q.bid, q.ask) == (0.00006547, 0.0000656)


def test_usdm_book_ticker_sample_maps_to_linear_perp_with_event_time() -> None:
    v = _open("perp")
    [q] = v.parse(sample_lines("binance", "futures_bookTicker")[4], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BTC/USDT:USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (33134.42, 0.17, 33139.39, 0.38)
    assert q.exchange_ts_ns == 1612137603571 * 1_000_000
    assert q.seq == 185130926750


def test_mark_price_samples_give_funding_rate_and_next_time() -> None:
    v = _open("perp")
    out = [v.parse(line, RECV).events for line in sample_lines("binance", "futures_markPrice")]
    rates = [(f.rate, f.next_funding_ts_ns // 1_000_000, f.interval_hours) for [f] in out if isinstance(f, Funding)]
    assert rates == [(0.0001, 1569916800000, 8.0), (0.0001564, 1597564800000, 8.0), (0.00038167, 1562306400000, 8.0)]


def test_spot_depth_snapshot_plus_diffs_follow_spot_rules() -> None:
    v = _open("spot")
    diffs = sample_lines("binance", "spot_depth_diff")
    first = v.parse(diffs[0], RECV)  # first event: no book yet -> buffered, snapshot requested
    [status] = first.events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING
    iid = status.instrument
    assert first.resyncs == (iid,)
    assert v.snapshot_path(iid) == "/api/v3/depth?symbol=NKNUSDT&limit=1000"
    for line in diffs[1:3]:
        assert v.parse(line, RECV) == NOTHING  # still buffering, the snapshot already asked for
    snapshot = sample_lines("binance", "spot_depth_snapshot_rest")[0]
    applied = v.apply_snapshot(iid, snapshot, RECV)
    assert applied.resyncs == ()
    synced, book = applied.events
    assert isinstance(synced, VenueStatus) and synced.state == UP
    assert isinstance(book, Book)
    # snapshot 499869752: event 1 (u=752) dropped, events 2-3 replayed from the buffer
    assert v.books[iid].seq == 499869757
    for line in diffs[3:]:
        parsed = v.parse(line, RECV)
        assert parsed.resyncs == ()
        [b] = parsed.events
        assert isinstance(b, Book)
    lb = v.books[iid]
    assert lb.seq == 499869775
    assert b.bids[0] == (0.3521, 672.0) and b.asks[0] == (0.3525, 1123.0)  # = bookTicker u=499869769
    bids = dict(b.bids)
    assert bids[0.352] == 1290.0 and bids[0.3518] == 3631.0 and bids[0.3517] == 4265.0
    assert 0.3534 not in dict(lb.top_asks(1000)) and 0.3543 not in dict(lb.top_asks(1000))


def test_usdm_depth_snapshot_plus_diffs_follow_pu_chain() -> None:
    v = _open("perp")
    diffs = sample_lines("binance", "futures_depth_diff")
    [status] = v.parse(diffs[0], RECV).events
    iid = status.instrument
    for line in diffs[1:4]:
        v.parse(line, RECV)
    synced, _ = v.apply_snapshot(iid, sample_lines("binance", "futures_depth_snapshot_rest")[0], RECV).events
    assert synced.state == UP
    assert v.books[iid].seq == 600859607423  # event 4 (U = lastUpdateId) applied, 1-3 dropped
    for line in diffs[4:]:
        [b] = v.parse(line, RECV).events
    assert v.books[iid].seq == 600859624129
    assert b.bids[0] == (7.611, 6.0) and b.asks[0] == (7.612, 297.0)
    asks, bids = dict(b.asks), dict(b.bids)
    assert asks[7.615] == 1502.0 and asks[7.616] == 3209.0 and bids[7.608] == 237.0
    assert b.exchange_ts_ns == 1626992742273 * 1_000_000


def test_spot_depth_gap_drops_book_and_requests_resync() -> None:
    v = _open("spot")
    diffs = sample_lines("binance", "spot_depth_diff")
    [status] = v.parse(diffs[0], RECV).events
    iid = status.instrument
    v.apply_snapshot(iid, sample_lines("binance", "spot_depth_snapshot_rest")[0], RECV)
    v.parse(diffs[1], RECV)
    parsed = v.parse(diffs[3], RECV)  # diffs[2] (U=755..757) never arrived
    [gap] = parsed.events
    assert isinstance(gap, VenueStatus) and gap.state == RESYNCING and "gap" in gap.reason
    assert gap.instrument == iid and not v.books[iid].valid
    assert parsed.resyncs == (iid,)


def test_usdm_pu_mismatch_drops_book() -> None:
    v = _open("perp")
    diffs = sample_lines("binance", "futures_depth_diff")
    iid = v.parse(diffs[0], RECV).events[0].instrument
    v.apply_snapshot(iid, sample_lines("binance", "futures_depth_snapshot_rest")[0], RECV)
    v.parse(diffs[3], RECV)
    parsed = v.parse(diffs[5], RECV)  # pu=600859609417 but last u=600859607423
    [gap] = parsed.events
    assert gap.state == RESYNCING and "pu=600859609417" in gap.reason
    assert parsed.resyncs == (iid,)


def test_ack_is_nothing_and_server_shutdown_asks_for_a_reconnect() -> None:
    v = _open("spot")
    assert v.parse(sample_lines("binance", "subscribe_ack")[0], RECV) == NOTHING
    for line in sample_lines("binance", "spot_serverShutdown"):
        assert v.parse(line, RECV) == Parsed(reconnect="server shutdown announced")


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"code": 2, "msg": "Invalid request: unknown variable", "id": 3}',
        '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"abc","B":"1","a":"100","A":"1"}}',
        '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"-1","B":"1","a":"100","A":"1"}}',
        '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","B":"1","a":"100","A":"1"}}',
        '{"hello": 1}',
    ],
    ids=["not-json", "venue-error", "non-numeric", "negative", "missing-bid", "unknown-shape"],
)
def test_bad_frames_raise_frame_error(frame: str) -> None:
    with pytest.raises(FrameError):
        _open("spot").parse(frame, RECV)


def test_crossed_quote_reaches_the_engine_to_be_refused() -> None:
    frame = '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"101","B":"1","a":"100","A":"1"}}'
    [q] = _open("spot").parse(frame, RECV).events
    assert isinstance(q, Quote) and (q.bid, q.ask) == (101.0, 100.0)


def test_subscribe_frames_follow_documented_shape_in_batches() -> None:
    v = Binance("perp", SymbolMap(), ["BTC/USDT:USDT", "ETH/USDT:USDT"], base_url="ws://h:1/{market}")
    assert v.ws_url() == "ws://h:1/perp/stream"
    [msg] = v.subscribe_messages()
    assert msg == (
        '{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@depth@100ms","btcusdt@markPrice@1s",'
        '"ethusdt@bookTicker","ethusdt@depth@100ms","ethusdt@markPrice@1s"],"id":1}'
    )
    # symbols not subscribed are ignored, not errors
    assert v.parse(sample_lines("binance", "futures_bookTicker")[0], RECV) == NOTHING
