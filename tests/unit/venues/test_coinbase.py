"""Coinbase parser on the samples: Advanced Trade (ticker, l2_data, heartbeats) and the legacy feed."""

from __future__ import annotations

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import RESYNCING, UP, Book, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, FrameError
from arbsniper.venues.coinbase import Coinbase, iso_to_ns
from tests.unit.venues.samples import sample_lines

RECV = 1_700_000_000_000_000_000


def _open() -> Coinbase:
    return Coinbase("spot", SymbolMap())


def test_iso_timestamps_keep_nanoseconds() -> None:
    assert iso_to_ns("2026-04-07T14:30:03.000000Z") == 1775572203 * 10**9
    assert iso_to_ns("2021-04-17T16:43:30.244075Z") == 1618677810 * 10**9 + 244_075_000
    assert iso_to_ns("2023-02-09T20:32:50.714964855Z") % 10**9 == 714_964_855


def test_advanced_ticker_sample() -> None:
    v = _open()
    [q] = v.parse(sample_lines("coinbase", "advanced_ticker")[0], RECV).events
    assert isinstance(q, Quote) and v.symbols.instrument_name(q.instrument) == "BTC/USD"
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (68900.0, 1.5, 68901.0, 0.5)
    assert q.exchange_ts_ns == 1775572203 * 10**9


def test_advanced_level2_snapshot_then_update() -> None:
    v = _open()
    lines = sample_lines("coinbase", "advanced_level2_l2_data")
    status, book = v.parse(lines[0], RECV).events
    assert isinstance(status, VenueStatus) and status.state == UP
    assert book.bids == [(68900.0, 1.5), (68899.5, 0.75), (68899.0, 2.3)]
    assert book.asks == [(68901.0, 0.5), (68901.5, 1.2), (68902.0, 0.8)]
    [book] = v.parse(lines[1], RECV).events  # bid 68900 -> 2.0, offer 68901 removed
    assert book.bids[0] == (68900.0, 2.0) and book.asks == [(68901.5, 1.2), (68902.0, 0.8)]


def test_hummingbot_literal_update_without_snapshot_is_ignored() -> None:
    # the test-literal line uses side "ask" (the API says "offer") and has no snapshot before it
    assert _open().parse(sample_lines("coinbase", "advanced_level2_l2_data")[2], RECV) == NOTHING


def test_sequence_num_jump_drops_books_and_requests_level2_resubscribe() -> None:
    v = _open()
    lines = sample_lines("coinbase", "advanced_level2_l2_data")
    _, book = v.parse(lines[0], RECV).events
    jumped = lines[1].replace('"sequence_num":1', '"sequence_num":5')
    parsed = v.parse(jumped, RECV)
    [status] = parsed.events
    assert status.state == RESYNCING and "sequence_num gap: 0 -> 5" in status.reason
    assert parsed.resyncs == (book.instrument,)
    assert v.resubscribe_messages(book.instrument) == [
        '{"type":"unsubscribe","product_ids":["BTC-USD"],"channel":"level2"}',
        '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}',
    ]


def test_control_channels_produce_nothing() -> None:
    v = _open()
    for name in ("advanced_heartbeats", "advanced_subscriptions_ack", "exchange_subscriptions_ack"):
        for line in sample_lines("coinbase", name):
            assert v.parse(line, RECV) == NOTHING


def test_legacy_tickers_with_and_without_sizes() -> None:
    v = _open()
    lines = sample_lines("coinbase", "exchange_ticker")
    [q] = v.parse(lines[0], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BAND/GBP"
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.seq) == (14.755, 0.0, 14.806, 0.0, 333938798)  # sizes not sent
    assert q.exchange_ts_ns == 1618677810 * 10**9 + 244_075_000
    [q] = v.parse(lines[7], RECV).events
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (17165.15, 0.6154089, 17167.76, 0.18528568)
    for line in lines:
        assert len(v.parse(line, RECV).events) == 1


def test_legacy_level2_snapshot_and_updates() -> None:
    v = _open()
    snaps = sample_lines("coinbase", "exchange_level2_snapshot")
    status, book = v.parse(snaps[0], RECV).events
    assert status.state == UP and book.bids[0] == (0.5742, 1029.5) and book.asks[0] == (0.5762, 2865.9)
    updates = sample_lines("coinbase", "exchange_level2_l2update")
    for line in updates[:8]:
        [book] = v.parse(line, RECV).events
    assert book.bids[:4] == [(0.5742, 3558.4), (0.5741, 1268.2), (0.5735, 6321.6), (0.5733, 511.0)]
    assert book.asks[:4] == [(0.5762, 335.0), (0.5771, 150.0), (0.578, 1259.6), (0.5781, 5788.0)]
    assert v.parse(updates[8], RECV) == NOTHING and v.parse(updates[9], RECV) == NOTHING  # no snapshot for BTC-EUR / ETH-USD
    status, book = v.parse(snaps[1], RECV).events
    assert v.symbols.instrument_name(book.instrument) == "BAT/USDC"
    assert book.bids == [(0.247175, 5299.0)] and book.asks == [(0.257175, 12.0)]


def test_subscribe_sends_one_channel_per_message_with_heartbeats() -> None:
    v = Coinbase("spot", SymbolMap(), ["BTC/USD", "USDT/USD"])
    assert v.subscribe_messages() == [
        '{"type":"subscribe","product_ids":["BTC-USD","USDT-USD"],"channel":"heartbeats"}',
        '{"type":"subscribe","product_ids":["BTC-USD","USDT-USD"],"channel":"ticker"}',
        '{"type":"subscribe","product_ids":["BTC-USD","USDT-USD"],"channel":"level2"}',
    ]
    assert v.ws_url() == "wss://advanced-trade-ws.coinbase.com"


@pytest.mark.parametrize("frame", ['{"type":"error","message":"Failed to subscribe"}', "{", '{"channel":"weird","events":[]}'])
def test_errors_and_unknown_frames_raise(frame: str) -> None:
    with pytest.raises(FrameError):
        _open().parse(frame, RECV)


def test_crossed_ticker_reaches_the_engine_to_be_refused() -> None:
    bad = sample_lines("coinbase", "advanced_ticker")[0].replace('"best_ask":"68901.00"', '"best_ask":"68800.00"')
    [q] = _open().parse(bad, RECV).events
    assert isinstance(q, Quote) and q.bid >= q.ask


def test_book_events_are_books() -> None:
    _, book = _open().parse(sample_lines("coinbase", "advanced_level2_l2_data")[0], RECV).events
    assert isinstance(book, Book)
