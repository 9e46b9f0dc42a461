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
from collections.abc import Sequence
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

    Each side is a dict (price → (size, raw level)) plus a sorted list of its prices (bids
    negated, so both lists run best-first). Measured against ``SortedDict``: about twice as fast
    per level change and per top-of-book read, for books of a few thousand levels.
    """

    __slots__ = ("_bids", "_asks", "_bid_keys", "_ask_keys", "seq", "valid")

    def __init__(self) -> None:
        self._bids: dict[float, tuple[float, RawLevel]] = {}
        self._asks: dict[float, tuple[float, RawLevel]] = {}
        self._bid_keys: list[float] = []  # -price, ascending = best bid first
        self._ask_keys: list[float] = []  # price, ascending = best ask first
        self.seq = 0
        self.valid = False

    def clear(self) -> None:
        self._bids.clear()
        self._asks.clear()
        self._bid_keys.clear()
        self._ask_keys.clear()
        self.seq = 0
        self.valid = False

    def set_bid(self, price: float, size: float, raw: RawLevel = NO_RAW) -> None:
        levels = self._bids
        if size == 0.0:
            if levels.pop(price, None) is not None:
                keys = self._bid_keys
                del keys[bisect_left(keys, -price)]
        else:
            if price not in levels:
                insort(self._bid_keys, -price)
            levels[price] = (size, raw)

    def set_ask(self, price: float, size: float, raw: RawLevel = NO_RAW) -> None:
        levels = self._asks
        if size == 0.0:
            if levels.pop(price, None) is not None:
                keys = self._ask_keys
                del keys[bisect_left(keys, price)]
        else:
            if price not in levels:
                insort(self._ask_keys, price)
            levels[price] = (size, raw)

    def top_bids(self, n: int) -> list[tuple[float, float]]:
        levels = self._bids
        return [(-k, levels[-k][0]) for k in self._bid_keys[:n]]

    def top_asks(self, n: int) -> list[tuple[float, float]]:
        levels = self._asks
        return [(k, levels[k][0]) for k in self._ask_keys[:n]]

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
        """``checksum_crc32`` of this book's top ``depth`` levels, in the strings the venue sent."""
        bids, asks = self._bids, self._asks
        return checksum_crc32([bids[-k][1] for k in self._bid_keys[:depth]], [asks[k][1] for k in self._ask_keys[:depth]], depth)
