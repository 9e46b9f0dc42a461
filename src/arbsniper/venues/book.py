"""A venue's full L2 order book, rebuilt from snapshot + deltas, and the CRC32 checksum helper.

Connectors keep one ``L2Book`` per subscribed instrument and emit ``model.Book`` events holding
only the top levels. Raw price/size strings are kept beside the floats because OKX and Bitget
checksum the *original* strings.
"""

from __future__ import annotations

import zlib
from itertools import islice

from sortedcontainers import SortedDict


class L2Book:
    """Both sides of one book; a size of zero removes a level."""

    __slots__ = ("bids", "asks", "seq", "valid")

    def __init__(self) -> None:
        # bids keyed by -price so both sides iterate best-first
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.seq = 0
        self.valid = False

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.seq = 0
        self.valid = False

    def set_bid(self, price: float, size: float, raw_price: str = "", raw_size: str = "") -> None:
        if size == 0.0:
            self.bids.pop(-price, None)
        else:
            self.bids[-price] = (price, size, raw_price, raw_size)

    def set_ask(self, price: float, size: float, raw_price: str = "", raw_size: str = "") -> None:
        if size == 0.0:
            self.asks.pop(price, None)
        else:
            self.asks[price] = (price, size, raw_price, raw_size)

    def top_bids(self, n: int) -> list[tuple[float, float]]:
        return [(lvl[0], lvl[1]) for lvl in islice(self.bids.values(), n)]

    def top_asks(self, n: int) -> list[tuple[float, float]]:
        return [(lvl[0], lvl[1]) for lvl in islice(self.asks.values(), n)]

    def best_bid(self) -> float | None:
        return self.bids.peekitem(0)[1][0] if self.bids else None

    def best_ask(self) -> float | None:
        return self.asks.peekitem(0)[1][0] if self.asks else None

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask: the book is wrong."""
        return bool(self.bids and self.asks and self.bids.peekitem(0)[1][0] >= self.asks.peekitem(0)[1][0])

    def checksum_crc32(self, depth: int = 25) -> int:
        """Signed CRC32 of ``bidPx:bidSz:askPx:askSz:…`` over the top ``depth`` levels (OKX, Bitget).

        Levels are interleaved best-first; when one side is shorter the other continues alone.
        Uses the original strings the venue sent.
        """
        bids = list(islice(self.bids.values(), depth))
        asks = list(islice(self.asks.values(), depth))
        parts: list[str] = []
        for i in range(max(len(bids), len(asks))):
            if i < len(bids):
                parts.append(bids[i][2])
                parts.append(bids[i][3])
            if i < len(asks):
                parts.append(asks[i][2])
                parts.append(asks[i][3])
        crc = zlib.crc32(":".join(parts).encode())
        return crc - (1 << 32) if crc >= (1 << 31) else crc
