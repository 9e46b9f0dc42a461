"""Bitget v2 public market data: spot and USDT-margined futures (books1 BBO, books with checksum, funding).

Sizes are base units on both markets (futures included: ``bidSz``, book sizes, ``sizeMultiplier``,
``minTradeNum`` are coins, e.g. the STORJUSDT ticker's ``baseVolume`` × price = ``quoteVolume``),
so no contract conversion applies: ``contract_size`` is 1.

Protocol (shared/venues.md §6):
- One endpoint for every market, ``wss://ws.bitget.com/v2/ws/public``; subscribe with
  ``{"op":"subscribe","args":[{"instType":"SPOT","channel":"books1","instId":"BTCUSDT"}]}`` →
  ``{"event":"subscribe","arg":{…}}``. instType ``SPOT`` or ``USDT-FUTURES`` (also ``USDC-FUTURES``
  ``BTCPERP`` and ``COIN-FUTURES`` ``BTCUSD``). Data frames are
  ``{"action":"snapshot"|"update","arg":{…},"data":[…],"ts":…}``.
- Keep-alive: the client sends the text ``ping`` every 30 s and gets the text ``pong``; the server
  drops a connection that stays silent, and every connection after 24 h.
- BBO: ``books1`` (always a snapshot of the best level). L2: ``books`` — full snapshot then
  updates (size "0" deletes); each carries ``checksum``, the signed CRC32 of the top 25 levels
  interleaved ``bidPx:bidSz:askPx:askSz`` in the original strings. v2 snapshots carry ``0`` (not
  checked); a mismatch on an update means the book is wrong: drop it and resubscribe ``books``.
- 2026 (shared/venues.md §11): ``books`` messages now carry ``seq`` / ``pseq`` and some carry no
  ``checksum`` at all. A missing checksum is "not given", never a mismatch; where ``seq`` and
  ``pseq`` are present an update's ``pseq`` must equal the previous message's ``seq`` (else the
  book is resubscribed). Older v2 messages have neither and parse as before.
- Funding: the futures ``ticker`` channel carries ``fundingRate`` (per funding period) and
  ``nextFundingTime`` (ms), not the period: that comes from the listing's ``fundInterval``.
  ``ticker`` also has ``bidPr``/``askPr``/``bidSz``/``askSz``.
- Symbols: ``BTCUSDT`` + instType; ``SPOT`` → ``BTC/USDT``, ``USDT-FUTURES`` → ``BTC/USDT:USDT``.
  The legacy v1 feed (instType ``sp``/``mc``) sent books in the same shape; they parse too.

Messages read::

    {"action":"snapshot","arg":{"instType":"USDT-FUTURES","channel":"books1","instId":"ADAUSDT"},
     "data":[{"asks":[["0.3555","10230"]],"bids":[["0.3553","112096"]],"checksum":0,"ts":"1730332859988"}],"ts":1730332859989}
    {"action":"update","arg":{"instType":"USDT-FUTURES","channel":"books","instId":"AXSUSDT"},
     "data":[{"asks":[["5.085","144.6"]],"bids":[["5.081","536.2"]],"checksum":-1258619028,"ts":"1730332859988"}],"ts":…}
    {"action":"update","arg":{…,"channel":"books",…},"data":[{"asks":[…],"bids":[…],"seq":451275591395,
     "pseq":451275591390,"ts":"…"}]}                                   (2026: seq / pseq, no checksum)
    {"action":"snapshot","arg":{"instType":"USDT-FUTURES","channel":"ticker","instId":"STORJUSDT"},
     "data":[{"lastPr":"0.4706","bidPr":"0.4705","askPr":"0.4708","bidSz":"1367.3","askSz":"2535.3",
     "fundingRate":"0.0001","nextFundingTime":"1730361600000","ts":"1730332823155", …}]}

Limits (https://www.bitget.com/api-doc/common/websocket-intro, shared/venues.md §6): 300
connection requests per IP per 5 min, at most 100 connections per IP; 240 subscription requests
per hour per connection and at most 1000 channels per connection ("we highly recommend fewer than
50 channels in one connection": we keep to 50); the args of one request at most 4096 bytes; at
most 10 messages per second per connection, the text ``ping`` included (beyond: disconnected);
the server drops a connection that sent no ``ping`` for 2 min.

Instrument metadata (REST; every number a string)::

    GET /api/v2/spot/public/symbols
    {"code":"00000","msg":"success","data":[{"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT",
      "minTradeAmount":"0","pricePrecision":"2","quantityPrecision":"6","minTradeUSDT":"1","status":"online", …}]}
    GET /api/v2/mix/market/contracts?productType=USDT-FUTURES
    {"code":"00000","data":[{"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT","minTradeNum":"0.001",
      "priceEndStep":"1","volumePlace":"3","pricePlace":"1","sizeMultiplier":"0.001","symbolType":"perpetual",
      "minTradeUSDT":"5","symbolStatus":"normal","fundInterval":"8", …}]}
    GET /api/v2/spot/market/tickers      GET /api/v2/mix/market/tickers?productType=USDT-FUTURES
    {"code":"00000","data":[{"symbol":"BTCUSDT","lastPr":"34413.1","baseVolume":"…","quoteVolume":"…","usdtVolume":"…", …}]}

- spot: ``pricePrecision`` / ``quantityPrecision`` are DECIMAL PLACES (tick 10^-pricePrecision,
  size step 10^-quantityPrecision), ``minTradeAmount`` base (obsolete, "0"), ``minTradeUSDT`` the
  minimum order value; ``status`` ``online`` trading, ``halt`` halted, ``gray`` not yet open,
  ``offline`` gone.
- futures: ``sizeMultiplier`` is the size step in BASE coin, ``minTradeNum`` the minimum in base,
  ``volumePlace`` size decimals, tick = ``priceEndStep`` × 10^-``pricePlace``, ``minTradeUSDT``
  the minimum order value, ``fundInterval`` the funding period in HOURS; ``symbolStatus``
  ``normal`` trading, ``listed`` not yet, ``maintain`` / ``limit_open`` / ``restrictedAPI`` no
  new orders (halted for us), ``off`` delisted. Only ``symbolType`` ``perpetual`` is listed.
- tickers: ``quoteVolume`` is the 24 h volume in the quote currency (used), ``lastPr`` the last price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import ClassVar, TypeVar

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.model import Book, MarketEvent
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

WS_BASE = "wss://ws.bitget.com"
WS_PATH = "/v2/ws/public"
REST = "https://api.bitget.com"
PRODUCT_TYPE = "USDT-FUTURES"  # the futures family listed here (USDT-margined perpetuals)
ARGS_PER_MESSAGE = 50
MAX_ARGS_BYTES = 4096  # "the total length of multiple channels cannot exceed 4096 bytes at a time"
MAX_CHANNELS = 1000  # per connection, the venue's hard limit
RECOMMENDED_CHANNELS = 50  # "we highly recommend you to subscribe less than 50 channels in one connection"
REQUESTS_PER_HOUR = 240  # subscription requests per connection per hour
MESSAGES_PER_S = 10.0  # client messages per connection per second, the text "ping" included
THROTTLED = "30006"  # "request too many"
LIFETIME_S = 23.5 * 3600  # the venue cuts every connection after 24 h

# The venue's status words → ours (an unknown word is not trading).
SPOT_STATUS = {"online": TRADING, "halt": HALTED, "gray": PRELAUNCH, "offline": DELISTED}
FUTURES_STATUS = {
    "normal": TRADING, "listed": PRELAUNCH, "maintain": HALTED, "limit_open": HALTED, "restrictedAPI": HALTED, "off": DELISTED,
}

SPOT_QUOTES = ("USDT", "USDC")
PERP_QUOTES = ("USDT",)
CONVERSION_SPOT = ("USDC/USDT",)


_QUOTES = ("USDT", "USDC", "BTC", "ETH", "EUR", "BRL", "USD")


def inst_type(market: str, native: str) -> str:
    """The instType of a native symbol: its market, and on futures its margin family."""
    if market == "spot":
        return "SPOT"
    if native.endswith("PERP"):
        return "USDC-FUTURES"
    if native.endswith("USDT"):
        return "USDT-FUTURES"
    return "COIN-FUTURES"


def native_symbol(market: str, instrument: str) -> str:
    """Bitget's instId for a unified instrument (the instType follows from it, see ``inst_type``)."""
    inst = parse_instrument(instrument)
    if market == "spot":
        if inst.is_perp:
            raise ValueError(f"bitget spot: {instrument} is a perpetual")
        return f"{inst.base}{inst.quote}"
    if inst.settle == inst.quote == "USDT":
        return f"{inst.base}USDT"
    if inst.settle == inst.quote == "USDC":
        return f"{inst.base}PERP"
    if inst.quote == "USD" and inst.settle == inst.base:
        return f"{inst.base}USD"
    raise ValueError(f"bitget futures: no perpetual for {instrument}")


def unified_instrument(market: str, native: str) -> str | None:
    """The unified name of a Bitget instId, or None (dated futures such as ``BTCUSDZ24``)."""
    if market == "perp":
        if native.endswith("PERP") and len(native) > 4:
            return f"{native[:-4]}/USDC:USDC"
        if native.endswith("USDT") and len(native) > 4:
            return f"{native[:-4]}/USDT:USDT"
        if native.endswith("USD") and len(native) > 3:
            return f"{native[:-3]}/USD:{native[:-3]}"
        return None
    for quote in _QUOTES:
        if native.endswith(quote) and len(native) > len(quote):
            return f"{native[: -len(quote)]}/{quote}"
    return None


def listed_instruments(market: str, bases: Sequence[str]) -> list[str]:
    """Unified instruments Bitget lists for ``bases`` in ``market`` (plus its conversion markets on spot)."""
    if market == "spot":
        return [f"{b}/{q}" for b in bases for q in SPOT_QUOTES] + list(CONVERSION_SPOT)
    return [f"{b}/{q}:{q}" for b in bases for q in PERP_QUOTES]


# --- wire types -------------------------------------------------------------------------------


class _Arg(msgspec.Struct):
    instType: str = ""
    channel: str = ""
    instId: str = ""


class _Message(msgspec.Struct):
    event: str = ""
    action: str = ""
    arg: _Arg | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")
    code: int | str | None = None
    msg: str = ""


class _BookData(msgspec.Struct):
    asks: list[tuple[str, str]] = []
    bids: list[tuple[str, str]] = []
    checksum: int | None = None  # absent in some 2026 messages: not given, not checked
    seq: int | None = None  # 2026: this message's number …
    pseq: int | None = None  # … and the previous one's
    ts: int = 0


class _TopData(msgspec.Struct):
    """``books1``: only numbers are needed (no checksum), so levels decode straight to floats."""

    asks: list[tuple[float, float]] = []
    bids: list[tuple[float, float]] = []
    ts: int = 0


class _TickerData(msgspec.Struct):
    bidPr: float | None = None
    askPr: float | None = None
    bidSz: float | None = None
    askSz: float | None = None
    fundingRate: float | None = None
    nextFundingTime: int = 0
    ts: int = 0


# ---- REST metadata wire types (cold path) -------------------------------------------------------


class _SpotSymbol(msgspec.Struct):
    symbol: str
    baseCoin: str = ""
    quoteCoin: str = ""
    minTradeAmount: str = ""
    pricePrecision: str = ""
    quantityPrecision: str = ""
    minTradeUSDT: str = ""
    status: str = ""


class _Contract(msgspec.Struct):
    symbol: str
    baseCoin: str = ""
    quoteCoin: str = ""
    minTradeNum: str = ""
    priceEndStep: str = ""
    volumePlace: str = ""
    pricePlace: str = ""
    sizeMultiplier: str = ""
    symbolType: str = ""
    minTradeUSDT: str = ""
    symbolStatus: str = ""
    fundInterval: str = ""


class _RestTicker(msgspec.Struct):
    symbol: str
    lastPr: str | None = None
    quoteVolume: str | None = None


class _Answer(msgspec.Struct):
    code: str | int
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"[]")


_T = TypeVar("_T")
_ANSWER = msgspec.json.Decoder(_Answer)
_SPOT_SYMBOLS = msgspec.json.Decoder(list[_SpotSymbol])
_CONTRACTS = msgspec.json.Decoder(list[_Contract])
_REST_TICKERS = msgspec.json.Decoder(list[_RestTicker])

_MESSAGE = msgspec.json.Decoder(_Message)
_BOOKS = msgspec.json.Decoder(list[_BookData], strict=False)
_TOPS = msgspec.json.Decoder(list[_TopData], strict=False)
_TICKERS = msgspec.json.Decoder(list[_TickerData], strict=False)
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


def _level(raw: tuple[str, str], native: str) -> tuple[float, float]:
    raw_price, raw_size = raw
    try:
        price, size = float(raw_price), float(raw_size)
    except ValueError:
        raise FrameError(f"bitget: non-numeric level {raw_price!r}/{raw_size!r} for {native}") from None
    if not valid_level(price, size):
        raise FrameError(f"bitget: bad level {raw_price}/{raw_size} for {native}")
    return price, size


class Bitget(Venue):
    """Bitget v2 spot (``SPOT``) or futures (``USDT-FUTURES`` …) for a set of instruments."""

    name = "bitget"
    markets = ("spot", "perp")
    lifetime_s: ClassVar[float] = LIFETIME_S
    # One class serves both markets: 3 channels per instrument is the futures count (books1,
    # books, ticker); spot takes 2, so a spot connection holds fewer than it could, never more.
    subscription_limits: ClassVar[SubscriptionLimits] = SubscriptionLimits(
        streams_per_instrument=3,
        max_streams_per_connection=RECOMMENDED_CHANNELS,  # the hard limit is MAX_CHANNELS
        max_args_per_request=ARGS_PER_MESSAGE,  # and MAX_ARGS_BYTES of args: subscribe_messages keeps both
        max_requests_per_s=MESSAGES_PER_S,
        max_requests_per_hour=REQUESTS_PER_HOUR,
        max_connections=100,
    )
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()
    # Half the 10/s: the text ping and resubscriptions share the budget with subscribe requests.
    max_messages_per_s = MESSAGES_PER_S / 2

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Where quotes come from: "books1" (fastest) or "ticker" (also carries funding on futures).
        self.bbo_channel = "books1"

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(self.market, instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(self.market, native_symbol)

    def heartbeat(self) -> Heartbeat:
        # Text ping every 30 s; the pong comes at once, so 15 s more without it means a dead link.
        return Heartbeat("text", 30.0, 45.0, "ping")

    def ws_url(self) -> str:
        return (self.base_url or WS_BASE) + WS_PATH

    def _channels(self) -> list[str]:
        channels = [self.bbo_channel, "books"]
        if self.kind and "ticker" not in channels:
            channels.append("ticker")
        return channels

    def rest_endpoint(self) -> str:
        return self.rest_url or REST

    def subscribe_messages(self) -> list[str]:
        """``subscribe`` requests of at most 50 args and 4096 bytes of args each."""
        natives = self.subscribed_natives()
        args = [(inst_type(self.market, n), ch, n) for ch in self._channels() for n in natives]
        out: list[str] = []
        chunk: list[tuple[str, str, str]] = []
        size = 0
        for arg in args:
            length = len(_arg_text(*arg)) + 1
            if chunk and (len(chunk) >= ARGS_PER_MESSAGE or size + length > MAX_ARGS_BYTES):
                out.append(self._op("subscribe", chunk))
                chunk, size = [], 0
            chunk.append(arg)
            size += length
        if chunk:
            out.append(self._op("subscribe", chunk))
        return out

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        native = self.native_of(instrument_id)
        return [self._op("unsubscribe", [(inst_type(self.market, native), ch, native) for ch in self._channels()])]

    @staticmethod
    def _op(op: str, args: list[tuple[str, str, str]]) -> str:
        body = ",".join(_arg_text(t, c, n) for t, c, n in args)
        return f'{{"op":"{op}","args":[{body}]}}'

    # --- metadata (cold path, class level) ----------------------------------------------------

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return REST

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        """The spot symbols or USDT-FUTURES contracts, and the market's 24 h tickers."""
        base = rest_base.rstrip("/")
        if market == "spot":
            return [RestRequest("GET", f"{base}/api/v2/spot/public/symbols", "symbols"),
                    RestRequest("GET", f"{base}/api/v2/spot/market/tickers", "tickers")]
        if market == "perp":
            return [RestRequest("GET", f"{base}/api/v2/mix/market/contracts?productType={PRODUCT_TYPE}", "contracts"),
                    RestRequest("GET", f"{base}/api/v2/mix/market/tickers?productType={PRODUCT_TYPE}", "tickers")]
        raise ValueError(f"bitget: no {market!r} market (has spot, perp)")

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        """Every spot pair or USDT-margined perpetual Bitget lists, sizes in base units."""
        tickers: dict[str, _RestTicker] = {}
        if "tickers" in bodies:  # volumes only rank the universe: the listing stands without them
            tickers = {t.symbol: t for t in _rest_list(market, "tickers", _REST_TICKERS, bodies)}
        out: list[InstrumentMeta] = []
        if market == "spot":
            for sym in _rest_list(market, "symbols", _SPOT_SYMBOLS, bodies):
                meta = _spot_meta(sym, tickers.get(sym.symbol))
                if meta is not None:
                    out.append(meta)
        elif market == "perp":
            for contract in _rest_list(market, "contracts", _CONTRACTS, bodies):
                meta = _perp_meta(contract, tickers.get(contract.symbol))
                if meta is not None:
                    out.append(meta)
        else:
            raise ValueError(f"bitget: no {market!r} market (has spot, perp)")
        return out

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        """Unsubscribe and subscribe ``books`` again: the venue then sends a fresh snapshot."""
        native = self.native_of(instrument_id)
        arg = [(inst_type(self.market, native), "books", native)]
        return [self._op("unsubscribe", arg), self._op("subscribe", arg)]

    # --- parsing ------------------------------------------------------------------------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        if frame == b"pong" or frame == "pong":
            return PONG
        try:
            msg = _MESSAGE.decode(frame)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"bitget: not a Bitget frame: {exc}") from None
        if msg.event:
            if msg.event == "error":
                if str(msg.code) == THROTTLED:
                    # A subscribe refused for the connection's hourly budget: what it asked for never
                    # comes. A new connection (after the session's back-off) has a fresh budget.
                    return Parsed(reconnect=f"bitget {THROTTLED}: {msg.msg} (subscriptions refused)")
                raise FrameError(f"bitget: venue error {msg.code}: {msg.msg}")
            return NOTHING  # subscribe / unsubscribe acknowledgements
        arg = msg.arg
        if arg is None or not msg.action:
            raise FrameError("bitget: frame with neither event nor action/arg")
        if not arg.instId:
            return NOTHING  # not a v2 frame (the v3 UTA feed names symbols differently)
        iid = self.instrument_id(arg.instId)
        if iid is None:
            return NOTHING
        channel = arg.channel
        try:
            if channel == "books":
                return self._books(iid, arg.instId, msg.action, _BOOKS.decode(msg.data), recv_ts_ns)
            if channel == "books1":
                return self._books1(iid, _TOPS.decode(msg.data), recv_ts_ns)
            if channel in ("books5", "books15"):
                return _events([self._depth(iid, arg.instId, d, recv_ts_ns) for d in _BOOKS.decode(msg.data)])
            if channel == "ticker":
                return self._ticker(iid, arg.instId, _TICKERS.decode(msg.data), recv_ts_ns)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"bitget: bad {channel} data for {arg.instId}: {exc}") from None
        raise FrameError(f"bitget: unexpected channel {channel!r}")

    def _books1(self, iid: int, data: list[_TopData], recv_ts_ns: int) -> Parsed:
        if self.bbo_channel != "books1":
            return NOTHING
        out: list[MarketEvent] = []
        for d in data:
            if not d.bids or not d.asks:
                continue  # one side empty: no two-sided quote to trade on
            (bid, bid_size), (ask, ask_size) = d.bids[0], d.asks[0]
            out.append(self.quote(iid, bid, bid_size, ask, ask_size, d.ts * 1_000_000 if d.ts else recv_ts_ns, recv_ts_ns))
        return Parsed(tuple(out)) if out else NOTHING

    def _ticker(self, iid: int, native: str, data: list[_TickerData], recv_ts_ns: int) -> Parsed:
        out: list[MarketEvent] = []
        for t in data:
            ts = t.ts * 1_000_000 if t.ts else recv_ts_ns
            if self.bbo_channel == "ticker":
                if t.bidPr is None or t.bidSz is None or t.askPr is None or t.askSz is None:
                    raise FrameError(f"bitget: ticker for {native} without bid/ask")
                out.append(self.quote(iid, t.bidPr, t.bidSz, t.askPr, t.askSz, ts, recv_ts_ns))
            if self.kind and t.fundingRate is not None and t.nextFundingTime:
                if not -1.0 < t.fundingRate < 1.0:
                    raise FrameError(f"bitget: absurd funding rate {t.fundingRate} for {native}")
                meta = self.metadata.get(native)  # the frame does not say the period: the listing does (0: not known)
                interval_h = meta.funding_interval_hours if meta is not None else 0.0
                out.append(self.funding(iid, t.fundingRate, interval_h, t.nextFundingTime * 1_000_000, ts, recv_ts_ns))
        return _events(out)

    def _depth(self, iid: int, native: str, d: _BookData, recv_ts_ns: int) -> Book:
        n = self.book_depth
        bids = sorted((_level(raw, native) for raw in d.bids), reverse=True)[:n]
        asks = sorted(_level(raw, native) for raw in d.asks)[:n]
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise FrameError(f"bitget: crossed depth snapshot for {native}")
        return Book(self.venue_id, iid, bids, asks, d.ts * 1_000_000 if d.ts else recv_ts_ns, recv_ts_ns)

    def _books(self, iid: int, native: str, action: str, data: list[_BookData], recv_ts_ns: int) -> Parsed:
        out: list[MarketEvent] = []
        resync = False
        book = self.book(iid)
        for d in data:
            if action == "snapshot":
                book.clear()
            elif action != "update":
                raise FrameError(f"bitget: unknown books action {action!r}")
            elif not book.valid:
                continue  # waiting for the snapshot of a (re)subscription
            elif d.pseq is not None and book.seq and d.pseq != book.seq:
                out.append(self.invalidate(iid, f"{native}: sequence gap: pseq={d.pseq} but last seq={book.seq}", recv_ts_ns))
                resync = True
                continue
            try:
                applied = book.apply_raw_bids(d.bids) and book.apply_raw_asks(d.asks)
            except (ValueError, IndexError):
                applied = False
            if not applied:  # the book is half applied: drop it and fetch it again
                out.append(self.invalidate(iid, f"{native}: bad book level (not numbers, or price not > 0, or size < 0)", recv_ts_ns))
                resync = True
                continue
            book.seq = d.seq if d.seq is not None else 0  # 0: the next pseq has nothing to chain to
            # No checksum field: not given (2026 messages), never a mismatch. v2 snapshots carry
            # 0 ("not computed"); every other checksum is checked.
            if d.checksum is not None and (action == "update" or d.checksum != 0):
                mine = book.checksum_crc32(25)
                if mine != d.checksum:
                    out.append(self.invalidate(iid, f"{native}: checksum mismatch (venue {d.checksum}, book {mine})", recv_ts_ns))
                    resync = True
                    continue
            if book.is_crossed():
                out.append(self.invalidate(iid, f"{native}: book crossed", recv_ts_ns))
                resync = True
                continue
            if action == "snapshot":
                book.valid = True
                out.append(self.synced(iid, recv_ts_ns))
            out.append(self.book_event(iid, book, d.ts * 1_000_000 if d.ts else recv_ts_ns, recv_ts_ns, book.seq))
        if resync:
            return Parsed(tuple(out), (iid,))
        return _events(out)


def _events(out: list[MarketEvent]) -> Parsed:
    return Parsed(tuple(out)) if out else NOTHING


def _arg_text(inst_type: str, channel: str, native: str) -> str:
    return f'{{"instType":"{inst_type}","channel":"{channel}","instId":"{native}"}}'


# ---- metadata helpers (cold path) ---------------------------------------------------------------


def _rest_list(market: str, name: str, decoder: msgspec.json.Decoder[list[_T]], bodies: Mapping[str, Sequence[bytes]]) -> list[_T]:
    """Every item of every page of one answer; MetadataError when it is not Bitget's format."""
    pages = bodies.get(name)
    if not pages:
        raise MetadataError(f"bitget {market}: no {name!r} answer")
    items: list[_T] = []
    for body in pages:
        try:
            answer = _ANSWER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MetadataError(f"bitget {market}: {name}: not a Bitget answer ({exc}): {bytes(body[:120])!r}") from None
        if str(answer.code) != "00000":
            raise MetadataError(f"bitget {market}: {name} refused: code {answer.code}: {answer.msg}")
        try:
            items.extend(decoder.decode(answer.data))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MetadataError(f"bitget {market}: {name}: data is not the Bitget format: {exc}") from None
    return items


def _decimal(value: str | None, what: str) -> Decimal:
    """A decimal string of the listing; empty or absent is 0."""
    if not value:
        return Decimal(0)
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise MetadataError(f"bitget: {what} is not a number: {value!r}") from None
    if not d.is_finite() or d < 0:
        raise MetadataError(f"bitget: {what} is not a non-negative number: {value!r}")
    return d


def _places(value: str, what: str) -> Decimal:
    """The step of ``value`` decimal places (``"2"`` → 0.01); empty: 0 (not given)."""
    if value == "":
        return Decimal(0)
    if not value.isdigit():
        raise MetadataError(f"bitget: {what} is not a number of decimal places: {value!r}")
    return Decimal(1).scaleb(-int(value))


def _unified(market: str, symbol: str, base: str, quote: str) -> str | None:
    """The unified name of a listed symbol from its coins, when they spell the symbol."""
    if not base or not quote or f"{base}{quote}" != symbol:
        return None  # a symbol its coins do not spell: leave it out rather than guess
    name = f"{base}/{quote}:{quote}" if market == "perp" else f"{base}/{quote}"
    try:
        parse_instrument(name)
    except InstrumentError:
        return None
    return name


def _volume(ticker: _RestTicker | None, symbol: str) -> tuple[float, float]:
    if ticker is None:
        return 0.0, 0.0
    return float(_decimal(ticker.quoteVolume, f"{symbol} quoteVolume")), float(_decimal(ticker.lastPr, f"{symbol} lastPr"))


def _spot_meta(sym: _SpotSymbol, ticker: _RestTicker | None) -> InstrumentMeta | None:
    unified = _unified("spot", sym.symbol, sym.baseCoin, sym.quoteCoin)
    if unified is None:
        return None
    volume, last = _volume(ticker, sym.symbol)
    return InstrumentMeta(
        venue="bitget",
        market="spot",
        native_symbol=sym.symbol,
        instrument=unified,
        status=SPOT_STATUS.get(sym.status, HALTED),
        venue_status=sym.status,
        lot_size=float(_places(sym.quantityPrecision, f"{sym.symbol} quantityPrecision")),
        tick_size=float(_places(sym.pricePrecision, f"{sym.symbol} pricePrecision")),
        min_size=float(_decimal(sym.minTradeAmount, f"{sym.symbol} minTradeAmount")),
        min_notional=float(_decimal(sym.minTradeUSDT, f"{sym.symbol} minTradeUSDT")),
        quote_volume_24h=volume,
        last_price=last,
    )


def _perp_meta(c: _Contract, ticker: _RestTicker | None) -> InstrumentMeta | None:
    if c.symbolType and c.symbolType != "perpetual":
        return None  # delivery futures
    unified = _unified("perp", c.symbol, c.baseCoin, c.quoteCoin)
    if unified is None:
        return None
    step = _decimal(c.sizeMultiplier, f"{c.symbol} sizeMultiplier") or _places(c.volumePlace, f"{c.symbol} volumePlace")
    tick = _places(c.pricePlace, f"{c.symbol} pricePlace") * (_decimal(c.priceEndStep, f"{c.symbol} priceEndStep") or Decimal(1))
    volume, last = _volume(ticker, c.symbol)
    return InstrumentMeta(
        venue="bitget",
        market="perp",
        native_symbol=c.symbol,
        instrument=unified,
        status=FUTURES_STATUS.get(c.symbolStatus, HALTED),
        venue_status=c.symbolStatus,
        lot_size=float(step),
        tick_size=float(tick),
        min_size=float(_decimal(c.minTradeNum, f"{c.symbol} minTradeNum")),
        min_notional=float(_decimal(c.minTradeUSDT, f"{c.symbol} minTradeUSDT")),
        funding_interval_hours=float(_decimal(c.fundInterval, f"{c.symbol} fundInterval")),
        quote_volume_24h=volume,
        last_price=last,
    )


INFO = VenueInfo(
    name=Bitget.name,
    markets={"spot": Bitget, "perp": Bitget},
    taker_fee_bps={"spot": 10.0, "perp": 6.0},
    ccxt_id="bitget",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES)),
    listed=listed_instruments,
)
