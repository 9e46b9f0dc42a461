"""Value checks shared by venue parsers: what a price, a size and a quote must be to be believed."""

from __future__ import annotations

# A size beyond this is not a real order book (it is a unit mistake or garbage).
MAX_SIZE = 1e15
TOP_LEVELS = 20  # levels per side carried by a model.Book


def valid_quote(bid: float, bid_size: float, ask: float, ask_size: float) -> bool:
    """True for a positive, uncrossed quote with sane sizes (NaN fails every comparison)."""
    return 0.0 < bid < ask < 1e300 and 0.0 <= bid_size < MAX_SIZE and 0.0 <= ask_size < MAX_SIZE


def valid_level(price: float, size: float) -> bool:
    """True for a book level a venue can send: positive price, size zero (delete) or positive."""
    return 0.0 < price < 1e300 and 0.0 <= size < MAX_SIZE
