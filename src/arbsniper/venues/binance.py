"""Binance spot and USD-M perpetuals: bookTicker BBO, diff depth + REST snapshot, REST listing.

WebSocket endpoints: spot ``wss://stream.binance.com:9443/stream`` (REST ``https://api.binance.com``);
USD-M ``wss://fstream.binance.com/public/stream`` (REST ``https://fapi.binance.com``). Since
2026-04-23 Binance routes USD-M streams by tier (announcement 2026-03-06, "Important WebSocket
Change Notice"): ``/public`` carries the high-frequency ``@bookTicker`` and ``@depth``,
``/market`` carries ``@markPrice`` and the rest, and the legacy unrouted ``/ws`` and ``/stream``
still acknowledge a subscription but deliver no ``/market``-tier data. So USD-M connects to
``/public`` only and reads funding from REST ``GET /fapi/v1/premiumIndex``, polled
(``poll_requests``); the ``@markPrice`` parser stays for recordings and ``/market`` frames.

We connect to the combined-stream endpoint and send ``SUBSCRIBE`` frames, so events arrive
wrapped; raw streams (``/ws/<stream>``) send the same payloads without the wrapper, and the
parser takes both (2026: a spot raw ``bookTicker`` has no ``e`` field at all)::

    {"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35190000",
     "B":"31.21000000","a":"25.36520000","A":"40.66000000"}}                      (spot BBO)
    {"u":400900217,"s":"BTCUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000",
     "A":"40.66000000"}                                              (the same, raw stream)
    {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":600859600576,"s":"BTCUSDT",
     "b":"7.6110","B":"2","a":"7.6120","A":"297","T":1626992741012,"E":1626992741017}}  (USD-M)
    {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":…,"s":"BTCUSDT","U":157,
     "u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}            (USD-M adds "T","pu")
    {"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":…,"s":"BTCUSDT",
     "p":"11794.15","r":"0.00038167","T":1562306400000}}          (USD-M funding, /market tier)
    {"result":null,"id":1}                                                   (subscribe ack)
    {"error":{"code":4,"msg":"Too many subscriptions"},"id":19}     (refused: over 1024 streams)
    {"e":"serverShutdown","E":1770123456789}                              (reconnect now)

Sizes (``B``, ``A``, depth quantities, ``LOT_SIZE``) are base-asset units on both markets:
USD-M linear contracts are one base unit each (exchangeInfo has no contract-size field).

REST listing (``metadata_requests``; none of it is paginated)::

    GET /api/v3/exchangeInfo   (spot)  {"symbols":[{"symbol":"BTCUSDT","status":"TRADING",
        "baseAsset":"BTC","quoteAsset":"USDT","filters":[{"filterType":"PRICE_FILTER",
        "tickSize":"0.01000000"},{"filterType":"LOT_SIZE","minQty":"0.00001000",
        "stepSize":"0.00001000"},{"filterType":"NOTIONAL","minNotional":"5.00000000"}]}]}
        (before 2023 the last filter was MIN_NOTIONAL {"minNotional":…}: both are read)
    GET /fapi/v1/exchangeInfo  (USD-M) the same with "contractType":"PERPETUAL",
        "marginAsset":"USDT" and {"filterType":"MIN_NOTIONAL","notional":"10"}
    GET /fapi/v1/fundingInfo   [{"symbol":"BLZUSDT","fundingIntervalHours":4,…}]
        (only symbols whose funding was adjusted; a symbol not listed funds every 8 h)
    GET /api/v3/ticker/24hr?type=MINI, GET /fapi/v1/ticker/24hr
        [{"symbol":"BTCUSDT","lastPrice":"26221.67","quoteVolume":"485217905.04",…}]

Status words: spot TRADING, PRE_TRADING, HALT, AUCTION_MATCH, POST_TRADING, END_OF_DAY, BREAK
(delisted pairs stay listed as BREAK); USD-M TRADING, PENDING_TRADING, PRE_SETTLE, SETTLING,
PRE_DELIVERING, DELIVERING, DELIVERED, CLOSE.

Limits (Binance docs "WebSocket Limits"): 1024 streams per connection; incoming messages
(pings, pongs, JSON requests) spot 5/s, USD-M 10/s, beyond which the connection is closed;
300 connection attempts per 5 minutes per IP (spot). A ``SUBSCRIBE`` frame over 4096 bytes is
silently ignored (binance-connector-rust#27), so batches stay under that too.

Heartbeat: the server pings (spot every 20 s, USD-M every 3 min); we pong with the payload.
Connections live 24 h.

Local book rules differ between the two markets (Binance docs, "How to manage a local order book"):
- spot: drop events with ``u <=`` the book's last id; an event with ``U`` beyond the last id + 1
  is a gap: resync (``book.continuity``, the rule KuCoin shares); so the first kept event after
  a snapshot straddles ``lastUpdateId + 1``;
- USD-M: drop events with ``u < lastUpdateId``; the first kept event has
  ``U <= lastUpdateId <= u``; then every event's ``pu`` must equal the previous ``u``.
Depth events wait in a ``book.DeltaBuffer`` while the REST snapshot is on the way.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.model import MarketEvent
from arbsniper.venues.base import DEMO_BASES, NOTHING, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import APPLY, STALE, DeltaBuffer, L2Book, continuity
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

SPOT_WS = "wss://stream.binance.com:9443"
PERP_WS = "wss://fstream.binance.com"
SPOT_REST = "https://api.binance.com"
PERP_REST = "https://fapi.binance.com"

# Quote currencies Binance lists, longest first so "FDUSD" wins over "USD" (open mode only: with
# metadata the listing's own baseAsset / quoteAsset name the instrument).
_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "BIDR", "IDRT", "BTC", "ETH", "BNB", "EUR",
          "TRY", "BRL", "GBP", "AUD", "DAI", "USD", "JPY", "RUB", "UAH", "ZAR", "PLN", "RON", "ARS",
          "MXN", "COP", "CZK", "XRP", "TRX", "DOGE")
QUOTES: tuple[str, ...] = tuple(sorted(_QUOTES, key=len, reverse=True))

DEFAULT_FUNDING_INTERVAL_H = 8.0  # USD-M: a symbol absent from fundingInfo funds every 8 h (Binance docs)
PACING = 0.8  # client messages are sent at this share of the venue's rate limit
MAX_SUBSCRIBE_BYTES = 4000  # a SUBSCRIBE frame over 4096 bytes gets no answer at all

SPOT_STATUS = {
    "TRADING": TRADING, "PRE_TRADING": PRELAUNCH, "HALT": HALTED, "AUCTION_MATCH": HALTED,
    "POST_TRADING": HALTED, "END_OF_DAY": HALTED, "BREAK": DELISTED,
}
PERP_STATUS = {
    "TRADING": TRADING, "PENDING_TRADING": PRELAUNCH, "PRE_SETTLE": HALTED, "SETTLING": HALTED,
    "PRE_DELIVERING": HALTED, "DELIVERING": HALTED, "DELIVERED": DELISTED, "CLOSE": DELISTED,
}

Level = tuple[float, float]


class _Envelope(msgspec.Struct):
    stream: str | None = None
    data: msgspec.Raw = msgspec.Raw()
    e: str | None = None  # raw (unwrapped) events
    u: int | None = None  # a raw spot bookTicker: no "e", but an update id
    id: int | str | None = None
    code: int | None = None
    msg: str | None = None
    error: dict[str, object] | None = None


class _BookTicker(msgspec.Struct):
    u: int
    s: str
    b: float
    B: float
    a: float
    A: float
    E: int = 0
    T: int = 0


class _Depth(msgspec.Struct):
    s: str
    U: int
    u: int
    b: list[Level]
    a: list[Level]
    E: int = 0
    T: int = 0
    pu: int | None = None


class _MarkPrice(msgspec.Struct):
    s: str
    E: int = 0
    r: float | None = None
    T: int = 0


class _Snapshot(msgspec.Struct):
    lastUpdateId: int
    bids: list[Level]
    asks: list[Level]
    E: int = 0
    T: int = 0


class _PremiumIndex(msgspec.Struct):
    symbol: str
    lastFundingRate: str = ""
    nextFundingTime: int = 0
    time: int = 0


# ---- REST listing shapes (cold path) ----------------------------------------------------------


class _Filter(msgspec.Struct):
    filterType: str
    tickSize: str = ""
    stepSize: str = ""
    minQty: str = ""
    minNotional: str = ""  # spot NOTIONAL and the older spot MIN_NOTIONAL
    notional: str = ""  # USD-M MIN_NOTIONAL


class _Symbol(msgspec.Struct):
    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str
    filters: list[_Filter] = []
    contractType: str = ""  # USD-M
    marginAsset: str = ""  # USD-M


class _ExchangeInfo(msgspec.Struct):
    symbols: list[_Symbol]


class _FundingInfo(msgspec.Struct):
    symbol: str
    fundingIntervalHours: float = DEFAULT_FUNDING_INTERVAL_H


class _Ticker24h(msgspec.Struct):
    symbol: str
    lastPrice: str = ""
    quoteVolume: str = ""


class _ErrorBody(msgspec.Struct):
    code: int
    msg: str = ""


_env = msgspec.json.Decoder(_Envelope)
_ticker = msgspec.json.Decoder(_BookTicker, strict=False)
_depth = msgspec.json.Decoder(_Depth, strict=False)
_mark = msgspec.json.Decoder(_MarkPrice, strict=False)
_snapshot = msgspec.json.Decoder(_Snapshot, strict=False)
_premium = msgspec.json.Decoder(list[_PremiumIndex] | _PremiumIndex)
_exchange_info = msgspec.json.Decoder(_ExchangeInfo)
_funding_info = msgspec.json.Decoder(list[_FundingInfo])
_tickers_24h = msgspec.json.Decoder(list[_Ticker24h])
_error_body = msgspec.json.Decoder(_ErrorBody)


def native_symbol(instrument: str) -> str:
    """``BTC/USDT`` and ``BTC/USDT:USDT`` are both ``BTCUSDT`` (spot and USD-M endpoints differ)."""
    inst = parse_instrument(instrument)
    if inst.is_perp and inst.settle != inst.quote:
        raise ValueError(f"binance: {instrument} is not a USD-M (linear) perpetual")
    return inst.base + inst.quote


def split_symbol(native: str) -> tuple[str, str] | None:
    for q in QUOTES:
        if native.endswith(q) and len(native) > len(q):
            return native[: -len(q)], q
    return None


def _number(text: str, what: str) -> float:
    """A decimal string of the listing as a float; "" is 0 (not given); MetadataError otherwise."""
    if not text:
        return 0.0
    try:
        x = float(text)
    except ValueError:
        raise MetadataError(f"binance: {what} {text!r} is not a number") from None
    if not math.isfinite(x) or x < 0.0:
        raise MetadataError(f"binance: {what} {text!r} is not a finite non-negative number")
    return x


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes, what: str) -> Any:
    try:
        return decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        try:
            err = _error_body.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise MetadataError(f"binance: {what} is not the listing format: {exc}") from None
        raise MetadataError(f"binance: {what}: venue error {err.code}: {err.msg}") from None


def _body(bodies: dict[str, list[bytes]], name: str, what: str) -> bytes:
    pages = bodies.get(name)
    if not pages:
        raise MetadataError(f"binance: no {what} response (request {name!r})")
    return pages[0]


class Binance(Venue):
    """What Binance spot and USD-M share; ``Binance(market, …)`` builds ``BinanceSpot`` or ``BinanceUsdm``."""

    name = "binance"
    markets: ClassVar[tuple[str, ...]] = ("spot", "perp")
    lifetime_s: ClassVar[float] = 23.5 * 3600.0

    def __new__(cls, market: str, *args: object, **kwargs: object) -> Binance:
        if cls is Binance:
            cls = BinanceUsdm if market == "perp" else BinanceSpot
        return super().__new__(cls)

    def __init__(self, *args: object, **kwargs: object) -> None:
        # Filled by ``_register`` (called from ``Venue.__init__``), once per instrument: base units
        # per size unit where it is not 1, and the funding interval the listing gives.
        self._scale: dict[int, float] = {}
        self._funding_h: dict[int, float] = {}
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.perp = self.market == "perp"
        self._pending: DeltaBuffer[_Depth] = DeltaBuffer()
        self._first_after_snapshot: set[int] = set()
        self._sub_id = 0

    # ---- the listing (class level: read before any connection) -----------------------------

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return PERP_REST if market == "perp" else SPOT_REST

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        base = rest_base.replace("{market}", market).rstrip("/")
        if market == "perp":
            return [
                RestRequest("GET", base + "/fapi/v1/exchangeInfo", "exchangeInfo"),
                RestRequest("GET", base + "/fapi/v1/fundingInfo", "fundingInfo"),
                RestRequest("GET", base + "/fapi/v1/ticker/24hr", "ticker24hr"),
            ]
        return [
            RestRequest("GET", base + "/api/v3/exchangeInfo", "exchangeInfo"),
            RestRequest("GET", base + "/api/v3/ticker/24hr?type=MINI", "ticker24hr"),
        ]

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        """One record per spot pair or USD-M linear perpetual (dated and coin-margined left out)."""
        perp = market == "perp"
        where = "USD-M" if perp else "spot"
        info: _ExchangeInfo = _decode(_exchange_info, _body(bodies, "exchangeInfo", f"{where} exchangeInfo"), f"{where} exchangeInfo")
        tickers: list[_Ticker24h] = _decode(_tickers_24h, _body(bodies, "ticker24hr", f"{where} ticker/24hr"), f"{where} ticker/24hr")
        by_symbol = {t.symbol: t for t in tickers}
        intervals: dict[str, float] = {}
        if perp:
            funding: list[_FundingInfo] = _decode(_funding_info, _body(bodies, "fundingInfo", "fundingInfo"), "fundingInfo")
            intervals = {f.symbol: f.fundingIntervalHours for f in funding}
        statuses = PERP_STATUS if perp else SPOT_STATUS
        out: list[InstrumentMeta] = []
        for s in info.symbols:
            if perp:
                if s.contractType != "PERPETUAL" or s.marginAsset != s.quoteAsset:
                    continue  # dated (CURRENT_QUARTER …) or not settled in its quote currency
                instrument = f"{s.baseAsset}/{s.quoteAsset}:{s.marginAsset}"
            else:
                instrument = f"{s.baseAsset}/{s.quoteAsset}"
            try:
                parse_instrument(instrument)
            except InstrumentError:
                continue  # an asset code we cannot name (e.g. non-ASCII): no unified instrument
            filters = {f.filterType: f for f in s.filters}
            price, lot = filters.get("PRICE_FILTER"), filters.get("LOT_SIZE")
            notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL")
            what = f"{where} {s.symbol}"
            ticker = by_symbol.get(s.symbol)
            out.append(InstrumentMeta(
                venue=cls.name, market=market, native_symbol=s.symbol, instrument=instrument,
                status=statuses.get(s.status, HALTED), venue_status=s.status, contract_size=1.0,
                lot_size=_number(lot.stepSize, f"{what} LOT_SIZE.stepSize") if lot else 0.0,
                min_size=_number(lot.minQty, f"{what} LOT_SIZE.minQty") if lot else 0.0,
                tick_size=_number(price.tickSize, f"{what} PRICE_FILTER.tickSize") if price else 0.0,
                min_notional=_number(notional.minNotional or notional.notional, f"{what} min notional") if notional else 0.0,
                funding_interval_hours=intervals.get(s.symbol, DEFAULT_FUNDING_INTERVAL_H) if perp else 0.0,
                quote_volume_24h=_number(ticker.quoteVolume, f"{what} quoteVolume") if ticker else 0.0,
                last_price=_number(ticker.lastPrice, f"{what} lastPrice") if ticker else 0.0,
            ))
        return out

    # ---- protocol facts ---------------------------------------------------------------------

    def heartbeat(self) -> Heartbeat:
        # Server pings: spot every 20 s, USD-M every 3 min; bookTicker keeps frames coming far
        # more often, so a minute of silence means the socket is dead.
        return Heartbeat("server-ping", 180.0 if self.perp else 20.0, 60.0)

    def ws_url(self) -> str:
        if self.perp:
            return (self.base_url or PERP_WS) + "/public/stream"  # the high-frequency tier
        return (self.base_url or SPOT_WS) + "/stream"

    def rest_endpoint(self) -> str:
        return self.rest_url or (PERP_REST if self.perp else SPOT_REST)

    def streams(self) -> list[str]:
        out = []
        for native in self.subscribed_natives():
            s = native.lower()
            out += [f"{s}@bookTicker", f"{s}@depth@100ms"]
        return out

    def subscribe_messages(self) -> list[str]:
        """``SUBSCRIBE`` frames of at most ``max_args_per_request`` streams and 4000 bytes each."""
        most = self.subscription_limits.max_args_per_request
        msgs: list[str] = []
        batch: list[str] = []
        size = 0
        for stream in self.streams():
            if batch and (len(batch) == most or size + len(stream) + 3 > MAX_SUBSCRIBE_BYTES - 60):
                msgs.append(self._subscribe(batch))
                batch, size = [], 0
            batch.append(stream)
            size += len(stream) + 3  # quotes and comma
        if batch:
            msgs.append(self._subscribe(batch))
        return msgs

    def _subscribe(self, streams: list[str], method: str = "SUBSCRIBE") -> str:
        self._sub_id += 1
        return msgspec.json.encode({"method": method, "params": streams, "id": self._sub_id}).decode()

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        s = self.native_of(instrument_id).lower()
        return [self._subscribe([f"{s}@bookTicker", f"{s}@depth@100ms"], "UNSUBSCRIBE")]

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        meta = self.metadata.get(native_symbol)
        if meta is not None:
            return meta.instrument
        if "_" in native_symbol:  # dated USD-M futures (BTCUSDT_250627) are not perpetuals
            return None
        pair = split_symbol(native_symbol)
        if pair is None:
            return None
        base, quote = pair
        return f"{base}/{quote}:{quote}" if self.perp else f"{base}/{quote}"

    def snapshot_path(self, instrument_id: int) -> str | None:
        sym = self.native_of(instrument_id)
        return f"/fapi/v1/depth?symbol={sym}&limit=1000" if self.perp else f"/api/v3/depth?symbol={sym}&limit=1000"

    def _register(self, native: str, instrument: str) -> int:
        iid = super()._register(native, instrument)
        meta = self.metadata.get(native)
        if meta is not None:
            if meta.contract_size != 1.0:
                self._scale[iid] = meta.contract_size
            if meta.funding_interval_hours > 0.0:
                self._funding_h[iid] = meta.funding_interval_hours
        return iid

    # ---- parsing --------------------------------------------------------------------------

    def on_connected(self, recv_ts_ns: int) -> Parsed:
        self._pending.clear()
        self._first_after_snapshot.clear()
        return super().on_connected(recv_ts_ns)

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        try:
            env = _env.decode(frame)
            stream = env.stream
            if stream is not None and env.data:
                data = env.data
                if stream.endswith("@bookTicker"):
                    return self._on_ticker(_ticker.decode(data), recv_ts_ns)
                if "@depth" in stream:
                    return self._on_depth(_depth.decode(data), recv_ts_ns)
                if "@markPrice" in stream:
                    return self._on_mark(_mark.decode(data), recv_ts_ns)
                frame = data
                env = _env.decode(data)  # e.g. {"stream":"!serverShutdown","data":{"e":…}}
            e = env.e
            if e is not None:
                if e == "bookTicker":
                    return self._on_ticker(_ticker.decode(frame), recv_ts_ns)
                if e == "depthUpdate":
                    return self._on_depth(_depth.decode(frame), recv_ts_ns)
                if e == "markPriceUpdate":
                    return self._on_mark(_mark.decode(frame), recv_ts_ns)
                if e == "serverShutdown":
                    return _SHUTDOWN
                raise FrameError(f"binance: unexpected event type {e!r}")
            if env.u is not None:
                return self._on_ticker(_ticker.decode(frame), recv_ts_ns)  # raw spot bookTicker
            if env.code is not None or env.error is not None:
                raise FrameError(f"binance: error from venue: {env.error or {'code': env.code, 'msg': env.msg}}")
            if env.id is not None:
                return NOTHING  # {"result":null,"id":1}: subscribe ack / LIST_SUBSCRIPTIONS answer
            raise FrameError("binance: frame is neither a stream event nor an ack")
        except msgspec.DecodeError as exc:
            raise FrameError(f"binance: {exc}") from None
        except msgspec.ValidationError as exc:
            raise FrameError(f"binance: {exc}") from None

    def _on_ticker(self, t: _BookTicker, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(t.s)
        if iid is None:
            return NOTHING
        bid_size, ask_size = t.B, t.A
        if self._scale:
            scale = self._scale.get(iid)
            if scale is not None:
                bid_size *= scale
                ask_size *= scale
        # Spot bookTicker carries no time: the receive time is the best stamp there is.
        ts = t.E * 1_000_000 if t.E else recv_ts_ns
        return Parsed((self.quote(iid, t.b, bid_size, t.a, ask_size, ts, recv_ts_ns, t.u),))

    def _on_mark(self, m: _MarkPrice, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(m.s)
        if iid is None or m.r is None:
            return NOTHING
        # The frame carries no interval: the listing's (fundingInfo), 0 (unknown) without metadata.
        interval = self._funding_h.get(iid, 0.0)
        return Parsed((self.funding(iid, m.r, interval, m.T * 1_000_000, m.E * 1_000_000, recv_ts_ns),))

    def _on_depth(self, d: _Depth, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(d.s)
        if iid is None:
            return NOTHING
        book = self.book(iid)
        if not book.valid:
            # No book yet: keep the event; the first one asks for a snapshot.
            return self.resync(iid, "awaiting snapshot", recv_ts_ns) if self._pending.add(iid, d) else NOTHING
        if self.perp:
            if d.u < book.seq:
                return NOTHING
            if iid in self._first_after_snapshot:
                if book.seq < d.U:
                    return self._restart(iid, d, f"depth U={d.U} after snapshot {book.seq}: snapshot too old", recv_ts_ns)
                self._first_after_snapshot.discard(iid)
            elif d.pu != book.seq:
                return self._restart(iid, d, f"depth gap: pu={d.pu} but last u={book.seq}", recv_ts_ns)
        else:
            rule = continuity(book.seq, d.U, d.u)
            if rule == STALE:
                return NOTHING
            if rule != APPLY:
                return self._restart(iid, d, f"depth gap: U={d.U} but last u={book.seq}", recv_ts_ns)
        if not self._apply(iid, book, d):
            return self._bad_level(iid, recv_ts_ns)
        if book.is_crossed():
            return self.resync(iid, "book crossed after update", recv_ts_ns)
        ts = (d.T or d.E) * 1_000_000
        return Parsed((self.book_event(iid, book, ts, recv_ts_ns, d.u),))

    def _restart(self, iid: int, d: _Depth, reason: str, recv_ts_ns: int) -> Parsed:
        """A gap: drop the book, ask for a snapshot, and buffer from this event on."""
        parsed = self.resync(iid, reason, recv_ts_ns)
        self._pending.restart(iid, [d])
        return parsed

    def _apply(self, iid: int, book: L2Book, d: _Depth) -> bool:
        """Both sides of one depth event; False on a level that is not a valid price/size."""
        scale = self._scale.get(iid, 1.0) if self._scale else 1.0
        book.seq = d.u
        return book.apply_bids(d.b, scale) and book.apply_asks(d.a, scale)

    def _bad_level(self, iid: int, recv_ts_ns: int) -> Parsed:
        """A level with a non-finite / non-positive price or a bad size: drop the book, fetch it again."""
        parsed = self.resync(iid, "bad book level (price not finite and > 0, or size not finite and >= 0)", recv_ts_ns)
        self._pending.restart(iid, [])  # buffer what follows without asking a second time
        return parsed

    def apply_snapshot(self, instrument_id: int, body: str | bytes, recv_ts_ns: int) -> Parsed:
        """Install ``GET /api/v3/depth`` (spot) or ``/fapi/v1/depth`` (USD-M) and replay buffered events.

        ``{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}``
        """
        try:
            snap = _snapshot.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise FrameError(f"binance: depth snapshot: {exc}") from None
        iid = instrument_id
        book = self.book(iid)
        book.clear()
        scale = self._scale.get(iid, 1.0)
        if not (book.apply_bids(snap.bids, scale) and book.apply_asks(snap.asks, scale)):
            self._pending.take(iid)
            return self._bad_level(iid, recv_ts_ns)
        book.seq = snap.lastUpdateId
        pending = self._pending.take(iid)
        refused = self._replay_perp(iid, book, pending, recv_ts_ns) if self.perp else self._replay_spot(iid, book, pending, recv_ts_ns)
        if refused is not None:
            return refused
        if book.is_crossed():
            return self.resync(iid, "snapshot crossed", recv_ts_ns)
        book.valid = True
        # Spot snapshots carry no time: 0 says "unknown" (the receive time would be later than the
        # venue times of the deltas that follow and make them look out of order).
        ts = (snap.T or snap.E) * 1_000_000
        return Parsed((self.synced(iid, recv_ts_ns), self.book_event(iid, book, ts, recv_ts_ns, book.seq)))

    def _replay_spot(self, iid: int, book: L2Book, pending: list[_Depth], recv_ts_ns: int) -> Parsed | None:
        """Apply the buffered events that continue the snapshot; a resync when they cannot."""
        last = book.seq
        first = True
        for d in pending:
            rule = continuity(book.seq, d.U, d.u)
            if rule == STALE:
                continue
            if rule != APPLY:
                if first:
                    # The buffered stream starts after the snapshot: it is too old, fetch again.
                    self._pending.restart(iid, [x for x in pending if x.u > last])
                    return self.resync(iid, f"snapshot {last} older than buffered U={d.U}", recv_ts_ns)
                self._pending.restart(iid, [d])
                return self.resync(iid, f"gap in buffered depth at U={d.U}", recv_ts_ns)
            first = False
            if not self._apply(iid, book, d):
                return self._bad_level(iid, recv_ts_ns)
        self._first_after_snapshot.discard(iid)
        return None

    def _replay_perp(self, iid: int, book: L2Book, pending: list[_Depth], recv_ts_ns: int) -> Parsed | None:
        """USD-M: the first kept event brackets the snapshot, then the ``pu`` chain; a resync when not."""
        last = book.seq
        first = True
        for d in pending:
            if d.u < last:
                continue
            if first:
                if not d.U <= last <= d.u:
                    self._pending.restart(iid, [x for x in pending if x.u > last])
                    return self.resync(iid, f"snapshot {last} older than buffered U={d.U}", recv_ts_ns)
                first = False
            elif d.pu != book.seq:
                self._pending.restart(iid, [d])
                return self.resync(iid, f"gap in buffered depth at U={d.U}", recv_ts_ns)
            if not self._apply(iid, book, d):
                return self._bad_level(iid, recv_ts_ns)
        if first:
            self._first_after_snapshot.add(iid)  # the next live event must bracket the snapshot
        else:
            self._first_after_snapshot.discard(iid)
        return None


class BinanceSpot(Binance):
    """Binance spot: ``/stream`` on stream.binance.com, 5 incoming messages/s."""

    markets = ("spot",)
    subscription_limits: ClassVar[SubscriptionLimits] = SubscriptionLimits(
        streams_per_instrument=2,  # <sym>@bookTicker, <sym>@depth@100ms
        max_streams_per_connection=1024,
        max_args_per_request=100,  # ours: 100 streams keep a SUBSCRIBE frame far under 4096 bytes
        max_requests_per_s=5.0,  # pings, pongs and JSON requests all count; beyond: disconnected
        max_connections=300,  # connection attempts per 5 minutes per IP
    )
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()
    max_messages_per_s = subscription_limits.max_requests_per_s * PACING  # 4/s under the 5/s: room for the pongs


class BinanceUsdm(Binance):
    """Binance USD-M perpetuals: ``/public/stream`` on fstream.binance.com, 10 incoming messages/s;
    funding from REST ``premiumIndex`` (the ``/market`` tier's ``@markPrice`` is on another socket)."""

    markets = ("perp",)
    subscription_limits: ClassVar[SubscriptionLimits] = SubscriptionLimits(
        streams_per_instrument=2,  # <sym>@bookTicker, <sym>@depth@100ms (both /public tier)
        max_streams_per_connection=1024,
        max_args_per_request=100,
        max_requests_per_s=10.0,  # pongs count; beyond: disconnected
        # no connection-attempt limit in the USD-M docs (spot: 300 per 5 minutes)
    )
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()
    max_messages_per_s = subscription_limits.max_requests_per_s * PACING
    poll_interval_s: ClassVar[float] = 30.0  # premiumIndex for all symbols: weight 10 per poll

    def poll_requests(self) -> list[RestRequest]:
        return [RestRequest("GET", self.rest_endpoint() + "/fapi/v1/premiumIndex", "premiumIndex")]

    def on_poll(self, request: RestRequest, body: bytes, recv_ts_ns: int) -> Parsed:
        """Funding of the subscribed perpetuals from ``GET /fapi/v1/premiumIndex`` (every symbol).

        ``[{"symbol":"BTCUSDT","markPrice":"11793.63","indexPrice":"11781.80",
        "lastFundingRate":"0.00038246","interestRate":"0.00010000","nextFundingTime":1597392000000,
        "time":1597370495002}]`` (``lastFundingRate``: the rate of the current interval; "" on
        dated contracts). The interval is the listing's (``fundingInfo``).
        """
        try:
            rows = _premium.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise FrameError(f"binance: premiumIndex: {exc}") from None
        out: list[MarketEvent] = []
        for row in rows if isinstance(rows, list) else [rows]:
            iid = self._native.get(row.symbol)
            if iid is None or not row.lastFundingRate:
                continue
            try:
                rate = float(row.lastFundingRate)
            except ValueError:
                raise FrameError(f"binance: premiumIndex {row.symbol}: lastFundingRate {row.lastFundingRate!r}") from None
            interval = self._funding_h.get(iid, 0.0)
            out.append(self.funding(iid, rate, interval, row.nextFundingTime * 1_000_000, row.time * 1_000_000, recv_ts_ns))
        return Parsed(tuple(out)) if out else NOTHING


_SHUTDOWN = Parsed(reconnect="server shutdown announced")

INFO = VenueInfo(
    name=Binance.name,
    markets={"spot": BinanceSpot, "perp": BinanceUsdm},
    taker_fee_bps={"spot": 10.0, "perp": 5.0},
    ccxt_id="binance",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES), "USDC/USDT"),
)
