"""OKX v5 public WebSocket: spot (``Okx``) and USDT swaps (``OkxSwap``, sizes in CONTRACTS) on one endpoint.

Endpoint ``wss://ws.okx.com:8443/ws/v5/public``. Subscribe
``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}, …]}`` → one ack per arg
``{"event":"subscribe","arg":{…},"connId":"…"}``; errors ``{"event":"error","code":"60012","msg":"…"}``
(60012 invalid request, 60013 invalid args, 60014 requests too frequent, 60018 wrong channel or
instId); ``{"event":"notice","code":"64008",…}`` announces a service upgrade disconnect (reconnect now).

Messages read::

    {"arg":{"channel":"bbo-tbt","instId":"BTC-USDT-SWAP"},"data":[{"asks":[["38632.4","727","0","22"]],
     "bids":[["38632.3","990","0","22"]],"ts":"1651761120004"}]}
    {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot"|"update","data":[{"asks":[[px,sz,"0",n]…],
     "bids":[…],"ts":"…","checksum":-1234,"seqId":…,"prevSeqId":…}]}
    {"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"bidPx":…,"bidSz":…,"askPx":…,"askSz":…,"ts":…}]}
    {"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001",
     "fundingTime":"…","nextFundingTime":"…","ts":"…"}]}

**Units.** On SWAP every size (``bbo-tbt``, ``books``, ``tickers``) is a number of contracts; one
contract is ``ctVal`` × ``ctMult`` base coins (BTC-USDT-SWAP: 0.01 BTC, so ``"bidSz":"431"`` is
4.31 BTC). ``OkxSwap`` converts every size with the instrument's metadata and refuses a symbol it
has none for. Spot sizes are base units.

Book rules: a snapshot replaces the book; an update's ``prevSeqId`` must equal the last ``seqId``
(fields absent in pre-2023 messages are tolerated); after every message the signed CRC32 of the
top 25 interleaved ``bidPx:bidSz:askPx:askSz`` ORIGINAL strings (contracts on SWAP: the book keeps
them beside the converted floats) must equal ``checksum``. A gap or mismatch drops the book and
resubscribes the instrument's ``books`` channel (fresh snapshot).

Heartbeat: send the text ``ping`` when nothing arrived for < 30 s, expect ``pong``; the server
drops connections idle for 30 s.

Limits (OKX docs as quoted in shared/venues.md §4): 480 subscribe/unsubscribe/login requests per
connection per hour (one per request, whatever its number of args); the args of one request at
most 64 KB; 3 connection requests per second per IP. No cap on channels per connection is
documented for public channels.

Instrument metadata (REST, ``Okx.metadata_requests``; all values strings, ``""`` = not applicable)::

    GET /api/v5/public/instruments?instType=SPOT|SWAP
    {"code":"0","msg":"","data":[{"instId":"BTC-USDT-SWAP","instType":"SWAP","ctType":"linear",
      "ctVal":"0.01","ctMult":"1","ctValCcy":"BTC","settleCcy":"USDT","instFamily":"BTC-USDT",
      "lotSz":"0.01","minSz":"0.01","tickSz":"0.1","state":"live", …}]}
    GET /api/v5/public/funding-rate?instId=ANY      (SWAP: every perpetual's funding times)
    {"code":"0","data":[{"instId":"XRP-USDT-SWAP","fundingTime":"1704816000000","nextFundingTime":"1704844800000", …}]}
    GET /api/v5/market/tickers?instType=SPOT|SWAP
    {"code":"0","data":[{"instId":"BTC-USDT","last":"30236","volCcy24h":"525802090.6","vol24h":"17602.1", …}]}

- SPOT: ``lotSz`` / ``minSz`` base units, ``tickSz`` quote; ``ctVal`` … are ``""``.
- SWAP: ``lotSz`` / ``minSz`` are CONTRACTS (converted to base with ``ctVal`` × ``ctMult``); only
  ``ctType`` ``linear`` swaps are listed (inverse ones, ``ctValCcy`` USD, are left out). No
  minimum notional on either. ``state``: ``live`` trading, ``suspend`` halted, ``preopen`` /
  ``test`` not yet trading.
- Funding interval: not in instruments; ``nextFundingTime − fundingTime`` (OKX has 1 h, 2 h, 4 h
  and 8 h contracts), and each WebSocket ``funding-rate`` frame carries both times too.
- 24 h volume: ``volCcy24h`` is the QUOTE currency volume on SPOT but the BASE coin volume on SWAP
  (``vol24h`` is base on SPOT, contracts on SWAP), so on SWAP ``quote_volume_24h`` =
  ``volCcy24h`` × ``last``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import ClassVar, TypeVar

import msgspec

from arbsniper.instruments import InstrumentError, SymbolMap, parse_instrument
from arbsniper.venues.base import DEMO_BASES, NOTHING, PONG, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import L2Book
from arbsniper.venues.metadata import (
    HALTED,
    PRELAUNCH,
    TRADING,
    InstrumentMeta,
    MetadataError,
    RestRequest,
    SubscriptionLimits,
)

PUBLIC_WS = "wss://ws.okx.com:8443"
REST = "https://www.okx.com"
MAX_ARGS_BYTES = 64 * 1024  # "the total length of multiple channels cannot exceed 64 KB"
REQUESTS_PER_HOUR = 480  # subscribe / unsubscribe / login requests per connection per hour
THROTTLED = "60014"  # "Requests too frequent"

# The venue's ``state`` word → our status; an unknown word is not trading.
STATES = {"live": TRADING, "suspend": HALTED, "preopen": PRELAUNCH, "test": PRELAUNCH}


def _limits(streams_per_instrument: int) -> SubscriptionLimits:
    # OKX documents no cap on public channels per connection: 300 is ours, so one reconnect's
    # resubscribe stays one request and the 480/h budget (a book resync costs two) is shared by
    # at most 150 instruments. 300 args of ~56 bytes are ~17 KB, well inside 64 KB.
    return SubscriptionLimits(
        streams_per_instrument=streams_per_instrument,
        max_streams_per_connection=300,
        max_args_per_request=300,
        max_requests_per_s=3.0,  # "3 requests per second" (connection and subscribe requests, per IP)
        max_requests_per_hour=REQUESTS_PER_HOUR,
    )


class _Arg(msgspec.Struct):
    channel: str = ""
    instId: str = ""


class _Envelope(msgspec.Struct):
    arg: _Arg | None = None
    action: str | None = None
    data: msgspec.Raw = msgspec.Raw()
    event: str | None = None
    code: str | None = None
    msg: str | None = None


class _BookData(msgspec.Struct):
    asks: list[list[str]]
    bids: list[list[str]]
    ts: str = "0"
    checksum: int | None = None
    seqId: int | None = None
    prevSeqId: int | None = None


class _Ticker(msgspec.Struct):
    bidPx: float | None = None
    bidSz: float | None = None
    askPx: float | None = None
    askSz: float | None = None
    ts: int = 0


class _FundingData(msgspec.Struct):
    fundingRate: float | None = None
    fundingTime: int = 0
    nextFundingTime: int = 0
    ts: int = 0


_env = msgspec.json.Decoder(_Envelope)
_books = msgspec.json.Decoder(list[_BookData])
_tickers = msgspec.json.Decoder(list[_Ticker], strict=False)
_funding = msgspec.json.Decoder(list[_FundingData], strict=False)


# ---- REST metadata wire types (cold path) -------------------------------------------------------


class _RestInstrument(msgspec.Struct):
    instId: str
    instType: str = ""
    baseCcy: str = ""
    quoteCcy: str = ""
    settleCcy: str = ""
    ctType: str = ""
    ctVal: str = ""
    ctMult: str = ""
    ctValCcy: str = ""
    instFamily: str = ""
    uly: str = ""
    lotSz: str = ""
    minSz: str = ""
    tickSz: str = ""
    state: str = ""


class _RestTicker(msgspec.Struct):
    instId: str
    last: str = ""
    volCcy24h: str = ""


class _RestFunding(msgspec.Struct):
    instId: str
    fundingTime: str = ""
    nextFundingTime: str = ""


class _Answer(msgspec.Struct):
    code: str | int
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"[]")


_T = TypeVar("_T")
_answer = msgspec.json.Decoder(_Answer)
_rest_instruments = msgspec.json.Decoder(list[_RestInstrument])
_rest_tickers = msgspec.json.Decoder(list[_RestTicker])
_rest_funding = msgspec.json.Decoder(list[_RestFunding])


def native_symbol(instrument: str) -> str:
    """``BTC/USDT`` → ``BTC-USDT``; ``BTC/USDT:USDT`` → ``BTC-USDT-SWAP``; ``BTC/USD:BTC`` → ``BTC-USD-SWAP``."""
    inst = parse_instrument(instrument)
    return f"{inst.base}-{inst.quote}-SWAP" if inst.is_perp else f"{inst.base}-{inst.quote}"


def unified_instrument(native: str) -> str | None:
    """The unified name of an instId of either market; None for dated futures and options."""
    parts = native.split("-")
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 3 and parts[2] == "SWAP":
        base, quote = parts[0], parts[1]
        settle = base if quote == "USD" else quote  # BTC-USD-SWAP is coin-margined (inverse)
        return f"{base}/{quote}:{settle}"
    return None  # dated futures (BTC-USD-220527), options


def _decimal(value: str, what: str) -> Decimal:
    """A decimal string of the listing; ``""`` (not applicable) is 0."""
    if value == "":
        return Decimal(0)
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise MetadataError(f"okx: {what} is not a number: {value!r}") from None
    if not d.is_finite() or d < 0:
        raise MetadataError(f"okx: {what} is not a non-negative number: {value!r}")
    return d


def _answer_data(market: str, name: str, bodies: Mapping[str, Sequence[bytes]]) -> list[bytes]:
    pages = bodies.get(name)
    if not pages:
        raise MetadataError(f"okx {market}: no {name!r} answer")
    out = []
    for body in pages:
        try:
            answer = _answer.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MetadataError(f"okx {market}: {name}: not an OKX answer ({exc}): {bytes(body[:120])!r}") from None
        if str(answer.code) != "0":
            raise MetadataError(f"okx {market}: {name} refused: code {answer.code}: {answer.msg}")
        out.append(bytes(answer.data))
    return out


def _decode_list(market: str, name: str, decoder: msgspec.json.Decoder[list[_T]], datas: list[bytes]) -> list[_T]:
    items: list[_T] = []
    for data in datas:
        try:
            items.extend(decoder.decode(data))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MetadataError(f"okx {market}: {name}: data is not the OKX format: {exc}") from None
    return items


class Okx(Venue):
    """OKX spot (sizes in base units); ``OkxSwap`` below serves the USDT swaps."""

    name = "okx"
    markets: ClassVar[tuple[str, ...]] = ("spot",)
    subscription_limits: ClassVar[SubscriptionLimits] = _limits(2)  # bbo-tbt + books
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()
    max_messages_per_s = subscription_limits.max_requests_per_s

    def __init__(
        self,
        market: str,
        symbols: SymbolMap,
        instruments: Sequence[str | InstrumentMeta] = (),
        base_url: str | None = None,
        rest_url: str | None = None,
        metadata: Sequence[InstrumentMeta] = (),
    ) -> None:
        super().__init__(market, symbols, instruments, base_url, rest_url, metadata)
        # native -> (instrument id, scale, divide): base size = size / scale when divide, else
        # size * scale; 1.0 on spot (nothing to do). A contract that is a decimal fraction of a
        # coin divides (0.01 BTC: 431 / 100 == 4.31, where 431 * 0.01 == 4.3100000000000005).
        # Filled at first sight of each symbol.
        self._scale: dict[str, tuple[int, float, bool]] = {}

    def heartbeat(self) -> Heartbeat:
        return Heartbeat("text", 20.0, 30.0, "ping")

    def ws_url(self) -> str:
        return (self.base_url or PUBLIC_WS) + "/ws/v5/public"

    def rest_endpoint(self) -> str:
        return self.rest_url or REST

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return None if native_symbol.endswith("-SWAP") else unified_instrument(native_symbol)

    # ---- metadata (cold path, class level) ---------------------------------------------------

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return REST

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        """Instruments and 24 h tickers of the market; on SWAP also every perpetual's funding times."""
        inst_type = _inst_type(market)
        base = rest_base.rstrip("/")
        requests = [RestRequest("GET", f"{base}/api/v5/public/instruments?instType={inst_type}", "instruments")]
        if inst_type == "SWAP":
            requests.append(RestRequest("GET", f"{base}/api/v5/public/funding-rate?instId=ANY", "funding"))
        requests.append(RestRequest("GET", f"{base}/api/v5/market/tickers?instType={inst_type}", "tickers"))
        return requests

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        """Every spot pair (``market="spot"``) or linear USDT/USDC swap (``"perp"``) OKX lists, in base units."""
        inst_type = _inst_type(market)
        raw = _decode_list(market, "instruments", _rest_instruments, _answer_data(market, "instruments", bodies))
        tickers: dict[str, _RestTicker] = {}
        if "tickers" in bodies:  # volumes only rank the universe: the listing stands without them
            tickers = {t.instId: t for t in _decode_list(market, "tickers", _rest_tickers, _answer_data(market, "tickers", bodies))}
        funding: dict[str, _RestFunding] = {}
        if inst_type == "SWAP" and "funding" in bodies:
            funding = {f.instId: f for f in _decode_list(market, "funding", _rest_funding, _answer_data(market, "funding", bodies))}
        out: list[InstrumentMeta] = []
        for item in raw:
            if item.instType and item.instType != inst_type:
                raise MetadataError(f"okx {market}: {item.instId} is instType {item.instType}, asked for {inst_type}")
            meta = _meta(market, item, tickers.get(item.instId), funding.get(item.instId))
            if meta is not None:
                out.append(meta)
        return out

    # ---- subscriptions ------------------------------------------------------------------------

    def _args(self, native: str) -> list[dict[str, str]]:
        args = [{"channel": "bbo-tbt", "instId": native}, {"channel": "books", "instId": native}]
        if self.kind:
            args.append({"channel": "funding-rate", "instId": native})
        return args

    def subscribe_messages(self) -> list[str]:
        """``subscribe`` requests of at most ``max_args_per_request`` args and 64 KB of args each."""
        args = [a for native in self.subscribed_natives() for a in self._args(native)]
        return _batches("subscribe", args, self.subscription_limits.max_args_per_request)

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        return _batches("unsubscribe", self._args(self.native_of(instrument_id)), self.subscription_limits.max_args_per_request)

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        arg = [{"channel": "books", "instId": self.native_of(instrument_id)}]
        return [
            msgspec.json.encode({"op": "unsubscribe", "args": arg}).decode(),
            msgspec.json.encode({"op": "subscribe", "args": arg}).decode(),
        ]

    # ---- parsing ------------------------------------------------------------------------

    def _lookup(self, native: str) -> tuple[int, float, bool] | None:
        """Instrument id and size scale of a symbol (first sight; FrameError without a known unit)."""
        iid = self.instrument_id(native)
        if iid is None:
            return None
        mul, div = size_scale(self.contract_size(native))
        hit = self._scale[native] = (iid, div, True) if div != 1.0 else (iid, mul, False)
        return hit

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        if frame == b"pong" or frame == "pong":
            return PONG
        try:
            env = _env.decode(frame)
            arg = env.arg
            if env.event is not None:
                if env.event in ("subscribe", "unsubscribe"):
                    return NOTHING
                if env.event == "notice":
                    return Parsed(reconnect=f"okx notice {env.code}: {env.msg}")
                if env.code == THROTTLED:
                    # A subscribe refused for the connection's request budget: what it asked for
                    # never comes. A new connection (after the session's back-off) has a fresh budget.
                    return Parsed(reconnect=f"okx {THROTTLED}: {env.msg} (subscriptions refused)")
                raise FrameError(f"okx: {env.event} {env.code}: {env.msg}")
            if arg is None or not env.data:
                raise FrameError("okx: frame has neither event nor arg+data")
            channel = arg.channel
            if channel == "bbo-tbt" or channel == "books5":
                return self._on_bbo(arg.instId, _books.decode(env.data), recv_ts_ns)
            if channel == "books" or channel.startswith("books"):
                return self._on_books(arg.instId, env.action, _books.decode(env.data), recv_ts_ns)
            if channel == "tickers":
                return self._on_tickers(arg.instId, _tickers.decode(env.data), recv_ts_ns)
            if channel == "funding-rate":
                return self._on_funding(arg.instId, _funding.decode(env.data), recv_ts_ns)
            return NOTHING  # other public channels (mark-price, trades …) carry nothing we use
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise FrameError(f"okx: {exc}") from None

    def _on_bbo(self, native: str, data: list[_BookData], recv_ts_ns: int) -> Parsed:
        hit = self._scale.get(native) or self._lookup(native)
        if hit is None or not data:
            return NOTHING
        iid, scale, divide = hit
        d = data[0]
        if not d.bids or not d.asks:
            return NOTHING
        b, a = d.bids[0], d.asks[0]
        try:
            bp, bs, ap, as_ = float(b[0]), float(b[1]), float(a[0]), float(a[1])
            ts = int(d.ts) * 1_000_000
        except (ValueError, IndexError):
            raise FrameError(f"okx: bad bbo level {b!r} / {a!r}") from None
        if scale != 1.0:  # contracts -> base
            if divide:
                bs /= scale
                as_ /= scale
            else:
                bs *= scale
                as_ *= scale
        return Parsed((self.quote(iid, bp, bs, ap, as_, ts, recv_ts_ns, d.seqId or 0),))

    def _on_tickers(self, native: str, data: list[_Ticker], recv_ts_ns: int) -> Parsed:
        hit = self._scale.get(native) or self._lookup(native)
        if hit is None or not data:
            return NOTHING
        iid, scale, divide = hit
        t = data[0]
        if t.bidPx is None or t.askPx is None:
            return NOTHING
        bs, as_ = t.bidSz or 0.0, t.askSz or 0.0
        if scale != 1.0:  # contracts -> base
            if divide:
                bs /= scale
                as_ /= scale
            else:
                bs *= scale
                as_ *= scale
        return Parsed((self.quote(iid, t.bidPx, bs, t.askPx, as_, t.ts * 1_000_000, recv_ts_ns),))

    def _on_funding(self, native: str, data: list[_FundingData], recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(native)
        if iid is None or not data:
            return NOTHING
        f = data[0]
        if f.fundingRate is None:
            return NOTHING  # some pushes carry only nextFundingRate
        if f.nextFundingTime > f.fundingTime > 0:
            interval_h = (f.nextFundingTime - f.fundingTime) / 3_600_000  # the frame's own spacing
        else:  # pre-2024 frames carry no nextFundingTime: the listing's interval (0: not known)
            meta = self.metadata.get(native)
            interval_h = meta.funding_interval_hours if meta is not None else 0.0
        ts = f.ts * 1_000_000 if f.ts else recv_ts_ns
        rate: float = f.fundingRate
        return Parsed((self.funding(iid, rate, interval_h, f.fundingTime * 1_000_000, ts, recv_ts_ns),))

    def _on_books(self, native: str, action: str | None, data: list[_BookData], recv_ts_ns: int) -> Parsed:
        hit = self._scale.get(native) or self._lookup(native)
        if hit is None or not data:
            return NOTHING
        iid, scale, divide = hit
        d = data[0]
        book = self.book(iid)
        if action == "snapshot":
            book.clear()
            if not _apply(book, d, scale, divide):
                return self.resync(iid, "bad book level in snapshot", recv_ts_ns)
            if d.seqId is not None:
                book.seq = d.seqId
        else:
            if not book.valid:
                return NOTHING  # waiting for the snapshot of a resubscription
            if d.prevSeqId is not None and d.prevSeqId != book.seq:
                return self.resync(iid, f"sequence gap: prevSeqId={d.prevSeqId} but last seqId={book.seq}", recv_ts_ns)
            if not _apply(book, d, scale, divide):
                return self.resync(iid, "bad book level", recv_ts_ns)
            if d.seqId is not None:
                book.seq = d.seqId
        # The venue's strings (contracts on SWAP) are what it checksums: the book keeps them.
        if d.checksum is not None and book.checksum_crc32(25) != d.checksum:
            return self.resync(iid, f"checksum mismatch (venue {d.checksum})", recv_ts_ns)
        if book.is_crossed():
            return self.resync(iid, "book crossed", recv_ts_ns)
        event = self.book_event(iid, book, int(d.ts) * 1_000_000, recv_ts_ns, book.seq)
        if not book.valid:
            book.valid = True
            return Parsed((self.synced(iid, recv_ts_ns), event))
        return Parsed((event,))


class OkxSwap(Okx):
    """OKX USDT-margined (linear) perpetual swaps: every size on the wire is contracts."""

    markets: ClassVar[tuple[str, ...]] = ("perp",)
    sizes_in_contracts: ClassVar[bool] = True
    subscription_limits: ClassVar[SubscriptionLimits] = _limits(3)  # bbo-tbt + books + funding-rate
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()
    max_messages_per_s = subscription_limits.max_requests_per_s

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol) if native_symbol.endswith("-SWAP") else None


def _apply(book: L2Book, d: _BookData, scale: float, divide: bool) -> bool:
    """Set every level in base units, keeping the venue's strings for the checksum.

    False on a level whose price is not finite and > 0 or whose size is not finite and >= 0
    (the caller drops the book and resyncs); FrameError on a level that is not numbers.
    """
    try:
        return book.apply_raw_bids(d.bids, scale, divide) and book.apply_raw_asks(d.asks, scale, divide)
    except (ValueError, IndexError):
        book.clear()
        raise FrameError("okx: bad book level") from None


def size_scale(contract_size: float) -> tuple[float, float]:
    """(multiplier, divisor) with ``multiplier / divisor == contract_size`` and the divisor an
    integer when the contract is a decimal fraction of a coin (0.01 → (1, 100)), so that a
    contract count divides exactly into the base size the venue means."""
    if 0.0 < contract_size < 1.0:
        inverse = round(1.0 / contract_size)
        if abs(inverse * contract_size - 1.0) < 1e-12:
            return 1.0, float(inverse)
    return contract_size, 1.0


def _batches(op: str, args: list[dict[str, str]], max_args: int) -> list[str]:
    """``op`` requests carrying ``args`` in order, each within ``max_args`` args and 64 KB of args."""
    out: list[str] = []
    chunk: list[str] = []
    size = 0
    for arg in args:
        text = msgspec.json.encode(arg).decode()
        if chunk and (len(chunk) >= max_args or size + len(text) + 1 > MAX_ARGS_BYTES):
            out.append(f'{{"op":"{op}","args":[{",".join(chunk)}]}}')
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
    if chunk:
        out.append(f'{{"op":"{op}","args":[{",".join(chunk)}]}}')
    return out


def _inst_type(market: str) -> str:
    if market == "spot":
        return "SPOT"
    if market == "perp":
        return "SWAP"
    raise ValueError(f"okx: no {market!r} market (has spot, perp)")


def _meta(market: str, item: _RestInstrument, ticker: _RestTicker | None, funding: _RestFunding | None) -> InstrumentMeta | None:
    """One listing entry in our units, or None when it is not a spot pair / linear swap we can name."""
    native = item.instId
    if market == "spot":
        base, quote = item.baseCcy, item.quoteCcy
        contract = Decimal(1)
    else:
        if item.ctType != "linear":
            return None  # inverse swaps (ctValCcy USD, settled in the coin) are not traded here
        family = (item.instFamily or item.uly or native.removesuffix("-SWAP")).split("-")
        if len(family) != 2:
            return None
        base, quote = family
        if item.settleCcy and item.settleCcy != quote:
            return None
        if item.ctValCcy and item.ctValCcy != base:
            return None  # a contract counted in another coin than the base: no base unit to convert to
        contract = _decimal(item.ctVal, f"{native} ctVal") * (_decimal(item.ctMult, f"{native} ctMult") if item.ctMult else Decimal(1))
        if contract <= 0:
            raise MetadataError(f"okx perp: {native} is a linear swap without a contract size (ctVal {item.ctVal!r})")
    unified = unified_instrument(native)
    if unified is None:
        return None
    try:
        inst = parse_instrument(unified)
    except InstrumentError:
        return None  # a code our instrument names cannot carry
    if (inst.base, inst.quote) != (base, quote):
        return None  # the instId and the currencies disagree: leave it out rather than guess
    status = STATES.get(item.state, HALTED)
    interval_h = 0.0
    if funding is not None and funding.fundingTime and funding.nextFundingTime:
        try:
            spacing_ms = int(funding.nextFundingTime) - int(funding.fundingTime)
        except ValueError:
            raise MetadataError(f"okx perp: {native} funding times are not integers: {funding!r}") from None
        interval_h = spacing_ms / 3_600_000 if spacing_ms > 0 else 0.0
    last = volume = 0.0
    if ticker is not None:
        last = float(_decimal(ticker.last, f"{native} last"))
        volume = float(_decimal(ticker.volCcy24h, f"{native} volCcy24h"))
        if market == "perp":
            volume *= last  # SWAP volCcy24h counts base coins
    return InstrumentMeta(
        venue="okx",
        market=market,
        native_symbol=native,
        instrument=unified,
        status=status,
        venue_status=item.state,
        contract_size=float(contract),
        lot_size=float(_decimal(item.lotSz, f"{native} lotSz") * contract),
        tick_size=float(_decimal(item.tickSz, f"{native} tickSz")),
        min_size=float(_decimal(item.minSz, f"{native} minSz") * contract),
        min_notional=0.0,  # OKX has none
        funding_interval_hours=interval_h,
        quote_volume_24h=volume,
        last_price=last,
    )


INFO = VenueInfo(
    name=Okx.name,
    markets={"spot": Okx, "perp": OkxSwap},
    taker_fee_bps={"spot": 10.0, "perp": 5.0},
    ccxt_id="okx",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES)),
)
