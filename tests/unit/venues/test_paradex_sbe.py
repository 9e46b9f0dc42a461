"""Paradex SBE: the decoder's layouts are the published schema's, and frames built byte by byte from
that schema decode to their numbers — appended fields, longer group entries, unknown templates,
null prices, truncation at every byte, sequence gaps."""

from __future__ import annotations

import json
import struct

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import PERP, RESYNCING, UP, Book, Funding, Quote, VenueStatus
from arbsniper.venues import paradex_sbe as sbe
from arbsniper.venues.base import NOTHING, FrameError
from arbsniper.venues.metadata import TRADING, InstrumentMeta
from arbsniper.venues.paradex import Paradex
from tests.unit.venues.sbe_schema import INT64_MIN, MESSAGES, SCHEMA_ID, frame

RECV = 1_700_000_000_000_000_000
TS_US = 1_700_000_000_123_456  # 2023-11-14 22:13:20.123456 UTC
BBO, BOOK, SUMMARY, FUNDING, COMPARISON, HEARTBEAT, TRADE = 2, 3, 4, 5, 6, 40, 1
BTC = b"BTC-USD-PERP"


def venue(*instruments: str, metas: tuple[InstrumentMeta, ...] = ()) -> Paradex:
    return Paradex("perp", SymbolMap(), [*instruments, *metas])


def iid(v: Paradex, name: str) -> int:
    found = v.symbols.find_instrument(name)
    assert found is not None
    return found


def m8(x: str) -> int:
    """The exponent -8 mantissa of a decimal string, exactly."""
    whole, _, frac = x.partition(".")
    return int(whole + (frac + "0" * 8)[:8])


def book_frame(seq: int, pkg: int, bids: list[tuple[str, str]] = (), asks: list[tuple[str, str]] = (), **kw: object) -> bytes:  # type: ignore[assignment]
    return frame(BOOK, values={"ts": TS_US + seq, "seq": seq, "pkgType": pkg},
                 groups={"bids": [(m8(p), m8(s)) for p, s in bids], "asks": [(m8(p), m8(s)) for p, s in asks]},
                 data={"market": BTC}, **kw)  # type: ignore[arg-type]


# --- the layouts are the schema's ------------------------------------------------------------------


@pytest.mark.parametrize("template", sbe.PUBLIC_TEMPLATES, ids=lambda t: t.name)
def test_each_layout_matches_the_published_schema_field_by_field(template: sbe.Template) -> None:
    xml = MESSAGES[template.template_id]
    assert xml.name == template.name
    assert [(f.name, f.code, f.since) for f in xml.fields] == list(template.fields)
    assert [name for name, _ in xml.groups] == list(template.groups)
    assert all([(f.name, f.code) for f in fields] == [("price", "q"), ("size", "q")] for _, fields in xml.groups)
    assert list(xml.data) == list(template.data)
    for version in (0, 1, 2):
        assert template.block_length(version) == xml.block_length(version)


def test_block_lengths_are_the_ones_the_schema_states() -> None:
    # BookEvent: "An 89-byte block is what every client has always received as version 0".
    assert sbe.BOOK.block_length(0) == 89 == 8 + 8 + 1 + 9 * 8
    assert sbe.BBO.block_length(1) == 48  # ts, seq, 4 optional prices / sizes
    assert (sbe.MARKET_SUMMARY.block_length(0), sbe.MARKET_SUMMARY.block_length(1)) == (216, 240)  # 27 int64, +3 in v1
    assert (sbe.FUNDING_DATA.block_length(0), sbe.FUNDING_DATA.block_length(1)) == (58, 66)  # 7 int64 + int16, +Rate8NULL
    assert sbe.HEARTBEAT.block_length(1) == 16
    assert SCHEMA_ID == sbe.SCHEMA_ID == 1


def test_the_simulators_encoder_writes_what_the_schema_encoder_writes() -> None:
    values = {"ts": TS_US, "seq": 7, "pkgType": 1}
    levels = ([(m8("100.5"), m8("2")), (m8("100.4"), 0)], [(m8("100.6"), m8("0.25"))])
    assert sbe.encode(sbe.BOOK, values, 1, groups=levels, data=(BTC,)) == \
        frame(BOOK, values=values, groups={"bids": levels[0], "asks": levels[1]}, data={"market": BTC})
    summary = {"ts": TS_US, "seq": 1, "fundingRate": 1234, "fundingRatePrecise": 12_345_678}
    for version in (0, 1):
        assert sbe.encode(sbe.MARKET_SUMMARY, summary, version, data=(BTC,)) == \
            frame(SUMMARY, version, values=summary, data={"market": BTC})


# --- BBO --------------------------------------------------------------------------------------------


def test_bbo_frame_written_byte_by_byte_decodes_to_its_quote() -> None:
    v = venue("BTC/USD:USDC")
    raw = bytes.fromhex("3000" "0200" "0100" "0100")  # blockLength 48, template 2 (BboEvent), schema 1, version 1
    raw += (1_700_000_000_123_456).to_bytes(8, "little")  # ts, µs
    raw += (42).to_bytes(8, "little")  # seq
    raw += (6_762_970_000_000).to_bytes(8, "little")  # bidPrice 67629.70000000
    raw += (99_200_000).to_bytes(8, "little")  # bidSize 0.99200000
    raw += (6_763_010_000_000).to_bytes(8, "little")  # askPrice 67630.10000000
    raw += (313_700_000).to_bytes(8, "little")  # askSize 3.13700000
    raw += bytes([12]) + b"BTC-USD-PERP"  # market: uint8 length + UTF-8
    assert len(raw) == 8 + 48 + 13
    assert raw == frame(BBO, values={"ts": TS_US, "seq": 42, "bidPrice": m8("67629.7"), "bidSize": m8("0.992"),
                                     "askPrice": m8("67630.1"), "askSize": m8("3.137")}, data={"market": BTC})
    [q] = v.parse_binary(raw, RECV).events
    assert q == Quote(v.venue_id, iid(v, "BTC/USD:USDC"), 67629.7, 0.992, 67630.1, 3.137, 1_700_000_000_123_456_000, RECV, 42)


@pytest.mark.parametrize("null", ["bidPrice", "bidSize", "askPrice", "askSize"])
def test_bbo_with_a_null_side_is_no_quote(null: str) -> None:
    values = {"ts": TS_US, "seq": 1, "bidPrice": m8("10"), "bidSize": m8("1"), "askPrice": m8("11"), "askSize": m8("1")}
    values[null] = INT64_MIN
    assert venue("BTC/USD:USDC").parse_binary(frame(BBO, values=values, data={"market": BTC}), RECV) == NOTHING


@pytest.mark.parametrize(("field", "value", "message"), [
    ("bidPrice", 0, "non-positive price"),
    ("askPrice", -5, "non-positive price"),
    ("askSize", -1, "negative size"),
])
def test_bbo_with_an_impossible_value_is_a_frame_error(field: str, value: int, message: str) -> None:
    values = {"ts": TS_US, "seq": 1, "bidPrice": m8("10"), "bidSize": m8("1"), "askPrice": m8("11"), "askSize": m8("1")}
    values[field] = value
    with pytest.raises(FrameError, match=message):
        venue("BTC/USD:USDC").parse_binary(frame(BBO, values=values, data={"market": BTC}), RECV)


def test_crossed_bbo_reaches_the_engine_to_be_refused() -> None:
    values = {"ts": TS_US, "seq": 1, "bidPrice": m8("12"), "bidSize": m8("1"), "askPrice": m8("11"), "askSize": m8("1")}
    [q] = venue("BTC/USD:USDC").parse_binary(frame(BBO, values=values, data={"market": BTC}), RECV).events
    assert isinstance(q, Quote) and (q.bid, q.ask) == (12.0, 11.0)


def test_bbo_with_a_longer_block_than_we_know_decodes_the_fields_we_know() -> None:
    # A later version appending two int64 fields: the market is found after blockLength bytes, not after 48.
    values = {"ts": TS_US, "seq": 9, "bidPrice": m8("2.5"), "bidSize": m8("10"), "askPrice": m8("2.6"), "askSize": m8("20")}
    raw = frame(BBO, 3, values=values, data={"market": BTC}, extra_block=struct.pack("<qq", 111, 222))
    assert struct.unpack_from("<H", raw)[0] == 64
    v = venue("BTC/USD:USDC")
    [q] = v.parse_binary(raw, RECV).events
    assert isinstance(q, Quote) and (q.bid, q.bid_size, q.ask, q.ask_size, q.seq) == (2.5, 10.0, 2.6, 20.0, 9)


def test_bbo_of_a_market_not_subscribed_is_ignored_and_open_mode_maps_k_markets() -> None:
    values = {"ts": TS_US, "seq": 3, "bidPrice": m8("0.0287"), "bidSize": m8("50"), "askPrice": m8("0.0288"), "askSize": m8("100")}
    raw = frame(BBO, values=values, data={"market": b"kBONK-USD-PERP"})
    assert venue("BTC/USD:USDC").parse_binary(raw, RECV) == NOTHING
    v = Paradex("perp", SymbolMap())
    [q] = v.parse_binary(raw, RECV).events
    assert isinstance(q, Quote) and v.symbols.instrument_name(q.instrument) == "1000BONK/USD:USDC"
    assert (q.bid, q.ask) == (0.0287, 0.0288)


# --- book ------------------------------------------------------------------------------------------


def test_book_snapshot_then_deltas_in_sequence_give_the_book() -> None:
    v = venue("BTC/USD:USDC")
    btc = iid(v, "BTC/USD:USDC")
    up, b10 = v.parse_binary(book_frame(10, 0, bids=[("100", "1"), ("99", "2")], asks=[("101", "3")]), RECV).events
    assert up == VenueStatus(v.venue_id, UP, "book synced", RECV, PERP, btc)
    assert b10 == Book(v.venue_id, btc, [(100.0, 1.0), (99.0, 2.0)], [(101.0, 3.0)], (TS_US + 10) * 1000, RECV, 10)
    # delta 11: bid 100 -> 1.5, bid 99 deleted (size 0), ask 102 inserted
    [b11] = v.parse_binary(book_frame(11, 1, bids=[("100", "1.5"), ("99", "0")], asks=[("102", "4")]), RECV).events
    assert isinstance(b11, Book) and b11.seq == 11
    assert b11.bids == [(100.0, 1.5)] and b11.asks == [(101.0, 3.0), (102.0, 4.0)]
    [b12] = v.parse_binary(book_frame(12, 1), RECV).events  # an empty delta still advances the sequence
    assert isinstance(b12, Book) and b12.seq == 12 and b12.bids == [(100.0, 1.5)]


def test_book_group_entries_longer_than_we_know_are_stepped_by_their_own_length() -> None:
    v = venue("BTC/USD:USDC")
    raw = book_frame(10, 0, bids=[("100", "1"), ("99", "2")], asks=[("101", "3"), ("102", "4")], extra_entry=b"\xff" * 8)
    _, book = v.parse_binary(raw, RECV).events
    assert isinstance(book, Book) and book.bids == [(100.0, 1.0), (99.0, 2.0)] and book.asks == [(101.0, 3.0), (102.0, 4.0)]


def test_book_with_a_longer_root_block_finds_its_groups_after_it() -> None:
    v = venue("BTC/USD:USDC")
    _, book = v.parse_binary(book_frame(10, 0, bids=[("100", "1")], asks=[("101", "3")], extra_block=b"\x01" * 11), RECV).events
    assert isinstance(book, Book) and book.bids == [(100.0, 1.0)] and book.asks == [(101.0, 3.0)]


def test_sequence_gap_resyncs_by_resubscribing_and_the_next_snapshot_brings_the_book_back() -> None:
    v = venue("BTC/USD:USDC")
    btc = iid(v, "BTC/USD:USDC")
    v.parse_binary(book_frame(10, 0, bids=[("100", "1")], asks=[("101", "3")]), RECV)
    parsed = v.parse_binary(book_frame(12, 1, bids=[("100", "2")]), RECV)
    assert parsed.events == (VenueStatus(v.venue_id, RESYNCING, "BTC-USD-PERP: sequence gap: expected 11, got 12", RECV, PERP, btc),)
    assert parsed.resyncs == (btc,)
    unsub, resub = (json.loads(m) for m in v.resubscribe_messages(btc))
    assert (unsub["method"], unsub["params"]) == ("unsubscribe", {"channel": "order_book.BTC-USD-PERP.deltas"})
    assert (resub["method"], resub["params"]) == ("subscribe", {"channel": "order_book.BTC-USD-PERP.deltas"})
    assert v.parse_binary(book_frame(13, 1, bids=[("100", "5")]), RECV) == NOTHING  # ignored until the whole book
    up, book = v.parse_binary(book_frame(20, 0, bids=[("100", "7")], asks=[("101", "1")]), RECV).events
    assert isinstance(up, VenueStatus) and up.state == UP and isinstance(book, Book) and book.bids == [(100.0, 7.0)]


def test_crossed_book_and_a_bad_level_resync() -> None:
    v = venue("BTC/USD:USDC")
    [crossed] = v.parse_binary(book_frame(5, 0, bids=[("102", "1")], asks=[("101", "1")]), RECV).events
    assert isinstance(crossed, VenueStatus) and crossed.state == RESYNCING and "crossed" in crossed.reason
    v.parse_binary(book_frame(6, 0, bids=[("100", "1")], asks=[("101", "1")]), RECV)
    negative = frame(BOOK, values={"ts": TS_US, "seq": 7, "pkgType": 1}, groups={"bids": [(-5, m8("1"))], "asks": []}, data={"market": BTC})
    parsed = v.parse_binary(negative, RECV)
    assert parsed.resyncs == (iid(v, "BTC/USD:USDC"),) and "bad book level" in parsed.events[0].reason  # type: ignore[union-attr]


def test_unknown_package_type_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match="pkgType 7"):
        venue("BTC/USD:USDC").parse_binary(book_frame(1, 7), RECV)


# --- funding -----------------------------------------------------------------------------------------


def meta(hours: float) -> InstrumentMeta:
    return InstrumentMeta(venue="paradex", market="perp", native_symbol="BTC-USD-PERP", instrument="BTC/USD:USDC",
                          status=TRADING, funding_interval_hours=hours)


def test_market_summary_v1_gives_the_precise_rate_for_the_metadata_period() -> None:
    v = venue(metas=(meta(4.0),))
    raw = frame(SUMMARY, 1, values={"ts": TS_US, "seq": 1, "fundingRate": 1_629, "fundingRatePrecise": 162_957_492},
                data={"market": BTC})
    [f] = v.parse_binary(raw, RECV).events
    # Rate12 162957492 = 0.000162957492; Rate8 1629 would have been 0.00001629 (truncated).
    assert f == Funding(v.venue_id, iid(v, "BTC/USD:USDC"), 0.000162957492, 4.0, 0, TS_US * 1000, RECV)


def test_market_summary_v0_falls_back_to_the_rate8_field() -> None:
    v = venue(metas=(meta(8.0),))
    raw = frame(SUMMARY, 0, values={"ts": TS_US, "seq": 1, "fundingRate": 3_919_997}, data={"market": BTC})
    assert struct.unpack_from("<H", raw)[0] == 216
    [f] = v.parse_binary(raw, RECV).events
    assert isinstance(f, Funding) and (f.rate, f.interval_hours) == (0.03919997, 8.0)


def test_market_summary_with_a_null_precise_rate_uses_the_rate8_field() -> None:
    v = venue(metas=(meta(8.0),))
    raw = frame(SUMMARY, 1, values={"ts": TS_US, "seq": 1, "fundingRate": -14_969}, data={"market": BTC})
    [f] = v.parse_binary(raw, RECV).events
    assert isinstance(f, Funding) and f.rate == -0.00014969


def test_funding_data_carries_its_period_which_then_holds_for_summaries() -> None:
    v = venue(metas=(meta(8.0),))
    btc = iid(v, "BTC/USD:USDC")
    created = TS_US - 5_000_000
    raw = frame(FUNDING, 1, values={"ts": TS_US, "seq": 2, "fundingRate": -14_969, "fundingIndex": -55_169_401, "createdAt": created,
                                    "fundingPremium": -50_991, "fundingRate8h": -14_969, "fundingPeriodHours": 1},
                data={"market": BTC})
    [f] = v.parse_binary(raw, RECV).events
    assert f == Funding(v.venue_id, btc, -0.00014969, 1.0, 0, created * 1000, RECV)
    [s] = v.parse_binary(frame(SUMMARY, 1, values={"ts": TS_US, "seq": 3, "fundingRatePrecise": 10**8}, data={"market": BTC}), RECV).events
    assert isinstance(s, Funding) and (s.rate, s.interval_hours) == (0.0001, 1.0)


def test_funding_data_with_a_zero_period_is_a_frame_error() -> None:
    raw = frame(FUNDING, 0, values={"ts": TS_US, "seq": 2, "fundingRate": 1, "createdAt": TS_US, "fundingPeriodHours": 0},
                data={"market": BTC})
    with pytest.raises(FrameError, match="funding period of 0.0 h"):
        venue("BTC/USD:USDC").parse_binary(raw, RECV)


# --- what is skipped, what is refused ----------------------------------------------------------------


def test_heartbeat_trades_funding_comparison_and_unknown_templates_are_skipped() -> None:
    v = venue("BTC/USD:USDC")
    heartbeat = frame(HEARTBEAT, values={"ts": TS_US, "seq": 1})
    comparison = frame(COMPARISON, values={"ts": TS_US, "lastUpdatedAt": TS_US, "hourlyFundingRate": 12_500_000, "assetKind": 1,
                                           "source": 7}, data={"market": BTC})
    trade = frame(TRADE, 2, values={"ts": TS_US, "seq": 1, "price": m8("100"), "size": m8("1")}, data={"market": BTC, "tradeIdStr": b"1"})
    unknown = struct.pack("<HHHH", 4, 99, 1, 1) + b"\x00" * 4 + bytes([3]) + b"abc"
    for raw in (heartbeat, comparison, trade, unknown):
        assert v.parse_binary(raw, RECV) == NOTHING
    assert v.skipped_templates == 4


def test_a_frame_of_another_schema_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match="schema 2"):
        venue("BTC/USD:USDC").parse_binary(frame(HEARTBEAT, values={"ts": 1, "seq": 1}, schema_id=2), RECV)


def _frames_to_truncate() -> list[tuple[str, bytes]]:
    bbo = frame(BBO, values={"ts": TS_US, "seq": 1, "bidPrice": m8("1"), "bidSize": m8("1"), "askPrice": m8("2"), "askSize": m8("1")},
                data={"market": BTC})
    book = book_frame(10, 0, bids=[("100", "1"), ("99", "2")], asks=[("101", "3")])
    summary = frame(SUMMARY, 1, values={"ts": TS_US, "seq": 1, "fundingRate": 1}, data={"market": BTC})
    funding = frame(FUNDING, 1, values={"ts": TS_US, "seq": 1, "fundingRate": 1, "createdAt": 1, "fundingPeriodHours": 8},
                    data={"market": BTC})
    return [("bbo", bbo), ("book", book), ("summary", summary), ("funding", funding)]


@pytest.mark.parametrize(("name", "raw"), _frames_to_truncate(), ids=[n for n, _ in _frames_to_truncate()])
def test_a_frame_cut_at_any_byte_is_a_frame_error_never_a_struct_or_index_error(name: str, raw: bytes) -> None:
    for cut in range(len(raw)):
        v = venue("BTC/USD:USDC")
        with pytest.raises(FrameError):
            v.parse_binary(raw[:cut], RECV)
    assert venue("BTC/USD:USDC").parse_binary(raw, RECV).events  # whole, it decodes


def test_a_block_shorter_than_the_template_or_a_group_entry_shorter_than_a_level_is_a_frame_error() -> None:
    short = struct.pack("<HHHH", 40, BBO, 1, 1) + b"\x00" * 40 + bytes([12]) + BTC
    with pytest.raises(FrameError, match="BboEvent block of 40 bytes"):
        venue("BTC/USD:USDC").parse_binary(short, RECV)
    raw = bytearray(book_frame(10, 0, bids=[("100", "1")]))
    struct.pack_into("<H", raw, 8 + 89, 12)  # the bids group says its entries are 12 bytes
    with pytest.raises(FrameError, match="entries of 12 bytes"):
        venue("BTC/USD:USDC").parse_binary(bytes(raw), RECV)


def test_garbage_bytes_are_frame_errors() -> None:
    v = venue("BTC/USD:USDC")
    for raw in (b"", b"\x00", b"\xff" * 7, b"\xff" * 64, bytes(range(200))):
        with pytest.raises(FrameError):
            v.parse_binary(raw, RECV)
