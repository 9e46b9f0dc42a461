"""OKX parser on the real samples: tickers, bbo-tbt, books with CRC32 (9/9), funding, control frames."""

from __future__ import annotations

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import RESYNCING, UP, Book, Funding, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, PONG, FrameError
from arbsniper.venues.okx import Okx
from conftest import sample_lines

RECV = 1_700_000_000_000_000_000


def _open(market: str = "spot") -> Okx:
    return Okx(market, SymbolMap())


def test_tickers_samples_parse_to_their_numbers() -> None:
    v = _open()
    lines = sample_lines("okx", "tickers")
    [q] = v.parse(lines[0], RECV).events
    assert isinstance(q, Quote) and v.symbols.instrument_name(q.instrument) == "BTC/USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.exchange_ts_ns) == (30228.6, 0.23393, 30228.7, 1.55896972, 1652459224956 * 10**6)
    [q] = v.parse(lines[3], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "UNI/USD:UNI"  # coin-margined swap
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (5.134, 96.0, 5.142, 25.0)
    [q] = v.parse(lines[5], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "WNCG/USDT:USDT"


def test_bbo_tbt_sample_parses_to_its_numbers() -> None:
    v = _open("perp")
    [q] = v.parse(sample_lines("okx", "bbo-tbt")[0], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BTC/USDT:USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.exchange_ts_ns) == (38632.3, 990.0, 38632.4, 727.0, 1651761120004 * 10**6)


def test_books_snapshot_and_eight_updates_pass_every_checksum() -> None:
    v = _open()
    [status, book] = v.parse(sample_lines("okx", "books_snapshot")[0], RECV).events
    assert isinstance(status, VenueStatus) and status.state == UP
    assert book.bids[0] == (30243.4, 0.0012029) and book.asks[0] == (30243.5, 1.44679)
    books = []
    for line in sample_lines("okx", "books_update"):
        out = v.parse(line, RECV)
        assert [type(e) for e in out.events] == [Book] and out.resyncs == (), out  # no RESYNCING: all 9 checksums match
        books.append(out.events[0])
    # after update 7 the top equals the tickers sample taken then (bid 30243.4/0.33732919, ask 30243.5/0.00315938)
    assert books[6].bids[0] == (30243.4, 0.33732919) and books[6].asks[0] == (30243.5, 0.00315938)
    # update 8 removes ask 30243.5 and adds bid 30243.5 @ 0.006
    last = books[7]
    assert last.bids[:2] == [(30243.5, 0.006), (30243.4, 0.33732919)]
    assert last.asks[0] == (30251.0, 0.01)
    assert last.exchange_ts_ns == 1652459226229 * 10**6


def test_books_checksum_mismatch_drops_book_and_requests_resubscribe() -> None:
    v = _open()
    v.parse(sample_lines("okx", "books_snapshot")[0], RECV)
    update = sample_lines("okx", "books_update")[0].replace('"30243.6","0.059"', '"30243.6","0.058"')
    parsed = v.parse(update, RECV)
    [status] = parsed.events
    assert status.state == RESYNCING and "checksum" in status.reason
    iid = status.instrument
    assert parsed.resyncs == (iid,)
    assert v.resubscribe_messages(iid) == [
        '{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}',
        '{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}',
    ]
    assert v.parse(sample_lines("okx", "books_update")[1], RECV) == NOTHING  # ignored until a new snapshot


def test_abbreviated_l2_tbt_snapshot_fails_its_checksum_and_orphan_updates_are_ignored() -> None:
    v = _open()
    lines = sample_lines("okx", "books-l2-tbt")
    [status] = v.parse(lines[0], RECV).events  # the test author cut the snapshot to 5 levels
    assert status.state == RESYNCING and status.reason == "checksum mismatch (venue -1971869027)"
    assert v.parse(lines[1], RECV) == NOTHING and v.parse(lines[2], RECV) == NOTHING


def test_sequence_ids_chain_or_resync() -> None:
    v = Okx("spot", SymbolMap(), ["BTC/USDT"])
    snap = '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["101","1","0","1"]],"bids":[["100","2","0","1"]],"ts":"5","seqId":10,"prevSeqId":-1}]}'
    upd = '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["101","3","0","1"]],"bids":[],"ts":"6","seqId":%d,"prevSeqId":%d}]}'
    v.parse(snap, RECV)
    [b] = v.parse(upd % (11, 10), RECV).events
    assert b.asks == [(101.0, 3.0)] and b.seq == 11
    parsed = v.parse(upd % (15, 13), RECV)
    [gap] = parsed.events
    assert gap.state == RESYNCING and "prevSeqId=13 but last seqId=11" in gap.reason
    assert parsed.resyncs == (b.instrument,)


def test_funding_rate_samples() -> None:
    v = _open("perp")
    lines = sample_lines("okx", "funding-rate")
    [f] = v.parse(lines[0], RECV).events
    assert isinstance(f, Funding) and v.symbols.instrument_name(f.instrument) == "WNCG/USDT:USDT"
    assert (f.rate, f.next_funding_ts_ns, f.interval_hours) == (0.00048105, 1640131200000 * 10**6, 8.0)
    assert v.parse(lines[1], RECV) == NOTHING  # only nextFundingRate: no current rate to report
    [f] = v.parse(lines[2], RECV).events
    assert (f.rate, f.interval_hours, f.exchange_ts_ns) == (0.0001, 8.0, 1744590349506 * 10**6)


def test_control_frames_are_nothing_pong_is_a_pong_and_an_upgrade_notice_asks_for_a_reconnect() -> None:
    v = _open()
    for line in sample_lines("okx", "subscribe_ack") + sample_lines("okx", "mark-price"):
        assert v.parse(line, RECV) == NOTHING
    assert v.parse(b"pong", RECV) == PONG
    notice = v.parse('{"event":"notice","code":"64008","msg":"service upgrade"}', RECV)
    assert notice.events == () and notice.reconnect == "okx notice 64008: service upgrade"
    with pytest.raises(FrameError, match="60012"):
        v.parse('{"event":"error","code":"60012","msg":"Invalid request"}', RECV)
    with pytest.raises(FrameError):
        v.parse("garbage", RECV)
