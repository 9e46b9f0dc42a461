"""Value checks shared by venue parsers for book levels (quotes are checked by ``Venue.quote``)."""

from __future__ import annotations

from arbsniper.venues.base import MAX_SIZE


def valid_level(price: float, size: float) -> bool:
    """True for a book level a venue can send: positive finite price, size zero (delete) or positive."""
    return 0.0 < price < 1e300 and 0.0 <= size < MAX_SIZE
