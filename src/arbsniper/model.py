"""Normalized events and signals: the records every part of arbsniper speaks.

Market events carry interned integer ids (see ``instruments.SymbolMap``) so the hot path indexes
arrays. Every event carries the venue's own timestamp and the local receive time, both in ns.
Records are ``msgspec.Struct``s: immutable, slot-based, and about as cheap to build as a tuple.
"""

from __future__ import annotations

import msgspec

# Market kinds; an instrument is one or the other (``BTC/USDT`` vs ``BTC/USDT:USDT``).
SPOT = 0
PERP = 1
MARKET_NAMES = ("spot", "perp")

# Venue connection states carried by VenueStatus.
UP = 0
DOWN = 1
RESYNCING = 2
HALTED = 3  # one instrument: the venue halted or delisted it (metadata refresh); it is unsubscribed
STATE_NAMES = ("up", "down", "resyncing", "halted")

ANY = -1  # "every market" / "every instrument" in a VenueStatus


class Quote(msgspec.Struct, frozen=True, gc=False):
    """Best bid and offer of one instrument on one venue."""

    venue: int
    instrument: int
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    exchange_ts_ns: int
    recv_ts_ns: int
    seq: int = 0


class Book(msgspec.Struct, frozen=True, gc=False):
    """Top levels of a venue's L2 book, best first; the connector keeps the full book."""

    venue: int
    instrument: int
    bids: list[tuple[float, float]]  # (price, size), highest price first
    asks: list[tuple[float, float]]  # (price, size), lowest price first
    exchange_ts_ns: int
    recv_ts_ns: int
    seq: int = 0


class Funding(msgspec.Struct, frozen=True, gc=False):
    """Current funding rate of a perpetual: ``rate`` is paid per ``interval_hours``."""

    venue: int
    instrument: int
    rate: float
    interval_hours: float
    next_funding_ts_ns: int
    exchange_ts_ns: int
    recv_ts_ns: int


class VenueStatus(msgspec.Struct, frozen=True, gc=False):
    """A venue connection (or one instrument's book on it) went up, down, or is resyncing."""

    venue: int
    state: int  # UP / DOWN / RESYNCING / HALTED (HALTED: one instrument only)
    reason: str
    recv_ts_ns: int
    market: int = ANY  # SPOT / PERP / ANY
    instrument: int = ANY  # one instrument's book, or ANY for the whole connection


MarketEvent = Quote | Book | Funding | VenueStatus

SIGNAL_TYPE = "ARBITRAGE_OPPORTUNITY"


class Signal(msgspec.Struct, kw_only=True, gc=False):
    """One lifecycle event of an opportunity, in the published SPEC §6 format.

    The first nine fields are the established message; the rest are ours. Prices are native to
    each leg's venue; ``profit_estimate`` and ``profit_quote`` are in ``quote_currency`` (the buy
    leg's), with the sell leg converted at ``conversion_rate`` when the two legs differ.
    """

    type: str = SIGNAL_TYPE
    action: str
    symbol: str
    spread_pct: float
    buy_price: float
    sell_price: float
    profit_estimate: float
    timestamp: int  # ms, when emitted
    detected_at: int  # ms, exchange time of the triggering tick
    id: str
    event: str  # open / update / close
    buy_exchange: str
    sell_exchange: str
    spread_bps: float
    fees_bps: float
    slippage_bps: float
    funding_bps: float
    net_bps: float
    size: float
    profit_quote: float
    confidence: float
    latency_us: float
    close_reason: str | None = None
    duration_ms: int = 0
    buy_instrument: str
    sell_instrument: str
    quote_currency: str
    conversion_rate: float = 1.0
    funding_delta: float = 0.0  # sell-leg minus buy-leg funding, fraction per 8 h
    p_capture: float | None = None  # chance it is still open when both legs land (capture estimator); None = no estimate
    expected_net_bps: float | None = None  # net_bps weighted by p_capture (the capture estimator's rule)


_signal_encoder = msgspec.json.Encoder()
_signal_decoder = msgspec.json.Decoder(Signal)


def signal_to_json(signal: Signal) -> bytes:
    """Encode a signal as the published JSON object."""
    return _signal_encoder.encode(signal)


def signal_from_json(data: bytes | str) -> Signal:
    """Decode a published JSON signal (as read back from history, Redis or a replay)."""
    return _signal_decoder.decode(data)
