"""Book levels are values a venue can send (issue 12, defects 3 and 4): prices finite and > 0,
sizes finite and >= 0, in snapshots and deltas on every venue with a depth book. A bad level
drops the book and asks for a resync; the book never keeps a NaN key that later updates trip on.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import RESYNCING, UP, Book, VenueStatus
from arbsniper.venues.base import NOTHING, Parsed
from arbsniper.venues.binance import Binance
from arbsniper.venues.bitget import Bitget
from arbsniper.venues.book import L2Book, checksum_crc32
from arbsniper.venues.bybit import Bybit
from arbsniper.venues.coinbase import Coinbase
from arbsniper.venues.okx import Okx
from tests.unit.venues.samples import sample_lines

RECV = 1_700_000_000_000_000_000


def _sound(parsed: Parsed) -> None:
    """No Book event carries a level that is not a sane price and size."""
    for ev in parsed.events:
        if isinstance(ev, Book):
            for p, q in ev.bids + ev.asks:
                assert math.isfinite(p) and p > 0.0 and math.isfinite(q) and q >= 0.0, (p, q)


def _resynced(parsed: Parsed) -> VenueStatus:
    _sound(parsed)
    [status] = parsed.events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING
    assert parsed.resyncs == (status.instrument,)
    return status


def _edit(line: str, path: tuple[Any, ...], value: str) -> str:
    """``line`` with the JSON value at ``path`` replaced by ``value`` (a string as venues send)."""
    msg = json.loads(line)
    node = msg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(msg)


def test_book_batch_apply_refuses_nan_negative_and_huge_levels() -> None:
    for bad in ((math.nan, 1.0), (-1.0, 1.0), (0.0, 1.0), (math.inf, 1.0), (100.0, -7.0), (100.0, math.nan), (100.0, 1e13)):
        b = L2Book()
        assert not b.apply_bids([(99.0, 1.0), bad])
        assert not L2Book().apply_asks([bad])
    b = L2Book()
    assert b.apply_bids([(99.0, 1.0), (98.0, 2.0)], 0.5) and b.apply_asks([(100.0, 1.0), (100.0, 0.0)])
    assert b.top_bids(5) == [(99.0, 0.5), (98.0, 1.0)] and b.top_asks(5) == []


@pytest.mark.parametrize("price, size", [("-1", "0.597"), ("NaN", "0.597"), ("28555.20", "-7"), ("28555.20", "inf")])
def test_bybit_bad_snapshot_level_resyncs_and_the_next_delta_is_harmless(price: str, size: str) -> None:
    v = Bybit("perp", SymbolMap())
    lines = sample_lines("bybit", "v5_linear_orderbook50")
    _resynced(v.parse(_edit(lines[0], ("data", "b", 0), [price, size]), RECV))  # type: ignore[arg-type]
    assert v.parse(lines[1], RECV) == NOTHING  # the delta waits for the new snapshot
    status, book = v.parse(lines[0], RECV).events
    assert isinstance(status, VenueStatus) and status.state == UP and isinstance(book, Book)


def test_bybit_nan_price_in_a_delta_drops_the_book_instead_of_poisoning_it() -> None:
    v = Bybit("perp", SymbolMap())
    lines = sample_lines("bybit", "v5_linear_orderbook50")
    v.parse(lines[0], RECV)
    _resynced(v.parse(_edit(lines[1], ("data", "a", 0), ["NaN", "1"]), RECV))  # type: ignore[arg-type]
    assert v.parse(lines[1], RECV) == NOTHING  # no KeyError: the book is gone until the snapshot


def test_bybit_level1_bad_level_resyncs() -> None:
    v = Bybit("perp", SymbolMap())
    lines = sample_lines("bybit", "v5_linear_orderbook1")
    v.parse(lines[0], RECV)
    _resynced(v.parse(_edit(lines[1], ("data", "b", 0), ["NaN", "0.012"]), RECV))  # type: ignore[arg-type]


@pytest.mark.parametrize("field, value", [("new_quantity", "-7"), ("price_level", "NaN"), ("price_level", "-1"), ("new_quantity", "NaN")])
def test_coinbase_bad_update_level_resyncs_and_later_updates_do_not_raise(field: str, value: str) -> None:
    v = Coinbase("spot", SymbolMap())
    lines = sample_lines("coinbase", "advanced_level2_l2_data")
    v.parse(lines[0], RECV)
    _resynced(v.parse(_edit(lines[1], ("events", 0, "updates", 0, field), value), RECV))
    assert v.parse(lines[1], RECV) == NOTHING


def test_coinbase_bad_snapshot_level_resyncs() -> None:
    v = Coinbase("spot", SymbolMap())
    lines = sample_lines("coinbase", "advanced_level2_l2_data")
    _resynced(v.parse(_edit(lines[0], ("events", 0, "updates", 1, "new_quantity"), "-7"), RECV))


def test_coinbase_legacy_feed_bad_levels_resync() -> None:
    v = Coinbase("spot", SymbolMap())
    snapshot = sample_lines("coinbase", "exchange_level2_snapshot")[0]
    _resynced(v.parse(_edit(snapshot, ("bids", 0), ["0.5", "-7"]), RECV))  # type: ignore[arg-type]
    v.parse(snapshot, RECV)
    update = sample_lines("coinbase", "exchange_level2_l2update")[0]
    _resynced(v.parse(_edit(update, ("changes", 0), ["sell", "NaN", "1"]), RECV))  # type: ignore[arg-type]


def test_binance_bad_level_in_snapshot_or_diff_resyncs() -> None:
    v = Binance("spot", SymbolMap())
    diffs = sample_lines("binance", "spot_depth_diff")
    iid = v.parse(diffs[0], RECV).events[0].instrument  # type: ignore[union-attr]
    snapshot = sample_lines("binance", "spot_depth_snapshot_rest")[0]
    _resynced(v.apply_snapshot(iid, _edit(snapshot, ("bids", 0), ["NaN", "1"]), RECV))  # type: ignore[arg-type]
    assert v.parse(diffs[1], RECV) == NOTHING  # buffered, the snapshot already asked for
    status, _ = v.apply_snapshot(iid, snapshot, RECV).events
    assert isinstance(status, VenueStatus) and status.state == UP
    bad = _edit(diffs[3], ("b",), [["0.3521", "-7"]])  # type: ignore[arg-type]
    _resynced(v.parse(bad, RECV))


@pytest.mark.parametrize("price, size", [("-1", "1"), ("NaN", "1"), ("30243.5", "-7")])
def test_okx_bad_snapshot_level_resyncs(price: str, size: str) -> None:
    v = Okx("spot", SymbolMap())
    line = sample_lines("okx", "books_snapshot")[0]
    status = _resynced(v.parse(_edit(line, ("data", 0, "asks", 0), [price, size, "0", "1"]), RECV))  # type: ignore[arg-type]
    assert "bad book level" in status.reason


def test_cached_top_levels_and_checksum_match_a_fresh_read_through_random_changes() -> None:
    rng = random.Random(7)
    book = L2Book()
    for step in range(3000):
        price = round(100.0 + rng.randint(-60, 60) * 0.5, 1)
        size = 0.0 if rng.random() < 0.3 else float(rng.randint(1, 9))
        raw = (repr(price), repr(size))
        if price < 100.0:
            book.set_bid(price, size, raw)
        elif price > 100.0:
            book.set_ask(price, size, raw)
        if step % 7 == 0:
            fresh_b = sorted(((p, q) for p, q in book._bids.items()), reverse=True)
            fresh_a = sorted(book._asks.items())
            assert book.top_bids(20) == fresh_b[:20] and book.top_asks(20) == fresh_a[:20]
            assert book.top_bids(25) == fresh_b[:25] and book.top_asks(3) == fresh_a[:3]
            raw_b = [(repr(p), repr(q)) for p, q in fresh_b]
            raw_a = [(repr(p), repr(q)) for p, q in fresh_a]
            assert book.checksum_crc32(25) == checksum_crc32(raw_b, raw_a, 25)


@pytest.mark.parametrize("price, size", [("-1", "1"), ("NaN", "1"), ("0.09694", "-7"), ("abc", "1")])
def test_bitget_bad_level_drops_the_half_applied_book_and_resyncs(price: str, size: str) -> None:
    v = Bitget("spot", SymbolMap(), ["BRETT/USDT"])
    line = sample_lines("bitget", "v2_spot_books")[0]
    status = _resynced(v.parse(_edit(line, ("data", 0, "bids", 0), [price, size]), RECV))  # type: ignore[arg-type]
    assert "bad book level" in status.reason
    assert not v.books[status.instrument].valid
