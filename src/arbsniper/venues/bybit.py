"""Bybit v5 public WebSocket, spot and linear: orderbook.1 BBO, orderbook.50 L2, tickers funding; REST listing.

Endpoints ``wss://stream.bybit.com/v5/public/spot`` and ``…/v5/public/linear``; REST
``https://api.bybit.com`` for both. Subscribe
``{"req_id":"1","op":"subscribe","args":["orderbook.1.BTCUSDT", …]}`` →
``{"success":true,"ret_msg":"subscribe","conn_id":"…","req_id":"1","op":"subscribe"}``; Bybit
refuses with the same ack, ``"success":false``: ``"ret_msg":"Invalid topic: …"``, or on spot
``"ret_msg":"args size >10"`` for more than 10 args in one request (the venue's words, quoted in
nautilus_trader#1793 and rust-bybit#24).

Messages read::

    {"topic":"orderbook.1.BTCUSDT","type":"snapshot"|"delta","ts":1680673820717,
     "data":{"s":"BTCUSDT","b":[["28552.00","0.047"]],"a":[["28552.10","25.433"]],"u":7003305,"seq":50193540681}}
    {"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","cs":…,"ts":…,"data":{"symbol":"BTCUSDT",
     "bid1Price":…,"bid1Size":…,"ask1Price":…,"ask1Size":…,"fundingRate":"0.0001","nextFundingTime":"…",
     "fundingIntervalHour":"8"}}                        (linear; a delta only carries what changed)
    {"success":true,"ret_msg":"pong","conn_id":"…","op":"ping"}

Sizes (book levels, ``bid1Size``, ``qtyStep``, ``minOrderQty``) are base-coin units on spot and
linear alike (a linear contract is one base unit; the listing has no contract-size field).
Funding: a ticker's ``fundingIntervalHour`` when it carries one, else the listing's
``fundingInterval`` (minutes), else unknown (0).

REST listing (``metadata_requests``)::

    GET /v5/market/instruments-info?category=spot          (not paginated: limit/cursor invalid)
        {"retCode":0,"retMsg":"OK","result":{"category":"spot","list":[{"symbol":"BTCUSDT",
         "baseCoin":"BTC","quoteCoin":"USDT","status":"Trading","lotSizeFilter":{"basePrecision":
         "0.000001","minOrderQty":"0.000011","minOrderAmt":"5",…},"priceFilter":{"tickSize":"0.1"}}]}}
    GET /v5/market/instruments-info?category=linear&limit=1000   (paginated: result.nextPageCursor,
        passed back as ``cursor``; "" on the last page)
        {…"list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading",
         "baseCoin":"BTC","quoteCoin":"USDT","settleCoin":"USDT","priceFilter":{"tickSize":"0.10"},
         "lotSizeFilter":{"qtyStep":"0.001","minOrderQty":"0.001","minNotionalValue":"5",…},
         "fundingInterval":480}],"nextPageCursor":"first%3DBIOUSDT%26last%3DBIOUSDT"}}
    GET /v5/market/tickers?category=spot|linear
        {…"list":[{"symbol":"BTCUSDT","lastPrice":"20533.13","turnover24h":"243765620.65",…}]}

``fundingInterval`` is in MINUTES (480 = 8 h); ``turnover24h`` is the 24 h volume in the quote
currency. Status words: Trading, PreLaunch, Delivering, Closed; without a ``status`` filter Bybit
lists only Trading instruments, so one missing from a refresh is no longer trading. Spot
``minOrderQty`` is deprecated (the venue checks ``minOrderAmt``); we still report it.

Book rules: a snapshot replaces the book (``u == 1`` after a service restart is a snapshot too);
each delta's ``u`` must be the previous ``u + 1``; size "0" deletes. Bybit has no REST merge
for these topics: on a gap the instrument's topics are resubscribed for a fresh snapshot.
Level-1 books re-push a snapshot after 3 s without change.

Limits (Bybit docs "Connect"): spot at most 10 args per subscribe request; the args of one public
connection at most 21,000 characters; at most 500 connections per 5 minutes per IP. No client
message rate is documented for public channels.

Heartbeat: send ``{"req_id":"ping","op":"ping"}`` every 20 s; the server cuts a connection after
10 minutes without ping or data.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.model import MarketEvent
from arbsniper.venues.base import DEMO_BASES, NOTHING, PONG, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import valid_level
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

PUBLIC_WS = "wss://stream.bybit.com"
REST = "https://api.bybit.com"
SPOT_QUOTES = ("USDT", "USDC", "BTC", "ETH", "EUR", "BRL", "DAI", "MNT", "TRY", "PLN")
CATEGORY = {"spot": "spot", "perp": "linear"}

STATUS = {"Trading": TRADING, "PreLaunch": PRELAUNCH, "Delivering": DELISTED, "Closed": DELISTED}

PACING = 0.8  # client messages are sent at this share of the venue's rate limit
ARGS_CHARS_PER_CONNECTION = 21_000  # "length of args array" of one public connection
TOPIC_CHARS = 36  # a long topic as it sits in the args array: "orderbook.50." + 20-char symbol + quotes, comma

Level = tuple[float, float]


class _Envelope(msgspec.Struct):
    topic: str | None = None
    type: str | None = None
    ts: int = 0
    cs: int = 0
    data: msgspec.Raw = msgspec.Raw()
    op: str | None = None
    success: bool | None = None
    ret_msg: str | None = None


class _Book(msgspec.Struct):
    s: str
    b: list[Level]
    a: list[Level]
    u: int
    seq: int = 0


class _Ticker(msgspec.Struct):
    symbol: str
    bid1Price: float | None = None
    bid1Size: float | None = None
    ask1Price: float | None = None
    ask1Size: float | None = None
    fundingRate: float | str | None = None
    nextFundingTime: int | str | None = None
    fundingIntervalHour: float | None = None


# ---- REST listing shapes (cold path) ----------------------------------------------------------


class _LotSize(msgspec.Struct):
    basePrecision: str = ""  # spot: the quantity step
    minOrderQty: str = ""
    minOrderAmt: str = ""  # spot: min notional (quote)
    qtyStep: str = ""  # linear
    minNotionalValue: str = ""  # linear: min notional (quote)


class _PriceFilter(msgspec.Struct):
    tickSize: str = ""


class _Instrument(msgspec.Struct):
    symbol: str
    status: str
    baseCoin: str
    quoteCoin: str
    lotSizeFilter: _LotSize = msgspec.field(default_factory=_LotSize)
    priceFilter: _PriceFilter = msgspec.field(default_factory=_PriceFilter)
    contractType: str = ""  # linear: LinearPerpetual, LinearFutures
    settleCoin: str = ""
    fundingInterval: int = 0  # minutes


class _InstrumentPage(msgspec.Struct):
    items: list[_Instrument] = msgspec.field(name="list")
    nextPageCursor: str = ""


class _TickerRow(msgspec.Struct):
    symbol: str
    lastPrice: str = ""
    turnover24h: str = ""


class _TickerPage(msgspec.Struct):
    items: list[_TickerRow] = msgspec.field(name="list")


class _Answer(msgspec.Struct):
    retCode: int
    retMsg: str = ""
    result: msgspec.Raw = msgspec.Raw()


class _Cursor(msgspec.Struct):
    nextPageCursor: str = ""


_env = msgspec.json.Decoder(_Envelope)
_book = msgspec.json.Decoder(_Book, strict=False)
_ticker = msgspec.json.Decoder(_Ticker, strict=False)
_answer = msgspec.json.Decoder(_Answer)
_instrument_page = msgspec.json.Decoder(_InstrumentPage)
_ticker_page = msgspec.json.Decoder(_TickerPage)
_cursor = msgspec.json.Decoder(_Cursor)


def native_symbol(instrument: str) -> str:
    """``BTC/USDT`` and ``BTC/USDT:USDT`` → ``BTCUSDT``; ``BTC/USDC:USDC`` → ``BTCPERP``."""
    inst = parse_instrument(instrument)
    if inst.is_perp and inst.quote == "USDC" and inst.settle == "USDC":
        return f"{inst.base}PERP"
    return inst.base + inst.quote


def unified_instrument(native: str, perp: bool) -> str | None:
    if "-" in native:
        return None  # dated futures (BTC-26DEC25) and options
    if not perp:
        for q in SPOT_QUOTES:
            if native.endswith(q) and len(native) > len(q):
                return f"{native[: -len(q)]}/{q}"
        return None
    if native.endswith("PERP"):
        return f"{native[:-4]}/USDC:USDC"
    for q in ("USDT", "USDC"):
        if native.endswith(q):
            return f"{native[: -len(q)]}/{q}:{q}"
    if native.endswith("USD"):
        return f"{native[:-3]}/USD:{native[:-3]}"  # inverse perpetual
    return None  # inverse dated futures (BTCUSDU23)


def _number(text: str, what: str) -> float:
    """A decimal string of the listing as a float; "" is 0 (not given); MetadataError otherwise."""
    if not text:
        return 0.0
    try:
        x = float(text)
    except ValueError:
        raise MetadataError(f"bybit: {what} {text!r} is not a number") from None
    if not math.isfinite(x) or x < 0.0:
        raise MetadataError(f"bybit: {what} {text!r} is not a finite non-negative number")
    return x


def _result(body: bytes, decoder: msgspec.json.Decoder[Any], what: str) -> Any:
    """The ``result`` of a v5 answer; MetadataError on a refusal (``retCode`` ≠ 0) or another shape."""
    try:
        answer = _answer.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MetadataError(f"bybit: {what} is not a v5 answer: {exc}") from None
    if answer.retCode != 0:
        raise MetadataError(f"bybit: {what}: venue error {answer.retCode}: {answer.retMsg}")
    try:
        return decoder.decode(answer.result)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MetadataError(f"bybit: {what} is not the listing format: {exc}") from None


class _Level1:
    __slots__ = ("u", "bid", "ask")

    def __init__(self) -> None:
        self.u = 0
        self.bid: Level | None = None
        self.ask: Level | None = None


class _TickerState:
    __slots__ = ("bid", "bid_size", "ask", "ask_size", "rate", "next_ms", "interval_h")

    def __init__(self, interval_h: float) -> None:
        self.bid = self.bid_size = self.ask = self.ask_size = 0.0
        self.rate: float | None = None
        self.next_ms = 0
        self.interval_h = interval_h


class Bybit(Venue):
    """What Bybit spot and linear share; ``Bybit(market, …)`` builds ``BybitSpot`` or ``BybitLinear``."""

    name = "bybit"
    markets: ClassVar[tuple[str, ...]] = ("spot", "perp")
    book_topic_depth: ClassVar[int] = 50

    def __new__(cls, market: str, *args: object, **kwargs: object) -> Bybit:
        if cls is Bybit:
            cls = BybitLinear if market == "perp" else BybitSpot
        return super().__new__(cls)

    def __init__(self, *args: object, **kwargs: object) -> None:
        # Filled by ``_register`` (called from ``Venue.__init__``), once per instrument.
        self._scale: dict[int, float] = {}
        self._funding_h: dict[int, float] = {}
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.category = CATEGORY[self.market]
        self._l1: dict[int, _Level1] = {}
        self._tickers: dict[int, _TickerState] = {}
        self._req = 0

    # ---- the listing (class level: read before any connection) -----------------------------

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return REST

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        base = rest_base.replace("{market}", market).rstrip("/")
        category = CATEGORY[market]
        limit = "&limit=1000" if market == "perp" else ""  # spot: one page, limit and cursor invalid
        return [
            RestRequest("GET", f"{base}/v5/market/instruments-info?category={category}{limit}", "instruments"),
            RestRequest("GET", f"{base}/v5/market/tickers?category={category}", "tickers"),
        ]

    @classmethod
    def next_page(cls, market: str, request: RestRequest, body: bytes) -> RestRequest | None:
        """The next page of linear ``instruments-info``: ``cursor`` = this page's ``nextPageCursor``."""
        if request.name != "instruments" or market != "perp":
            return None
        cursor = _result(body, _cursor, f"{CATEGORY[market]} instruments-info").nextPageCursor
        parts = urlsplit(request.url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "cursor"]
        if not cursor or (cursor == dict(parse_qsl(parts.query)).get("cursor")):
            return None  # the last page (or a venue repeating itself: stop rather than loop)
        url = urlunsplit(parts._replace(query=urlencode([*query, ("cursor", cursor)])))
        return RestRequest(request.method, url, request.name, request.body)

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        """One record per spot pair or linear perpetual (dated LinearFutures left out), every page read."""
        perp = market == "perp"
        category = CATEGORY[market]
        pages = bodies.get("instruments")
        if not pages:
            raise MetadataError(f"bybit: no {category} instruments-info response (request 'instruments')")
        tickers = bodies.get("tickers")
        if not tickers:
            raise MetadataError(f"bybit: no {category} tickers response (request 'tickers')")
        by_symbol: dict[str, _TickerRow] = {}
        for body in tickers:
            by_symbol.update((t.symbol, t) for t in _result(body, _ticker_page, f"{category} tickers").items)
        out: list[InstrumentMeta] = []
        seen: set[str] = set()
        for body in pages:
            for i in _result(body, _instrument_page, f"{category} instruments-info").items:
                if i.symbol in seen:
                    continue
                seen.add(i.symbol)
                if perp:
                    if i.contractType != "LinearPerpetual" or i.settleCoin != i.quoteCoin:
                        continue
                    instrument = f"{i.baseCoin}/{i.quoteCoin}:{i.settleCoin}"
                else:
                    instrument = f"{i.baseCoin}/{i.quoteCoin}"
                try:
                    parse_instrument(instrument)
                except InstrumentError:
                    continue  # a coin code we cannot name: no unified instrument
                lot, what = i.lotSizeFilter, f"{category} {i.symbol}"
                ticker = by_symbol.get(i.symbol)
                out.append(InstrumentMeta(
                    venue=cls.name, market=market, native_symbol=i.symbol, instrument=instrument,
                    status=STATUS.get(i.status, HALTED), venue_status=i.status, contract_size=1.0,
                    lot_size=_number(lot.qtyStep if perp else lot.basePrecision, f"{what} {'qtyStep' if perp else 'basePrecision'}"),
                    min_size=_number(lot.minOrderQty, f"{what} minOrderQty"),
                    tick_size=_number(i.priceFilter.tickSize, f"{what} tickSize"),
                    min_notional=_number(lot.minNotionalValue if perp else lot.minOrderAmt, f"{what} min notional"),
                    funding_interval_hours=i.fundingInterval / 60.0 if perp else 0.0,
                    quote_volume_24h=_number(ticker.turnover24h, f"{what} turnover24h") if ticker else 0.0,
                    last_price=_number(ticker.lastPrice, f"{what} lastPrice") if ticker else 0.0,
                ))
        return out

    # ---- protocol facts ---------------------------------------------------------------------

    def heartbeat(self) -> Heartbeat:
        return Heartbeat("json", 20.0, 30.0, '{"req_id":"ping","op":"ping"}')

    def ws_url(self) -> str:
        return f"{self.base_url or PUBLIC_WS}/v5/public/{self.category}"

    def rest_endpoint(self) -> str:
        return self.rest_url or REST

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        meta = self.metadata.get(native_symbol)
        if meta is not None:
            return meta.instrument
        return unified_instrument(native_symbol, self.kind == 1)

    def _register(self, native: str, instrument: str) -> int:
        iid = super()._register(native, instrument)
        meta = self.metadata.get(native)
        if meta is not None:
            if meta.contract_size != 1.0:
                self._scale[iid] = meta.contract_size
            if meta.funding_interval_hours > 0.0:
                self._funding_h[iid] = meta.funding_interval_hours
        return iid

    def _topics(self, native: str) -> list[str]:
        topics = [f"orderbook.1.{native}", f"orderbook.{self.book_topic_depth}.{native}"]
        if self.kind:
            topics.append(f"tickers.{native}")
        return topics

    def _request(self, op: str, args: list[str]) -> str:
        self._req += 1
        return msgspec.json.encode({"req_id": str(self._req), "op": op, "args": args}).decode()

    def subscribe_messages(self) -> list[str]:
        """Subscribe requests of at most ``max_args_per_request`` topics each."""
        most = self.subscription_limits.max_args_per_request
        topics = [t for native in self.subscribed_natives() for t in self._topics(native)]
        return [self._request("subscribe", topics[i : i + most]) for i in range(0, len(topics), most)]

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        return [self._request("unsubscribe", self._topics(self.native_of(instrument_id)))]

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        native = self.native_of(instrument_id)
        topics = [f"orderbook.1.{native}", f"orderbook.{self.book_topic_depth}.{native}"]
        return [self._request("unsubscribe", topics), self._request("subscribe", topics)]

    def on_connected(self, recv_ts_ns: int) -> Parsed:
        self._l1.clear()
        self._tickers.clear()
        return super().on_connected(recv_ts_ns)

    # ---- parsing ------------------------------------------------------------------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        try:
            env = _env.decode(frame)
            topic = env.topic
            if topic is None:
                if env.op == "ping" or env.op == "pong" or env.ret_msg == "pong":
                    return PONG
                if env.success is True:
                    return NOTHING  # subscribe / unsubscribe ack
                if env.success is False:
                    raise FrameError(f"bybit: {env.op} failed: {env.ret_msg}")
                raise FrameError("bybit: frame has no topic and is not an ack")
            if not env.data:
                raise FrameError(f"bybit: {topic}: no data")
            if topic.startswith("orderbook."):
                depth = topic[10 : topic.index(".", 10)]
                return self._on_book(depth == "1", env, _book.decode(env.data), recv_ts_ns)
            if topic.startswith("tickers."):
                return self._on_ticker(env, _ticker.decode(env.data), recv_ts_ns)
            return NOTHING  # trades and other topics carry nothing we use
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
            if isinstance(exc, FrameError):
                raise
            raise FrameError(f"bybit: {exc}") from None

    def _on_book(self, level1: bool, env: _Envelope, d: _Book, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(d.s)
        if iid is None:
            return NOTHING
        if level1:
            return self._on_level1(iid, env, d, recv_ts_ns)
        book = self.book(iid)
        if env.type == "snapshot":
            book.clear()
        elif not book.valid:
            return NOTHING  # a delta before the (re)subscription's snapshot
        elif d.u != book.seq + 1:
            self._l1.pop(iid, None)
            return self.resync(iid, f"update-id gap: u={d.u} after {book.seq} on {env.topic}", recv_ts_ns)
        scale = self._scale.get(iid, 1.0) if self._scale else 1.0
        if not (book.apply_bids(d.b, scale) and book.apply_asks(d.a, scale)):
            self._l1.pop(iid, None)
            return self.resync(iid, f"bad level (price not finite and > 0, or size not finite and >= 0) on {env.topic}", recv_ts_ns)
        book.seq = d.u
        if book.is_crossed():
            self._l1.pop(iid, None)
            return self.resync(iid, f"crossed book on {env.topic}", recv_ts_ns)
        event = self.book_event(iid, book, env.ts * 1_000_000, recv_ts_ns, d.seq)
        if not book.valid:
            book.valid = True
            return Parsed((self.synced(iid, recv_ts_ns), event))
        return Parsed((event,))

    def _on_level1(self, iid: int, env: _Envelope, d: _Book, recv_ts_ns: int) -> Parsed:
        """orderbook.1: a one-level book per side, kept as two tuples (no sorted map needed)."""
        st = self._l1.get(iid)
        if env.type == "snapshot":
            st = self._l1[iid] = _Level1()
        elif st is None:
            return NOTHING  # a delta before the (re)subscription's snapshot
        elif d.u != st.u + 1:
            del self._l1[iid]
            return self.resync(iid, f"update-id gap: u={d.u} after {st.u} on {env.topic}", recv_ts_ns)
        st.u = d.u
        for p, q in itertools.chain(d.b, d.a):
            if not valid_level(p, q):
                del self._l1[iid]
                return self.resync(iid, f"bad level {p}/{q} on {env.topic}", recv_ts_ns)
        for p, q in d.b:
            if q == 0.0:
                if st.bid is not None and st.bid[0] == p:
                    st.bid = None
            else:
                st.bid = (p, q)
        for p, q in d.a:
            if q == 0.0:
                if st.ask is not None and st.ask[0] == p:
                    st.ask = None
            else:
                st.ask = (p, q)
        bid, ask = st.bid, st.ask
        if bid is None or ask is None:
            return NOTHING
        bid_size, ask_size = bid[1], ask[1]
        if self._scale:
            scale = self._scale.get(iid)
            if scale is not None:
                bid_size *= scale
                ask_size *= scale
        return Parsed((self.quote(iid, bid[0], bid_size, ask[0], ask_size, env.ts * 1_000_000, recv_ts_ns, d.seq),))

    def _on_ticker(self, env: _Envelope, t: _Ticker, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(t.symbol)
        if iid is None:
            return NOTHING
        st = self._tickers.get(iid)
        if st is None or env.type == "snapshot":
            st = self._tickers[iid] = _TickerState(self._funding_h.get(iid, 0.0))
        # A delta carries only the fields that changed: merge into the last snapshot.
        if t.bid1Price is not None:
            st.bid = t.bid1Price
        scale = self._scale.get(iid, 1.0) if self._scale else 1.0
        if t.bid1Size is not None:
            st.bid_size = t.bid1Size * scale
        if t.ask1Price is not None:
            st.ask = t.ask1Price
        if t.ask1Size is not None:
            st.ask_size = t.ask1Size * scale
        funding_changed = False
        if t.fundingRate not in (None, ""):
            st.rate = float(t.fundingRate)  # type: ignore[arg-type]
            funding_changed = True
        if t.nextFundingTime not in (None, ""):
            st.next_ms = int(t.nextFundingTime)  # type: ignore[arg-type]
            funding_changed = True
        if t.fundingIntervalHour:
            st.interval_h = t.fundingIntervalHour  # the frame's own interval beats the listing's
        ts = env.ts * 1_000_000
        out: list[MarketEvent] = []
        if (t.bid1Price is not None or t.ask1Price is not None) and st.bid and st.ask:
            out.append(self.quote(iid, st.bid, st.bid_size, st.ask, st.ask_size, ts, recv_ts_ns, env.cs))
        if funding_changed and st.rate is not None:
            out.append(self.funding(iid, st.rate, st.interval_h, st.next_ms * 1_000_000, ts, recv_ts_ns))
        return Parsed(tuple(out)) if out else NOTHING



_STREAMS_PER_CONNECTION = ARGS_CHARS_PER_CONNECTION // TOPIC_CHARS  # 583 topics of the longest kind


class BybitSpot(Bybit):
    """Bybit spot (``/v5/public/spot``): 10 args per subscribe request."""

    markets = ("spot",)
    subscription_limits: ClassVar[SubscriptionLimits] = SubscriptionLimits(
        streams_per_instrument=2,  # orderbook.1, orderbook.50
        max_streams_per_connection=_STREAMS_PER_CONNECTION,
        max_args_per_request=10,  # more: {"success":false,"ret_msg":"args size >10"}
        max_requests_per_s=10.0,  # none documented for public channels: our pacing
        max_connections=500,  # per 5 minutes per IP (per WebSocket domain)
    )
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()
    max_messages_per_s = subscription_limits.max_requests_per_s * PACING


class BybitLinear(Bybit):
    """Bybit USDT/USDC linear perpetuals (``/v5/public/linear``): no documented args limit per request."""

    markets = ("perp",)
    subscription_limits: ClassVar[SubscriptionLimits] = SubscriptionLimits(
        streams_per_instrument=3,  # orderbook.1, orderbook.50, tickers
        max_streams_per_connection=_STREAMS_PER_CONNECTION,
        max_args_per_request=100,  # "no args limit for Futures": ours, to keep requests small
        max_requests_per_s=10.0,
        max_connections=500,
    )
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()
    max_messages_per_s = subscription_limits.max_requests_per_s * PACING


INFO = VenueInfo(
    name=Bybit.name,
    markets={"spot": BybitSpot, "perp": BybitLinear},
    taker_fee_bps={"spot": 10.0, "perp": 5.5},
    ccxt_id="bybit",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES)),
)
