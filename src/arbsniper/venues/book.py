"""The L2 toolkit every venue with a depth book uses, and the simulators too.

- ``L2Book``: a venue's full book, rebuilt from snapshot + deltas; connectors emit ``model.Book``
  events holding only its top levels. Raw price/size strings are kept beside the floats because
  OKX and Bitget checksum the *original* strings.
- ``checksum_crc32``: the signed CRC32 of the top levels, interleaved ``bidPx:bidSz:askPx:askSz``
  (OKX, Bitget; their simulators compute it with the same function).
- ``DeltaBuffer``: deltas kept per instrument while its REST snapshot is on the way (Binance,
  KuCoin), at most ``MAX_PENDING`` each.
- ``continuity``: the rule for deltas numbered by a range ``first..last`` (Binance spot ``U..u``,
  KuCoin spot ``sequenceStart..sequenceEnd``, KuCoin futures ``sequence..sequence``): stale when
  the book already holds ``last``, a gap when ``first`` is beyond the book's next number. Venues
  whose rules differ (Binance USD-M's ``pu`` chain, Bybit / Paradex / OKX exact successors)
  keep theirs in their own module.
- ``valid_level``: the value check of one book level.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

MAX_SIZE = 1e12  # no venue shows a level this large; beyond it a size is garbage
MAX_PENDING = 5000  # deltas buffered per instrument while its snapshot is on the way; beyond, the oldest go

RawLevel = tuple[str, str]  # (price, size) as the venue wrote them
NO_RAW: RawLevel = ("", "")  # venues that do not checksum keep no strings

_D = TypeVar("_D")


def valid_level(price: float, size: float) -> bool:
    """True for a book level a venue can send: positive finite price, size zero (delete) or positive."""
    return 0.0 < price < 1e300 and 0.0 <= size < MAX_SIZE


def checksum_crc32(bids: Sequence[RawLevel], asks: Sequence[RawLevel], depth: int = 25) -> int:
    """Signed CRC32 of ``bidPx:bidSz:askPx:askSz:…`` over the top ``depth`` levels, best first.

    Levels are interleaved; when one side is shorter the other continues alone (OKX, Bitget).
    """
    nb, na = min(len(bids), depth), min(len(asks), depth)
    parts: list[str] = []
    for i in range(max(nb, na)):
        if i < nb:
            parts += bids[i]
        if i < na:
            parts += asks[i]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= (1 << 31) else crc


STALE = 0  # the book already holds every change of the delta: drop it
GAP = 1  # numbers between the book and the delta are missing: resync
APPLY = 2  # the delta continues the book


def continuity(book_seq: int, first: int, last: int) -> int:
    """How a delta numbered ``first..last`` relates to a book holding everything up to ``book_seq``."""
    if last <= book_seq:
        return STALE
    if first > book_seq + 1:
        return GAP
    return APPLY


class DeltaBuffer(Generic[_D]):
    """Deltas of the instruments whose book waits for a REST snapshot, oldest first."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[int, list[_D]] = {}

    def add(self, instrument_id: int, delta: _D) -> bool:
        """Keep a delta; True when it is the first, so the snapshot must be asked for now."""
        pending = self._pending.get(instrument_id)
        if pending is None:
            self._pending[instrument_id] = [delta]
            return True
        pending.append(delta)
        if len(pending) > MAX_PENDING:
            del pending[: len(pending) - MAX_PENDING]
        return False

    def restart(self, instrument_id: int, deltas: list[_D]) -> None:
        """Buffer from ``deltas`` on (a gap, or a snapshot older than the buffered stream)."""
        self._pending[instrument_id] = deltas

    def take(self, instrument_id: int) -> list[_D]:
        """The buffered deltas of one instrument, oldest first; its buffer is gone."""
        return self._pending.pop(instrument_id, [])

    def clear(self) -> None:
        self._pending.clear()


class L2Book:
    """Both sides of one book; a size of zero removes a level.

    Each side is a dict (price → size) plus a sorted list of its prices (bids negated, so both
    lists run best-first); the venue's raw strings, for the venues that checksum them, sit in a
    third dict per side as ``"price:size"``. Measured against ``SortedDict``: about twice as fast
    per level change and per top-of-book read, for books of a few thousand levels.

    The top ``watch`` levels of each side are cached: a change beyond them (most deltas of deep
    books) leaves the last top list and checksum as they were, so a Book event reuses them.
    Cached lists are shared between events and must never be mutated.
    """

    __slots__ = ("_bids", "_asks", "_bid_keys", "_ask_keys", "_raw_bids", "_raw_asks", "_watch",
                 "_top_b", "_top_a", "_crc", "seq", "valid")

    def __init__(self, watch: int = 25) -> None:
        self._bids: dict[float, float] = {}
        self._asks: dict[float, float] = {}
        self._bid_keys: list[float] = []  # -price, ascending = best bid first
        self._ask_keys: list[float] = []  # price, ascending = best ask first
        self._raw_bids: dict[float, str] = {}  # price → "px:sz" as the venue wrote them
        self._raw_asks: dict[float, str] = {}
        self._watch = watch  # deepest level any reader asks for (Book events, checksums)
        self._top_b: list[tuple[float, float]] | None = None
        self._top_a: list[tuple[float, float]] | None = None
        self._crc: int | None = None
        self.seq = 0
        self.valid = False

    def clear(self) -> None:
        self._bids.clear()
        self._asks.clear()
        self._bid_keys.clear()
        self._ask_keys.clear()
        self._raw_bids.clear()
        self._raw_asks.clear()
        self._top_b = self._top_a = self._crc = None
        self.seq = 0
        self.valid = False

    def set_bid(self, price: float, size: float, raw: RawLevel = NO_RAW) -> None:
        levels, keys = self._bids, self._bid_keys
        if len(keys) < self._watch or -price <= keys[self._watch - 1]:
            self._top_b = self._crc = None
        if size == 0.0:
            if levels.pop(price, None) is not None:
                del keys[bisect_left(keys, -price)]
                self._raw_bids.pop(price, None)
        else:
            if price not in levels:
                insort(keys, -price)
            levels[price] = size
            if raw is not NO_RAW:
                self._raw_bids[price] = raw[0] + ":" + raw[1]

    def set_ask(self, price: float, size: float, raw: RawLevel = NO_RAW) -> None:
        levels, keys = self._asks, self._ask_keys
        if len(keys) < self._watch or price <= keys[self._watch - 1]:
            self._top_a = self._crc = None
        if size == 0.0:
            if levels.pop(price, None) is not None:
                del keys[bisect_left(keys, price)]
                self._raw_asks.pop(price, None)
        else:
            if price not in levels:
                insort(keys, price)
            levels[price] = size
            if raw is not NO_RAW:
                self._raw_asks[price] = raw[0] + ":" + raw[1]

    def apply_bids(self, levels: Iterable[Sequence[float]], scale: float = 1.0) -> bool:
        """Set every ``(price, size)`` of one side, sizes times ``scale``, in one call.

        False at the first level that is not ``valid_level`` (NaN, ≤ 0 price, negative or huge
        size): the book is then wrong and the caller must drop it and resync.
        """
        book, keys, watch = self._bids, self._bid_keys, self._watch
        for p, q in levels:
            if not (0.0 < p < 1e300 and 0.0 <= q < MAX_SIZE):
                return False
            if len(keys) < watch or -p <= keys[watch - 1]:
                self._top_b = self._crc = None
            if q == 0.0:
                if book.pop(p, None) is not None:
                    del keys[bisect_left(keys, -p)]
            else:
                if p not in book:
                    insort(keys, -p)
                book[p] = q if scale == 1.0 else q * scale
        return True

    def apply_asks(self, levels: Iterable[Sequence[float]], scale: float = 1.0) -> bool:
        """``apply_bids`` for the ask side."""
        book, keys, watch = self._asks, self._ask_keys, self._watch
        for p, q in levels:
            if not (0.0 < p < 1e300 and 0.0 <= q < MAX_SIZE):
                return False
            if len(keys) < watch or p <= keys[watch - 1]:
                self._top_a = self._crc = None
            if q == 0.0:
                if book.pop(p, None) is not None:
                    del keys[bisect_left(keys, p)]
            else:
                if p not in book:
                    insort(keys, p)
                book[p] = q if scale == 1.0 else q * scale
        return True

    def apply_raw_bids(self, levels: Iterable[Sequence[str]], scale: float = 1.0, divide: bool = False) -> bool:
        """``apply_bids`` for a venue that checksums its strings: rows ``[price, size, …]`` as sent,
        kept as ``"price:size"``; sizes times ``scale`` (divided by it with ``divide``).

        False at the first level that is not ``valid_level``; ValueError on one that is not numbers.
        """
        book, keys, raws, watch = self._bids, self._bid_keys, self._raw_bids, self._watch
        for lvl in levels:
            px, sz = lvl[0], lvl[1]
            p, q = float(px), float(sz)
            if not (0.0 < p < 1e300 and 0.0 <= q < MAX_SIZE):
                return False
            if len(keys) < watch or -p <= keys[watch - 1]:
                self._top_b = self._crc = None
            if q == 0.0:
                if book.pop(p, None) is not None:
                    del keys[bisect_left(keys, -p)]
                    raws.pop(p, None)
            else:
                if p not in book:
                    insort(keys, -p)
                book[p] = q if scale == 1.0 else (q / scale if divide else q * scale)
                raws[p] = px + ":" + sz
        return True

    def apply_raw_asks(self, levels: Iterable[Sequence[str]], scale: float = 1.0, divide: bool = False) -> bool:
        """``apply_raw_bids`` for the ask side."""
        book, keys, raws, watch = self._asks, self._ask_keys, self._raw_asks, self._watch
        for lvl in levels:
            px, sz = lvl[0], lvl[1]
            p, q = float(px), float(sz)
            if not (0.0 < p < 1e300 and 0.0 <= q < MAX_SIZE):
                return False
            if len(keys) < watch or p <= keys[watch - 1]:
                self._top_a = self._crc = None
            if q == 0.0:
                if book.pop(p, None) is not None:
                    del keys[bisect_left(keys, p)]
                    raws.pop(p, None)
            else:
                if p not in book:
                    insort(keys, p)
                book[p] = q if scale == 1.0 else (q / scale if divide else q * scale)
                raws[p] = px + ":" + sz
        return True

    def top_bids(self, n: int) -> list[tuple[float, float]]:
        if n <= self._watch:
            top = self._top_b
            if top is not None and len(top) == min(n, len(self._bid_keys)):
                return top
        levels = self._bids
        top = [(-k, levels[-k]) for k in self._bid_keys[:n]]
        if n <= self._watch:
            self._top_b = top
        return top

    def top_asks(self, n: int) -> list[tuple[float, float]]:
        if n <= self._watch:
            top = self._top_a
            if top is not None and len(top) == min(n, len(self._ask_keys)):
                return top
        levels = self._asks
        top = [(k, levels[k]) for k in self._ask_keys[:n]]
        if n <= self._watch:
            self._top_a = top
        return top

    def best_bid(self) -> float | None:
        return -self._bid_keys[0] if self._bid_keys else None

    def best_ask(self) -> float | None:
        return self._ask_keys[0] if self._ask_keys else None

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask: the book is wrong."""
        return bool(self._bid_keys and self._ask_keys and -self._bid_keys[0] >= self._ask_keys[0])

    def __len__(self) -> int:
        return len(self._bids) + len(self._asks)

    def checksum_crc32(self, depth: int = 25) -> int:
        """``checksum_crc32`` of this book's top ``depth`` levels, in the strings the venue sent.

        The kept ``"px:sz"`` strings are joined as they are; when no change reached the top
        ``watch`` levels since the last call, the last value is returned.
        """
        cached = depth == self._watch
        if cached and self._crc is not None:
            return self._crc
        rb, ra = self._raw_bids, self._raw_asks
        bids = [rb[-k] for k in self._bid_keys[:depth]]
        asks = [ra[k] for k in self._ask_keys[:depth]]
        nb, na = len(bids), len(asks)
        parts: list[str] = []
        for i in range(min(nb, na)):
            parts.append(bids[i])
            parts.append(asks[i])
        parts += bids[na:] if nb > na else asks[nb:]
        crc = zlib.crc32(":".join(parts).encode())
        crc = crc - (1 << 32) if crc >= (1 << 31) else crc
        if cached:
            self._crc = crc
        return crc
