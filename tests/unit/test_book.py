"""The L2 book: levels in price order, deletes, crossing, and the OKX/Bitget checksum string."""

from __future__ import annotations

import zlib

from arbsniper.venues.book import L2Book


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


def test_checksum_interleaves_top_levels_with_the_raw_strings() -> None:
    b = L2Book()
    b.set_bid(3366.1, 7.0, "3366.1", "7")
    b.set_bid(3366.0, 6.0, "3366", "6")
    b.set_ask(3366.8, 9.0, "3366.8", "9")
    crc = zlib.crc32(b"3366.1:7:3366.8:9:3366:6")
    assert b.checksum_crc32() == (crc - (1 << 32) if crc >= 1 << 31 else crc)
