"""Coinbase Advanced Trade market data (spot): ticker BBO, level2 snapshot + updates, heartbeats.

Endpoint ``wss://advanced-trade-ws.coinbase.com``. A ``subscribe`` must arrive within 5 s and
names one channel per message: ``{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}``.
We subscribe ``heartbeats`` too: channels close after 60-90 s without updates otherwise, and the
1/s heartbeat is what tells a quiet connection from a dead one. Every message on a connection
carries ``sequence_num`` (+1 per message): a jump means messages were lost, so every book is
dropped and ``level2`` is resubscribed for a fresh snapshot.

Messages read (Advanced Trade)::

    {"channel":"ticker","timestamp":"2026-04-07T14:30:03.000000Z","sequence_num":12,"events":[{"type":"snapshot",
     "tickers":[{"product_id":"BTC-USD","best_bid":"68900.00","best_bid_quantity":"1.5","best_ask":"68901.00",
     "best_ask_quantity":"0.5", …}]}]}
    {"channel":"l2_data","timestamp":"…","sequence_num":0,"events":[{"type":"snapshot"|"update","product_id":"BTC-USD",
     "updates":[{"side":"bid"|"offer","event_time":"…","price_level":"68900.00","new_quantity":"1.5"}]}]}
    {"channel":"subscriptions"|"heartbeats", …}                                     (no events for us)

The legacy Exchange feed (``wss://ws-feed.exchange.coinbase.com``; its ``level2`` now needs
authentication) is parsed as well, for recordings and ``arbsniper parse``::

    {"type":"ticker","sequence":…,"product_id":"BTC-USD","best_bid":"…","best_bid_size":"…","best_ask":"…","time":"…"}
    {"type":"snapshot","product_id":"BTC-USD","bids":[["px","size"]],"asks":[…]}
    {"type":"l2update","product_id":"BTC-USD","changes":[["buy","px","size"]],"time":"…"}
"""

from __future__ import annotations

import calendar
from typing import ClassVar

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import MarketEvent
from arbsniper.venues.base import DEMO_BASES, NOTHING, FrameError, Heartbeat, Parsed, Venue, VenueInfo

ADVANCED_WS = "wss://advanced-trade-ws.coinbase.com"
REST = "https://api.coinbase.com"


class _Update(msgspec.Struct):
    side: str
    price_level: float
    new_quantity: float


class _Ticker(msgspec.Struct):
    product_id: str
    best_bid: float | None = None
    best_ask: float | None = None
    best_bid_quantity: float | None = None
    best_ask_quantity: float | None = None
    best_bid_size: float | None = None
    best_ask_size: float | None = None
    sequence: int = 0
    time: str = ""


class _Event(msgspec.Struct):
    type: str = ""
    product_id: str = ""
    updates: list[_Update] = []
    tickers: list[_Ticker] = []


class _Message(msgspec.Struct):
    channel: str | None = None
    timestamp: str = ""
    sequence_num: int | None = None
    events: list[_Event] = []
    # legacy Exchange feed
    type: str | None = None
    product_id: str = ""
    message: str | None = None
    reason: str | None = None


class _LegacyBook(msgspec.Struct):
    product_id: str
    bids: list[tuple[float, float]] = []
    asks: list[tuple[float, float]] = []
    changes: list[tuple[str, float, float]] = []
    time: str = ""


_msg = msgspec.json.Decoder(_Message, strict=False)
_legacy_ticker = msgspec.json.Decoder(_Ticker, strict=False)
_legacy_book = msgspec.json.Decoder(_LegacyBook, strict=False)

_day_cache: dict[str, int] = {}


def iso_to_ns(ts: str) -> int:
    """``2023-02-09T20:32:50.714964855Z`` → ns since the epoch (nanosecond digits kept)."""
    if not ts:
        return 0
    try:
        day = _day_cache.get(ts[:10])
        if day is None:
            y, m, d = int(ts[0:4]), int(ts[5:7]), int(ts[8:10])
            day = _day_cache[ts[:10]] = calendar.timegm((y, m, d, 0, 0, 0)) * 1_000_000_000
        secs = int(ts[11:13]) * 3600 + int(ts[14:16]) * 60 + int(ts[17:19])
        frac = 0
        if len(ts) > 19 and ts[19] == ".":
            digits = ts[20:].rstrip("Z").split("+")[0]
            frac = int((digits + "000000000")[:9])
        return day + secs * 1_000_000_000 + frac
    except ValueError:
        raise FrameError(f"coinbase: bad timestamp {ts!r}") from None


def native_symbol(instrument: str) -> str:
    inst = parse_instrument(instrument)
    if inst.is_perp:
        raise ValueError(f"coinbase: {instrument}: only spot products are supported")
    return f"{inst.base}-{inst.quote}"


def unified_instrument(native: str) -> str | None:
    parts = native.split("-")
    return f"{parts[0]}/{parts[1]}" if len(parts) == 2 else None


class Coinbase(Venue):
    name = "coinbase"
    markets = ("spot",)
    max_instruments_per_connection: ClassVar[int] = 100
    max_messages_per_s = 6.0  # 8 unauthenticated messages/s per IP

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._seq: int | None = None

    def heartbeat(self) -> Heartbeat:
        # Nothing to send: the heartbeats channel pushes a message every second.
        return Heartbeat("none", 0.0, 10.0)

    def ws_url(self) -> str:
        return self.base_url or ADVANCED_WS

    def rest_endpoint(self) -> str:
        return self.rest_url or REST

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol)

    def _sub(self, op: str, channel: str, products: list[str]) -> str:
        return msgspec.json.encode({"type": op, "product_ids": products, "channel": channel}).decode()

    def subscribe_messages(self) -> list[str]:
        products = self.subscribed_natives()
        return [self._sub("subscribe", ch, products) for ch in ("heartbeats", "ticker", "level2")]

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        p = [self.native_of(instrument_id)]
        return [self._sub("unsubscribe", "level2", p), self._sub("subscribe", "level2", p)]

    def on_connected(self, recv_ts_ns: int) -> Parsed:
        self._seq = None
        return super().on_connected(recv_ts_ns)

    # ---- parsing ------------------------------------------------------------------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        try:
            m = _msg.decode(frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise FrameError(f"coinbase: {exc}") from None
        channel = m.channel
        if channel is None:
            return self._legacy(m, frame, recv_ts_ns)
        out: list[MarketEvent] = []
        resyncs: list[int] = []
        seq = m.sequence_num
        if seq is not None:
            last = self._seq
            self._seq = seq
            if last is not None and seq > last + 1:
                for iid, book in self.books.items():
                    if book.valid:
                        out.append(self.invalidate(iid, f"sequence_num gap: {last} -> {seq}", recv_ts_ns))
                        resyncs.append(iid)
        ts = iso_to_ns(m.timestamp)
        if channel == "ticker":
            for ev in m.events:
                for t in ev.tickers:
                    # sequence_num numbers messages per connection, not per product: it cannot
                    # order one product's quotes across reconnects, so the quote carries none.
                    quote = self._on_ticker(t, ts, recv_ts_ns, 0)
                    if quote is not None:
                        out.append(quote)
        elif channel == "l2_data":
            for ev in m.events:
                self._on_l2(ev, ts, recv_ts_ns, seq or 0, out, resyncs)
        elif channel in ("subscriptions", "heartbeats", "status", "market_trades", "candles", "ticker_batch"):
            pass
        elif channel == "error" or m.type == "error":
            raise FrameError(f"coinbase: error: {m.message}")
        else:
            raise FrameError(f"coinbase: unexpected channel {channel!r}")
        if not out:
            return NOTHING
        if resyncs:
            return Parsed(tuple(out), tuple(dict.fromkeys(resyncs)))  # a book dropped twice is fetched once
        return Parsed(tuple(out))

    def _on_ticker(self, t: _Ticker, ts: int, recv_ts_ns: int, seq: int) -> MarketEvent | None:
        iid = self.instrument_id(t.product_id)
        if iid is None:
            return None
        if t.best_bid is None or t.best_ask is None:
            raise FrameError(f"coinbase: ticker for {t.product_id} without best bid/ask")
        bid_size = t.best_bid_quantity if t.best_bid_quantity is not None else (t.best_bid_size or 0.0)
        ask_size = t.best_ask_quantity if t.best_ask_quantity is not None else (t.best_ask_size or 0.0)
        return self.quote(iid, t.best_bid, bid_size, t.best_ask, ask_size, ts or recv_ts_ns, recv_ts_ns, seq)

    def _on_l2(self, ev: _Event, ts: int, recv_ts_ns: int, seq: int, out: list[MarketEvent], resyncs: list[int]) -> None:
        """Apply one l2_data event to its book; what it yields goes to ``out`` / ``resyncs``."""
        iid = self.instrument_id(ev.product_id)
        if iid is None:
            return
        book = self.book(iid)
        if ev.type == "snapshot":
            book.clear()
        elif not book.valid:
            return  # updates before the (re)subscription's snapshot
        for u in ev.updates:
            side = u.side
            if side == "bid":
                book.set_bid(u.price_level, u.new_quantity)
            elif side == "offer" or side == "ask":
                book.set_ask(u.price_level, u.new_quantity)
            else:
                out.append(self.invalidate(iid, f"unknown side {side!r}", recv_ts_ns))
                resyncs.append(iid)
                return
        if book.is_crossed():
            out.append(self.invalidate(iid, "book crossed", recv_ts_ns))
            resyncs.append(iid)
            return
        if not book.valid:
            book.valid = True
            out.append(self.synced(iid, recv_ts_ns))
        book.seq = seq
        out.append(self.book_event(iid, book, ts or recv_ts_ns, recv_ts_ns, seq))

    def _legacy(self, m: _Message, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        kind = m.type
        try:
            if kind == "ticker":
                t = _legacy_ticker.decode(frame)
                quote = self._on_ticker(t, iso_to_ns(t.time), recv_ts_ns, t.sequence)  # per product
                return NOTHING if quote is None else Parsed((quote,))
            if kind == "snapshot" or kind == "l2update":
                b = _legacy_book.decode(frame)
            elif kind in ("subscriptions", "heartbeat"):
                return NOTHING
            elif kind == "error":
                raise FrameError(f"coinbase: error: {m.message} {m.reason or ''}".rstrip())
            else:
                raise FrameError(f"coinbase: unexpected message type {kind!r}")
        except msgspec.ValidationError as exc:
            raise FrameError(f"coinbase: {exc}") from None
        iid = self.instrument_id(b.product_id)
        if iid is None:
            return NOTHING
        book = self.book(iid)
        if kind == "snapshot":
            book.clear()
            for p, q in b.bids:
                book.set_bid(p, q)
            for p, q in b.asks:
                book.set_ask(p, q)
        else:
            if not book.valid:
                return NOTHING
            for side, p, q in b.changes:
                if side == "buy":
                    book.set_bid(p, q)
                elif side == "sell":
                    book.set_ask(p, q)
                else:
                    raise FrameError(f"coinbase: unknown side {side!r}")
        if book.is_crossed():
            return self.resync(iid, "book crossed", recv_ts_ns)
        event = self.book_event(iid, book, iso_to_ns(b.time) or recv_ts_ns, recv_ts_ns)
        if not book.valid:
            book.valid = True
            return Parsed((self.synced(iid, recv_ts_ns), event))
        return Parsed((event,))


INFO = VenueInfo(
    name=Coinbase.name,
    markets={"spot": Coinbase},
    taker_fee_bps={"spot": 120.0},
    ccxt_id="coinbase",
    demo_instruments=(*(f"{b}/USD" for b in DEMO_BASES), "USDT/USD"),
)
