"""``arbsniper parse``: raw venue frames in, normalized events out as JSON lines (SPEC §9).

The tool a user reaches for when a venue changes its format: each input line is one frame as
the venue sent it; each event it holds becomes one JSON object with ``kind`` (quote, book,
funding, status) and its fields, venue and instrument by name. Acks and pongs produce nothing;
a bad frame (malformed, deeply nested, invalid UTF-8, invalid values) produces one error line
on stderr naming its line number, and the run goes on. Lines are read as bytes, as a session
receives them: invalid UTF-8 is the parser's to reject, not a crash of the reader. A binary frame
(Paradex SBE) is given as one line ``b64:`` + its bytes in base64 (as a recording's ``frame_b64``).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable, Sequence
from typing import TextIO

import msgspec

from arbsniper.instruments import SymbolMap
from arbsniper.model import MARKET_NAMES, STATE_NAMES, Book, Funding, MarketEvent, Quote, VenueStatus
from arbsniper.venues import REGISTRY
from arbsniper.venues.base import REJECTED, FrameError
from arbsniper.venues.metadata import InstrumentMeta

_enc = msgspec.json.Encoder()
BINARY_PREFIX = b"b64:"  # a line holding a binary frame: this, then the frame in base64


def _b64(line: bytes) -> bytes:
    try:
        return base64.b64decode(line[len(BINARY_PREFIX):].strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FrameError(f"not base64 after 'b64:': {exc}") from None


def event_dict(ev: MarketEvent, symbols: SymbolMap) -> dict[str, object]:
    """A normalized event as a plain dict with names instead of ids."""
    venue = symbols.venue_name(ev.venue)
    if isinstance(ev, Quote):
        return {"kind": "quote", "venue": venue, "instrument": symbols.instrument_name(ev.instrument), "bid": ev.bid,
                "bid_size": ev.bid_size, "ask": ev.ask, "ask_size": ev.ask_size, "exchange_ts_ns": ev.exchange_ts_ns,
                "recv_ts_ns": ev.recv_ts_ns, "seq": ev.seq}
    if isinstance(ev, Book):
        return {"kind": "book", "venue": venue, "instrument": symbols.instrument_name(ev.instrument),
                "bids": [list(x) for x in ev.bids], "asks": [list(x) for x in ev.asks],
                "exchange_ts_ns": ev.exchange_ts_ns, "recv_ts_ns": ev.recv_ts_ns, "seq": ev.seq}
    if isinstance(ev, Funding):
        return {"kind": "funding", "venue": venue, "instrument": symbols.instrument_name(ev.instrument), "rate": ev.rate,
                "interval_hours": ev.interval_hours, "next_funding_ts_ns": ev.next_funding_ts_ns,
                "exchange_ts_ns": ev.exchange_ts_ns, "recv_ts_ns": ev.recv_ts_ns}
    assert isinstance(ev, VenueStatus)
    return {"kind": "status", "venue": venue, "state": STATE_NAMES[ev.state], "reason": ev.reason,
            "market": MARKET_NAMES[ev.market] if ev.market >= 0 else "any",
            "instrument": symbols.instrument_name(ev.instrument) if ev.instrument >= 0 else None,
            "recv_ts_ns": ev.recv_ts_ns}


def parse_stream(venue: str, market: str | None, lines: Iterable[bytes | str], out: TextIO, err: TextIO,
                 metadata: Sequence[InstrumentMeta] = ()) -> tuple[int, int, int]:
    """Parse frames line by line (bytes, or text); returns (frames, events, bad frames).

    ``metadata``: the venue market's listing (``arbsniper markets`` caches it), without which a
    market whose sizes are contracts (OKX swaps, KuCoin and Coinbase futures) has no size unit."""
    info = REGISTRY.get(venue)
    if info is None:
        raise ValueError(f"unknown venue {venue!r} (known: {', '.join(REGISTRY)})")
    market = market or next(iter(info.markets))
    symbols = SymbolMap()
    parser = info.venue_class(market)(market, symbols, metadata=metadata)  # open: every symbol in the input is parsed
    frames = events = bad = 0
    for n, line in enumerate(lines, 1):
        frame = (line.encode() if isinstance(line, str) else line).rstrip(b"\r\n")
        if not frame.strip():
            continue
        frames += 1
        try:
            if frame.startswith(BINARY_PREFIX):
                evs = parser.parse_binary(_b64(frame), time.time_ns()).events
            else:
                evs = parser.parse(frame, time.time_ns()).events  # resyncs: nothing to fetch here
        except REJECTED as exc:
            bad += 1
            err.write(f"line {n}: {exc}\n")
            continue
        for ev in evs:
            out.write(_enc.encode(event_dict(ev, symbols)).decode() + "\n")
        events += len(evs)
    return frames, events, bad
