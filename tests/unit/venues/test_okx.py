"""OKX parser on the real samples: tickers, bbo-tbt, books with CRC32 (9/9), funding, control frames.

Swap sizes are contracts: the swap parser is built with the real instruments listing
(``rest_instruments_swap.json``: BTC-USDT-SWAP ``ctVal`` 0.01 BTC, ETH-USDT-SWAP 0.1 ETH).
"""

from __future__ import annotations

import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import RESYNCING, UP, Book, Funding, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, PONG, FrameError
from arbsniper.venues.metadata import InstrumentMeta
from arbsniper.venues.okx import Okx, OkxSwap
from tests.conftest import FIXTURES
from tests.unit.venues.samples import sample_lines

RECV = 1_700_000_000_000_000_000


def _open() -> Okx:
    return Okx("spot", SymbolMap())


def swap_metas() -> list[InstrumentMeta]:
    """The real SWAP listing (linear BTC and ETH swaps; the inverse BTC-USD-SWAP is left out)."""
    return OkxSwap.parse_metadata("perp", {"instruments": [(FIXTURES / "okx" / "rest_instruments_swap.json").read_bytes()]})


def _swap(*instruments: str) -> OkxSwap:
    metas = swap_metas()
    if instruments:
        return OkxSwap("perp", SymbolMap(), [m for m in metas if m.instrument in instruments])
    return OkxSwap("perp", SymbolMap(), metadata=metas)  # open, with the listing


def test_tickers_samples_parse_to_their_numbers() -> None:
    v = _open()
    lines = sample_lines("okx", "tickers")
    [q] = v.parse(lines[0], RECV).events
    assert isinstance(q, Quote) and v.symbols.instrument_name(q.instrument) == "BTC/USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.exchange_ts_ns) == (30228.6, 0.23393, 30228.7, 1.55896972, 1652459224956 * 10**6)
    [q] = v.parse(lines[4], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "ACT/USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (0.00713, 4092.326, 0.0072, 54969.407534)


def test_swap_tickers_without_metadata_are_refused_not_read_as_base_units() -> None:
    v = OkxSwap("perp", SymbolMap())  # open, no listing: the contract size of UNI-USD-SWAP is unknown
    lines = sample_lines("okx", "tickers")
    with pytest.raises(FrameError, match="no metadata for UNI-USD-SWAP"):
        v.parse(lines[3], RECV)
    with pytest.raises(FrameError, match="no metadata for WNCG-USDT-SWAP"):
        v.parse(lines[5], RECV)
    with pytest.raises(FrameError, match="no unified instrument"):
        _open().parse(lines[5], RECV)  # a swap is not a spot symbol


def test_bbo_tbt_sample_sizes_are_contracts_of_one_hundredth_btc() -> None:
    v = _swap()
    [q] = v.parse(sample_lines("okx", "bbo-tbt")[0], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BTC/USDT:USDT"
    # 990 and 727 contracts of 0.01 BTC
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.exchange_ts_ns) == (38632.3, 9.9, 38632.4, 7.27, 1651761120004 * 10**6)


def test_bid_size_431_contracts_is_a_quote_of_4_31_btc() -> None:
    """The issue's case: a real BTC-USDT-SWAP frame with ``"bidSz":"431"`` and its real metadata."""
    v = _swap("BTC/USDT:USDT")
    frame = {"arg": {"channel": "tickers", "instId": "BTC-USDT-SWAP"}, "data": [{
        "instType": "SWAP", "instId": "BTC-USDT-SWAP", "last": "38632.4", "lastSz": "1", "askPx": "38632.4", "askSz": "727",
        "bidPx": "38632.3", "bidSz": "431", "open24h": "38000", "high24h": "39000", "low24h": "37900", "sodUtc0": "38100",
        "sodUtc8": "38200", "volCcy24h": "123456.78", "vol24h": "12345678", "ts": "1651761120004"}]}
    [q] = v.parse(json.dumps(frame), RECV).events
    assert (q.bid_size, q.ask_size) == (4.31, 7.27)
    bbo = sample_lines("okx", "bbo-tbt")[0].replace('"990"', '"431"')
    [q] = v.parse(bbo, RECV).events
    assert q.bid_size == 4.31


def test_eth_swap_contract_is_a_tenth_of_an_eth() -> None:
    v = _swap("ETH/USDT:USDT")
    frame = sample_lines("okx", "bbo-tbt")[0].replace("BTC-USDT-SWAP", "ETH-USDT-SWAP")
    [q] = v.parse(frame, RECV).events
    assert (q.bid_size, q.ask_size) == (99.0, 72.7)  # 990 and 727 contracts of 0.1 ETH


def test_real_books_on_a_swap_still_pass_all_nine_checksums_and_give_base_sizes() -> None:
    """The CRC32 is over the venue's contract strings: converting sizes must not touch it."""
    v = _swap("BTC/USDT:USDT")
    relabel = [line.replace('"instId":"BTC-USDT"', '"instId":"BTC-USDT-SWAP"') for line in
               sample_lines("okx", "books_snapshot") + sample_lines("okx", "books_update")]
    [status, book] = v.parse(relabel[0], RECV).events
    assert isinstance(status, VenueStatus) and status.state == UP
    # spot sample sizes read as contracts of 0.01 BTC: 0.0012029 contracts = 0.000012029 BTC
    assert book.bids[0] == (30243.4, 0.000012029) and book.asks[0] == (30243.5, 0.0144679)
    books = []
    for line in relabel[1:]:
        out = v.parse(line, RECV)
        assert [type(e) for e in out.events] == [Book] and out.resyncs == (), out  # 8 more checksums match
        books.append(out.events[0])
    assert books[7].bids[:2] == [(30243.5, 0.00006), (30243.4, 0.0033732919)]


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
    assert v.parse(lines[1], RECV) == NOTHING
    ren = OkxSwap("perp", SymbolMap(), metadata=[InstrumentMeta(
        venue="okx", market="perp", native_symbol="REN-USDT-SWAP", instrument="REN/USDT:USDT", status="trading", contract_size=10.0)])
    assert ren.parse(lines[2], RECV) == NOTHING  # a swap update before its snapshot


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


def test_funding_rate_samples_take_the_interval_from_the_frame_else_from_the_listing() -> None:
    v = OkxSwap("perp", SymbolMap())  # funding carries no size: no metadata needed
    lines = sample_lines("okx", "funding-rate")
    [f] = v.parse(lines[0], RECV).events
    assert isinstance(f, Funding) and v.symbols.instrument_name(f.instrument) == "WNCG/USDT:USDT"
    # 2021 frame: no nextFundingTime, no listing -> the interval is not known (0), never guessed
    assert (f.rate, f.next_funding_ts_ns, f.interval_hours) == (0.00048105, 1640131200000 * 10**6, 0.0)
    assert v.parse(lines[1], RECV) == NOTHING  # only nextFundingRate: no current rate to report
    [f] = v.parse(lines[2], RECV).events
    # 1744619149506 - 1744590349506 = 28 800 000 ms = 8 h
    assert (f.rate, f.interval_hours, f.exchange_ts_ns) == (0.0001, 8.0, 1744590349506 * 10**6)
    four_h = InstrumentMeta(venue="okx", market="perp", native_symbol="WNCG-USDT-SWAP", instrument="WNCG/USDT:USDT",
                            status="trading", contract_size=1.0, funding_interval_hours=4.0)
    [f] = OkxSwap("perp", SymbolMap(), [four_h]).parse(lines[0], RECV).events
    assert f.interval_hours == 4.0


def test_subscribe_batches_stay_within_args_per_request_and_64_kb() -> None:
    metas = [InstrumentMeta(venue="okx", market="perp", native_symbol=f"C{i}-USDT-SWAP", instrument=f"C{i}/USDT:USDT",
                            status="trading", contract_size=1.0) for i in range(150)]
    v = OkxSwap("perp", SymbolMap(), metas)
    msgs = [json.loads(m) for m in v.subscribe_messages()]
    assert [len(m["args"]) for m in msgs] == [300, 150]  # 3 channels x 150 swaps, 300 args a request
    assert msgs[0]["args"][:3] == [{"channel": "bbo-tbt", "instId": "C0-USDT-SWAP"}, {"channel": "books", "instId": "C0-USDT-SWAP"},
                                   {"channel": "funding-rate", "instId": "C0-USDT-SWAP"}]
    assert all(len(json.dumps(m["args"])) < 64 * 1024 for m in msgs)
    limits = OkxSwap.subscription_limits
    assert (limits.streams_per_instrument, limits.max_requests_per_hour, limits.instruments_per_connection()) == (3, 480, 100)
    assert Okx.subscription_limits.instruments_per_connection() == 150
    assert (OkxSwap.max_instruments_per_connection, OkxSwap.max_messages_per_s) == (100, 3.0)


def test_control_frames_are_nothing_pong_is_a_pong_and_an_upgrade_notice_asks_for_a_reconnect() -> None:
    v = _open()
    for line in sample_lines("okx", "subscribe_ack") + sample_lines("okx", "mark-price"):
        assert v.parse(line, RECV) == NOTHING
    assert v.parse(b"pong", RECV) == PONG
    notice = v.parse('{"event":"notice","code":"64008","msg":"service upgrade"}', RECV)
    assert notice.events == () and notice.reconnect == "okx notice 64008: service upgrade"
    with pytest.raises(FrameError, match="60012"):
        v.parse('{"event":"error","code":"60012","msg":"Invalid request"}', RECV)
    throttled = v.parse('{"event":"error","code":"60014","msg":"Requests too frequent.","connId":"a4d3ae55"}', RECV)
    assert throttled.reconnect == "okx 60014: Requests too frequent. (subscriptions refused)"  # a fresh connection, a fresh budget
    with pytest.raises(FrameError):
        v.parse("garbage", RECV)
