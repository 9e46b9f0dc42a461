"""The L2 toolkit: the book (levels in price order, deletes, crossing), the OKX/Bitget checksum,
the delta buffer and the range-continuity rule."""

from __future__ import annotations

import zlib

from arbsniper.sim.server import fmt_levels
from arbsniper.venues.book import APPLY, GAP, MAX_PENDING, STALE, DeltaBuffer, L2Book, checksum_crc32, continuity


def test_levels_stay_best_first_through_inserts_updates_and_deletes() -> None:
    b = L2Book()
    for p, q in ((100.0, 1.0), (102.0, 2.0), (101.0, 3.0)):
        b.set_bid(p, q)
    for p, q in ((105.0, 1.0), (103.0, 2.0), (104.0, 3.0)):
        b.set_ask(p, q)
    assert b.top_bids(5) == [(102.0, 2.0), (101.0, 3.0), (100.0, 1.0)]
    assert b.top_asks(2) == [(103.0, 2.0), (104.0, 3.0)]
    b.set_bid(101.0, 7.0)  # update in place
    b.set_bid(102.0, 0.0)  # delete the best
    b.set_ask(99.0, 0.0)  # delete of an absent level is a no-op
    assert b.top_bids(5) == [(101.0, 7.0), (100.0, 1.0)]
    assert (b.best_bid(), b.best_ask()) == (101.0, 103.0)
    assert not b.is_crossed() and len(b) == 5
    b.set_bid(103.0, 1.0)
    assert b.is_crossed()
    b.clear()
    assert (b.best_bid(), b.best_ask(), len(b), b.valid) == (None, None, 0, False)


def signed(crc: int) -> int:
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def test_checksum_interleaves_top_levels_with_the_raw_strings() -> None:
    b = L2Book()
    b.set_bid(3366.1, 7.0, ("3366.1", "7"))
    b.set_bid(3366.0, 6.0, ("3366", "6"))
    b.set_ask(3366.8, 9.0, ("3366.8", "9"))
    assert b.checksum_crc32() == signed(zlib.crc32(b"3366.1:7:3366.8:9:3366:6"))


def test_checksum_function_continues_the_longer_side_alone_and_stops_at_depth() -> None:
    bids = [("10", "1"), ("9", "2"), ("8", "3")]
    asks = [("11", "4")]
    assert checksum_crc32(bids, asks) == signed(zlib.crc32(b"10:1:11:4:9:2:8:3"))
    assert checksum_crc32(bids, asks, depth=1) == signed(zlib.crc32(b"10:1:11:4"))


def test_simulator_levels_checksum_like_the_book_built_from_their_strings() -> None:
    bids, asks = [(100.5, 1.25), (100.0, 3.0)], [(101.0, 0.5)]
    b = L2Book()
    for (p, s), raw in zip(bids, fmt_levels(bids), strict=True):
        b.set_bid(p, s, raw)
    for (p, s), raw in zip(asks, fmt_levels(asks), strict=True):
        b.set_ask(p, s, raw)
    assert checksum_crc32(fmt_levels(bids), fmt_levels(asks)) == b.checksum_crc32() == signed(zlib.crc32(b"100.5:1.25:101:0.5:100:3"))


def test_continuity_of_a_range_is_stale_when_held_a_gap_when_past_the_next_number_else_apply() -> None:
    assert continuity(100, 90, 100) == STALE  # every change already in the book
    assert continuity(100, 95, 101) == APPLY  # straddles the book: the new part applies
    assert continuity(100, 101, 101) == APPLY  # the next number
    assert continuity(100, 102, 105) == GAP  # 101 is missing


def test_delta_buffer_says_first_keeps_order_caps_and_restarts() -> None:
    buf: DeltaBuffer[int] = DeltaBuffer()
    assert buf.add(7, 1) is True  # the first: ask for the snapshot
    assert buf.add(7, 2) is False
    assert buf.take(7) == [1, 2] and buf.take(7) == []
    for n in range(MAX_PENDING + 3):
        buf.add(1, n)
    kept = buf.take(1)
    assert len(kept) == MAX_PENDING and kept[0] == 3 and kept[-1] == MAX_PENDING + 2  # the oldest went
    buf.add(1, 5)
    buf.restart(1, [9])
    assert buf.take(1) == [9]
