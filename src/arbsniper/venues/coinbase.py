"""Coinbase Advanced Trade market data: spot, and the US perpetual-style futures (nano perps):
ticker BBO, level2 snapshot + updates, heartbeats; futures funding over REST.

Endpoint ``wss://advanced-trade-ws.coinbase.com``, public market data "for spot crypto and US
futures" (docs: websocket-endpoints), the same channels for both; futures products are named by
their product ids (``BIP-20DEC30-CDE``). A ``subscribe`` must arrive within 5 s and names one
channel per message: ``{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}``.
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

Sizes (``best_*_quantity``, ``new_quantity``) are base units on spot and CONTRACTS of the
product's ``future_product_details.contract_size`` on futures (BIP-20DEC30-CDE: 0.01 BTC, so 431
is 4.31 BTC); events carry base units, and a futures product without metadata is refused.

The legacy Exchange feed (``wss://ws-feed.exchange.coinbase.com``; its ``level2`` now needs
authentication) is parsed as well, for recordings and ``arbsniper parse``::

    {"type":"ticker","sequence":…,"product_id":"BTC-USD","best_bid":"…","best_bid_size":"…","best_ask":"…","time":"…"}
    {"type":"snapshot","product_id":"BTC-USD","bids":[["px","size"]],"asks":[…]}
    {"type":"l2update","product_id":"BTC-USD","changes":[["buy","px","size"]],"time":"…"}

Listing (``metadata_requests``; public, one page: ``pagination`` is null without ``limit``; units
from ``tests/fixtures/coinbase/rest_products*.json`` and their ``.source.txt``)::

    GET /api/v3/brokerage/market/products?product_type=SPOT
    {"products":[{"product_id":"BTC-USD","price":"68925.98","volume_24h":"11005.02587005","base_increment":"0.00000001",
     "quote_increment":"0.01","quote_min_size":"1","base_min_size":"0.00000001","status":"online","cancel_only":false,
     "trading_disabled":false,"is_disabled":false,"view_only":false,"auction_mode":false,"product_type":"SPOT",
     "quote_currency_id":"USD","base_currency_id":"BTC","alias":"","alias_to":["BTC-USDC"],"price_increment":"0.01",
     "approximate_quote_24h_volume":"758532193.02", …}],"num_products":2,"pagination":null}
    GET /api/v3/brokerage/market/products?product_type=FUTURE
    {"products":[{"product_id":"BIP-20DEC30-CDE","price":"68930","base_increment":"1","base_min_size":"1","status":"",
     "quote_min_size":"0","price_increment":"5","display_name":"BTC PERP","product_venue":"FCM","quote_currency_id":"USD",
     "approximate_quote_24h_volume":"467673506.8","fcm_trading_session_details":{"is_session_open":true,
     "session_state":"FCM_TRADING_SESSION_STATE_OPEN", …},"future_product_details":{"contract_size":"0.01",
     "contract_root_unit":"BTC","contract_expiry_type":"EXPIRING","funding_interval":"3600s","funding_rate":"0.000013",
     "funding_time":"2026-04-07T00:00:00Z", …}, …}, …]}

Spot: ``base_increment`` is the size step and ``base_min_size`` the smallest order (base units),
``price_increment`` the tick (``quote_increment`` is the step of a funds amount), ``quote_min_size``
the smallest order value, ``approximate_quote_24h_volume`` the 24 h volume in the quote currency
and ``price`` the last price. **Aliases:** BTC-USDC carries ``"alias":"BTC-USD"``: it is the
BTC-USD book under another name (the WebSocket serves -USDC products with the -USD data), so a
product that is an alias of another is left out and the one book is counted once (its volume is
the same book's). Futures: only the perpetual-style products are kept — those with a
``funding_interval`` (the nano perps; Coinbase lists them with ``contract_expiry_type``
EXPIRING, a 5-year expiry) or ``contract_expiry_type`` PERPETUAL; dated futures (no funding) and
INTX products (``product_venue`` INTX, moved to a separate gateway in 2026) are left out. Their
``base_increment`` / ``base_min_size`` are contracts (converted), ``price_increment`` the tick,
``funding_interval`` a duration ("3600s" = 1 h), ``status`` is "" (trading follows
``trading_disabled`` and ``fcm_trading_session_details.is_session_open``). Unified names:
``BTC-USD`` → ``BTC/USD``; a perp → ``{contract_root_unit}/{quote}:{quote}`` (``BTC/USD:USD``).

Limits (docs: websocket-rate-limits; venues.md §2a): unauthenticated client messages 8/s per IP;
connections DISAGREE between two doc copies — 8/s per IP (the current ``.md`` page, used here)
vs 750/s per IP (older pages); no documented limit of products per subscribe or per connection:
our own batch is 100 products per message and 100 products per connection.
"""

from __future__ import annotations

import calendar
from typing import ClassVar

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.model import MarketEvent
from arbsniper.venues.base import DEMO_BASES, NOTHING, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import MAX_SIZE, valid_level
from arbsniper.venues.metadata import (
    DELISTED,
    HALTED,
    PRELAUNCH,
    TRADING,
    InstrumentMeta,
    MetadataError,
    RestRequest,
    SubscriptionLimits,
)
from arbsniper.venues.units import UNIT, Scale, contract_scale, contracts_to_base

ADVANCED_WS = "wss://advanced-trade-ws.coinbase.com"
REST = "https://api.coinbase.com"
PRODUCTS_PATH = "/api/v3/brokerage/market/products"
SPOT_PRODUCTS = PRODUCTS_PATH + "?product_type=SPOT"
FUTURE_PRODUCTS = PRODUCTS_PATH + "?product_type=FUTURE"
MESSAGES_PER_S = 8.0  # unauthenticated client messages per second per IP
CONNECTIONS_PER_S = 8  # per IP; DISAGREE: 750 in older copies of the same page
PRODUCTS_PER_MESSAGE = 100  # our batch; the docs give no limit
PRODUCTS_PER_CONNECTION = 100  # ditto
CHANNELS = ("ticker", "level2")  # per product; heartbeats once per connection
LIMITS = SubscriptionLimits(
    streams_per_instrument=len(CHANNELS),
    max_streams_per_connection=PRODUCTS_PER_CONNECTION * len(CHANNELS),
    max_args_per_request=PRODUCTS_PER_MESSAGE,
    max_requests_per_s=MESSAGES_PER_S,
    rate_per_ip=True,  # spot and futures connections share the 8 messages a second
)


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


class _Session(msgspec.Struct):
    is_session_open: bool = True
    session_state: str = ""


class _FutureDetails(msgspec.Struct):
    contract_size: str = ""
    contract_root_unit: str = ""
    contract_expiry_type: str = ""
    funding_interval: str | None = None
    funding_rate: str | None = None
    funding_time: str | None = None


class _Product(msgspec.Struct):
    product_id: str
    product_type: str = ""
    status: str = ""
    price: str = ""
    base_increment: str = ""
    price_increment: str = ""
    quote_increment: str = ""
    base_min_size: str = ""
    quote_min_size: str = ""
    base_currency_id: str = ""
    quote_currency_id: str = ""
    approximate_quote_24h_volume: str = ""
    trading_disabled: bool = False
    is_disabled: bool = False
    cancel_only: bool = False
    view_only: bool = False
    auction_mode: bool = False
    alias: str = ""
    product_venue: str = ""
    fcm_trading_session_details: _Session | None = None
    future_product_details: _FutureDetails | None = None


class _Products(msgspec.Struct):
    products: list[_Product]


_PRODUCTS = msgspec.json.Decoder(_Products)
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
    """The spot product of a unified spot instrument (``BTC/USD`` → ``BTC-USD``); a perpetual's
    product id (``BIP-20DEC30-CDE``) comes from the listing only."""
    inst = parse_instrument(instrument)
    if inst.is_perp:
        raise ValueError(f"coinbase: {instrument}: a futures product id comes from the listing (metadata), not the name")
    return f"{inst.base}-{inst.quote}"


def unified_instrument(native: str) -> str | None:
    parts = native.split("-")
    return f"{parts[0]}/{parts[1]}" if len(parts) == 2 else None


def _number(text: str | None, field: str, product: str) -> float:
    """A decimal string of the listing ("" and null: 0, not given)."""
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise MetadataError(f"coinbase: product {product}: {field} {text!r} is not a number") from None


def duration_hours(text: str | None) -> float:
    """A protobuf duration string (``"3600s"``) in hours; 0 when not given."""
    if not text:
        return 0.0
    if not text.endswith("s"):
        raise ValueError(f"not a duration: {text!r}")
    return float(text[:-1]) / 3600.0


def _decode_products(body: bytes, what: str) -> list[_Product]:
    try:
        return _PRODUCTS.decode(body).products
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MetadataError(f"coinbase: {what} is not Coinbase's products format: {exc}") from None


def _status(p: _Product) -> tuple[str, str]:
    """(normalised status, the venue's words for it) of one product."""
    session = p.fcm_trading_session_details
    words = [w for w in (p.status, *(f for f in ("trading_disabled", "is_disabled", "cancel_only", "view_only", "auction_mode")
                                     if getattr(p, f))) if w]
    if session is not None and session.session_state:
        words.append(session.session_state)
    word = ",".join(words)
    if p.status == "delisted":
        return DELISTED, word
    if p.trading_disabled or p.is_disabled or p.cancel_only or p.status not in ("online", ""):
        return HALTED, word
    if session is not None and not session.is_session_open:
        return HALTED, word
    if p.view_only or p.auction_mode:
        return PRELAUNCH, word
    return TRADING, word


def parse_spot_products(body: bytes) -> list[InstrumentMeta]:
    """Every spot product of the products listing (aliases left out: one book counts once)."""
    out = []
    for p in _decode_products(body, "GET " + SPOT_PRODUCTS):
        if p.product_type != "SPOT" or p.alias:
            continue
        base, quote = p.base_currency_id, p.quote_currency_id
        instrument = f"{base}/{quote}" if base and quote else unified_instrument(p.product_id)
        try:
            parse_instrument(instrument or "")
        except InstrumentError:
            continue  # currency codes our unified names cannot spell
        assert instrument is not None
        status, word = _status(p)
        out.append(InstrumentMeta(
            venue="coinbase", market="spot", native_symbol=p.product_id, instrument=instrument, status=status, venue_status=word,
            lot_size=_number(p.base_increment, "base_increment", p.product_id),
            tick_size=_number(p.price_increment or p.quote_increment, "price_increment", p.product_id),
            min_size=_number(p.base_min_size, "base_min_size", p.product_id),
            min_notional=_number(p.quote_min_size, "quote_min_size", p.product_id),
            quote_volume_24h=_number(p.approximate_quote_24h_volume, "approximate_quote_24h_volume", p.product_id),
            last_price=_number(p.price, "price", p.product_id),
        ))
    return out


def is_perp_style(p: _Product) -> bool:
    """A futures product that funds (the US nano perps) or says it is perpetual; not INTX."""
    d = p.future_product_details
    return (p.product_type == "FUTURE" and d is not None and p.product_venue != "INTX"
            and (bool(d.funding_interval) or d.contract_expiry_type == "PERPETUAL"))


def parse_perp_products(body: bytes) -> list[InstrumentMeta]:
    """Every perpetual-style futures product of the products listing, sizes in base units."""
    out = []
    for p in _decode_products(body, "GET " + FUTURE_PRODUCTS):
        if not is_perp_style(p):
            continue  # dated futures, INTX
        d = p.future_product_details
        assert d is not None
        size = _number(d.contract_size, "contract_size", p.product_id)
        instrument = f"{d.contract_root_unit}/{p.quote_currency_id}:{p.quote_currency_id}"
        try:
            parse_instrument(instrument)
            contract_scale(size)
            hours = duration_hours(d.funding_interval)
        except (InstrumentError, ValueError) as exc:
            raise MetadataError(f"coinbase: product {p.product_id}: {exc}") from None
        status, word = _status(p)
        out.append(InstrumentMeta(
            venue="coinbase", market="perp", native_symbol=p.product_id, instrument=instrument, status=status, venue_status=word,
            contract_size=size, lot_size=contracts_to_base(_number(p.base_increment, "base_increment", p.product_id), size),
            tick_size=_number(p.price_increment, "price_increment", p.product_id),
            min_size=contracts_to_base(_number(p.base_min_size, "base_min_size", p.product_id), size),
            min_notional=_number(p.quote_min_size, "quote_min_size", p.product_id), funding_interval_hours=hours,
            quote_volume_24h=_number(p.approximate_quote_24h_volume, "approximate_quote_24h_volume", p.product_id),
            last_price=_number(p.price, "price", p.product_id),
        ))
    return out


def _only_body(bodies: dict[str, list[bytes]], name: str) -> bytes:
    pages = bodies.get(name)
    if not pages:
        raise MetadataError(f"coinbase: no {name!r} response (got {', '.join(bodies) or 'none'})")
    return pages[0]


class Coinbase(Venue):
    """Coinbase Advanced Trade spot; ``CoinbasePerp`` is the same feed for the US perp-style futures."""

    name = "coinbase"
    markets = ("spot",)
    subscription_limits: ClassVar[SubscriptionLimits] = LIMITS
    max_instruments_per_connection: ClassVar[int] = LIMITS.instruments_per_connection()
    max_messages_per_s = MESSAGES_PER_S * 0.75  # per IP, shared by every connection of the venue

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._seq: int | None = None

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return REST  # spot and futures share one host

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        return [RestRequest("GET", rest_base.rstrip("/") + SPOT_PRODUCTS, "products")]

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        return parse_spot_products(_only_body(bodies, "products"))

    def scale(self, product: str) -> Scale:
        """How this market's sizes of ``product`` become base units (``UNIT`` on spot)."""
        return UNIT

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
        meta = self.metadata.get(native_symbol)
        return meta.instrument if meta is not None else unified_instrument(native_symbol)

    def _sub(self, op: str, channel: str, products: list[str]) -> str:
        return msgspec.json.encode({"type": op, "product_ids": products, "channel": channel}).decode()

    def subscribe_messages(self) -> list[str]:
        """heartbeats once, then ``ticker`` and ``level2`` for up to 100 products per message."""
        products = self.subscribed_natives()
        out = [self._sub("subscribe", "heartbeats", products[:PRODUCTS_PER_MESSAGE])]
        for i in range(0, len(products), PRODUCTS_PER_MESSAGE):
            chunk = products[i : i + PRODUCTS_PER_MESSAGE]
            out += [self._sub("subscribe", channel, chunk) for channel in CHANNELS]
        return out

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        p = [self.native_of(instrument_id)]
        return [self._sub("unsubscribe", "level2", p), self._sub("subscribe", "level2", p)]

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        """One ``unsubscribe`` per product channel (the venue takes one channel a message);
        heartbeats stay: they are the connection's, not the product's."""
        p = [self.native_of(instrument_id)]
        return [self._sub("unsubscribe", channel, p) for channel in CHANNELS]

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
        mul, div = self.scale(t.product_id)
        return self.quote(iid, t.best_bid, bid_size * mul / div, t.best_ask, ask_size * mul / div, ts or recv_ts_ns, recv_ts_ns, seq)

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
        mul, div = self.scale(ev.product_id)
        for u in ev.updates:
            side, price, qty = u.side, u.price_level, u.new_quantity
            if not (0.0 < price < 1e300 and 0.0 <= qty < MAX_SIZE):
                out.append(self.invalidate(iid, f"bad level {price}/{qty}", recv_ts_ns))
                resyncs.append(iid)
                return
            if side == "bid":
                book.set_bid(price, qty * mul / div)
            elif side == "offer" or side == "ask":
                book.set_ask(price, qty * mul / div)
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
            if not (book.apply_bids(b.bids) and book.apply_asks(b.asks)):
                return self.resync(iid, "bad level in snapshot", recv_ts_ns)
        else:
            if not book.valid:
                return NOTHING
            for side, p, q in b.changes:
                if not valid_level(p, q):
                    return self.resync(iid, f"bad level {p}/{q}", recv_ts_ns)
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


class _Funding(msgspec.Struct):
    funding_rate: str | None = None
    funding_interval: str | None = None
    funding_time: str | None = None


class _FundingProduct(msgspec.Struct):
    product_id: str
    future_product_details: _Funding | None = None


class _FundingProducts(msgspec.Struct):
    products: list[_FundingProduct]


_FUNDING = msgspec.json.Decoder(_FundingProducts)


class CoinbasePerp(Coinbase):
    """Coinbase's US perpetual-style futures (nano perps) on the Advanced Trade feed.

    Sizes are contracts of each product's ``contract_size``; the funding rate is on no channel,
    so the session polls the futures listing (``poll_requests``, every ``poll_interval_s``) and
    ``on_poll`` turns each subscribed product's ``future_product_details`` into a ``Funding``
    (``funding_rate`` per ``funding_interval``, ``funding_time`` the time it applies to)::

        {"products":[{"product_id":"BIP-20DEC30-CDE", …, "future_product_details":{"funding_rate":"0.000013",
         "funding_interval":"3600s","funding_time":"2026-04-07T00:00:00Z", …}}]}
    """

    markets = ("perp",)
    sizes_in_contracts = True
    poll_interval_s: ClassVar[float] = 60.0  # the rate accrues hourly; a minute is fresh enough, 1 request

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._scales: dict[str, Scale] = {}  # product -> contract scale, filled on first use

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        return [RestRequest("GET", rest_base.rstrip("/") + FUTURE_PRODUCTS, "products")]

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        return parse_perp_products(_only_body(bodies, "products"))

    def native_symbol(self, instrument: str) -> str:
        for meta in self.metadata.values():
            if meta.instrument == instrument:
                return meta.native_symbol
        raise ValueError(f"coinbase perp: no product id for {instrument}: futures product ids come from the listing (metadata)")

    def unified_instrument(self, native_symbol: str) -> str | None:
        meta = self.metadata.get(native_symbol)
        return meta.instrument if meta is not None else None  # BIP-20DEC30-CDE names no currency

    def scale(self, product: str) -> Scale:
        scale = self._scales.get(product)
        if scale is None:
            scale = self._scales[product] = contract_scale(self.contract_size(product))  # FrameError: no metadata
        return scale

    def poll_requests(self) -> list[RestRequest]:
        return [RestRequest("GET", self.rest_endpoint() + FUTURE_PRODUCTS, "funding")]

    def on_poll(self, request: RestRequest, body: bytes, recv_ts_ns: int) -> Parsed:
        """One ``Funding`` per subscribed product with a rate in the futures listing."""
        try:
            products = _FUNDING.decode(body).products
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise FrameError(f"coinbase perp: bad futures listing: {exc}") from None
        out: list[MarketEvent] = []
        for p in products:
            d = p.future_product_details
            iid = self._native.get(p.product_id)
            if d is None or not d.funding_rate or iid is None:
                continue  # dated futures, products not subscribed
            try:
                rate = float(d.funding_rate)
                hours = duration_hours(d.funding_interval)
            except ValueError:
                raise FrameError(f"coinbase perp: {p.product_id}: bad funding {d.funding_rate!r} per {d.funding_interval!r}") from None
            if not -1.0 < rate < 1.0:
                raise FrameError(f"coinbase perp: absurd funding rate {rate} for {p.product_id}")
            if hours <= 0.0:
                meta = self.metadata.get(p.product_id)
                hours = meta.funding_interval_hours if meta is not None else 0.0
                if hours <= 0.0:
                    raise FrameError(f"coinbase perp: funding period of {p.product_id} unknown")
            when = iso_to_ns(d.funding_time or "")
            out.append(self.funding(iid, rate, hours, when if when > recv_ts_ns else 0, recv_ts_ns, recv_ts_ns))
        return Parsed(tuple(out)) if out else NOTHING


INFO = VenueInfo(
    name=Coinbase.name,
    markets={"spot": Coinbase, "perp": CoinbasePerp},
    # perp (approx.): Coinbase Financial Markets' base-tier futures taker fee is quoted at 0.05-0.10 % of
    # notional (kdj.com summaries of the fee page, 2025; the official schedule was not found) plus a
    # fixed fee per contract; 10 bps is the upper end, so an edge that clears it is real.
    taker_fee_bps={"spot": 120.0, "perp": 10.0},
    ccxt_id="coinbase",
    demo_instruments=(*(f"{b}/USD" for b in DEMO_BASES), "USDT/USD"),
    funding_interval_h=1.0,
)
