"""OKX v5 public WebSocket: spot and USDT swaps on one endpoint; bbo-tbt, books (+CRC32), funding.

Endpoint ``wss://ws.okx.com:8443/ws/v5/public``. Subscribe
``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}, …]}`` → one ack per arg
``{"event":"subscribe","arg":{…},"connId":"…"}``; errors ``{"event":"error","code":"60012","msg":"…"}``;
``{"event":"notice","code":"64008",…}`` announces a service upgrade disconnect (reconnect now).

Messages read::

    {"arg":{"channel":"bbo-tbt","instId":"BTC-USDT-SWAP"},"data":[{"asks":[["38632.4","727","0","22"]],
     "bids":[["38632.3","990","0","22"]],"ts":"1651761120004"}]}
    {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot"|"update","data":[{"asks":[[px,sz,"0",n]…],
     "bids":[…],"ts":"…","checksum":-1234,"seqId":…,"prevSeqId":…}]}
    {"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"bidPx":…,"bidSz":…,"askPx":…,"askSz":…,"ts":…}]}
    {"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001",
     "fundingTime":"…","nextFundingTime":"…","ts":"…"}]}

Book rules: a snapshot replaces the book; an update's ``prevSeqId`` must equal the last ``seqId``
(fields absent in pre-2023 messages are tolerated); after every message the signed CRC32 of the
top 25 interleaved ``bidPx:bidSz:askPx:askSz`` original strings must equal ``checksum``. A gap or
mismatch drops the book and resubscribes the instrument's ``books`` channel (fresh snapshot).

Heartbeat: send the text ``ping`` when nothing arrived for < 30 s, expect ``pong``; the server
drops connections idle for 30 s. 480 subscribe requests per hour per connection.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import Funding
from arbsniper.venues.base import DEMO_BASES, NOTHING, PONG, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import L2Book

PUBLIC_WS = "wss://ws.okx.com:8443"
REST = "https://www.okx.com"

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


def native_symbol(instrument: str) -> str:
    """``BTC/USDT`` → ``BTC-USDT``; ``BTC/USDT:USDT`` → ``BTC-USDT-SWAP``; ``BTC/USD:BTC`` → ``BTC-USD-SWAP``."""
    inst = parse_instrument(instrument)
    return f"{inst.base}-{inst.quote}-SWAP" if inst.is_perp else f"{inst.base}-{inst.quote}"


def unified_instrument(native: str) -> str | None:
    parts = native.split("-")
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 3 and parts[2] == "SWAP":
        base, quote = parts[0], parts[1]
        settle = base if quote == "USD" else quote  # BTC-USD-SWAP is coin-margined (inverse)
        return f"{base}/{quote}:{settle}"
    return None  # dated futures (BTC-USD-220527), options


class Okx(Venue):
    name = "okx"
    markets = ("spot", "perp")
    max_instruments_per_connection: ClassVar[int] = 100
    max_messages_per_s = 3.0
    subscribe_batch: ClassVar[int] = 60  # args per request (≤ 64 KB, 480 requests/hour)

    def heartbeat(self) -> Heartbeat:
        return Heartbeat("text", 20.0, 30.0, "ping")

    def ws_url(self) -> str:
        return (self.base_url or PUBLIC_WS) + "/ws/v5/public"

    def rest_endpoint(self) -> str:
        return self.rest_url or REST

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol)

    def _args(self, native: str) -> list[dict[str, str]]:
        args = [{"channel": "bbo-tbt", "instId": native}, {"channel": "books", "instId": native}]
        if self.kind:
            args.append({"channel": "funding-rate", "instId": native})
        return args

    def subscribe_messages(self) -> list[str]:
        args = [a for native in self.subscribed_natives() for a in self._args(native)]
        return [
            msgspec.json.encode({"op": "subscribe", "args": args[i : i + self.subscribe_batch]}).decode()
            for i in range(0, len(args), self.subscribe_batch)
        ]

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        arg = [{"channel": "books", "instId": self.native_of(instrument_id)}]
        return [
            msgspec.json.encode({"op": "unsubscribe", "args": arg}).decode(),
            msgspec.json.encode({"op": "subscribe", "args": arg}).decode(),
        ]

    # ---- parsing ------------------------------------------------------------------------

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
        iid = self.instrument_id(native)
        if iid is None or not data:
            return NOTHING
        d = data[0]
        if not d.bids or not d.asks:
            return NOTHING
        b, a = d.bids[0], d.asks[0]
        try:
            bp, bs, ap, as_ = float(b[0]), float(b[1]), float(a[0]), float(a[1])
            ts = int(d.ts) * 1_000_000
        except (ValueError, IndexError):
            raise FrameError(f"okx: bad bbo level {b!r} / {a!r}") from None
        return Parsed((self.quote(iid, bp, bs, ap, as_, ts, recv_ts_ns, d.seqId or 0),))

    def _on_tickers(self, native: str, data: list[_Ticker], recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(native)
        if iid is None or not data:
            return NOTHING
        t = data[0]
        if t.bidPx is None or t.askPx is None:
            return NOTHING
        return Parsed((self.quote(iid, t.bidPx, t.bidSz or 0.0, t.askPx, t.askSz or 0.0, t.ts * 1_000_000, recv_ts_ns),))

    def _on_funding(self, native: str, data: list[_FundingData], recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(native)
        if iid is None or not data:
            return NOTHING
        f = data[0]
        if f.fundingRate is None:
            return NOTHING  # some pushes carry only nextFundingRate
        interval_h = 8.0
        if f.nextFundingTime > f.fundingTime > 0:
            interval_h = (f.nextFundingTime - f.fundingTime) / 3_600_000
        ts = f.ts * 1_000_000 if f.ts else recv_ts_ns
        rate: float = f.fundingRate
        return Parsed((Funding(self.venue_id, iid, rate, interval_h, f.fundingTime * 1_000_000, ts, recv_ts_ns),))

    def _on_books(self, native: str, action: str | None, data: list[_BookData], recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(native)
        if iid is None or not data:
            return NOTHING
        d = data[0]
        book = self.book(iid)
        if action == "snapshot":
            book.clear()
            _apply(book, d)
            if d.seqId is not None:
                book.seq = d.seqId
        else:
            if not book.valid:
                return NOTHING  # waiting for the snapshot of a resubscription
            if d.prevSeqId is not None and d.prevSeqId != book.seq:
                return self.resync(iid, f"sequence gap: prevSeqId={d.prevSeqId} but last seqId={book.seq}", recv_ts_ns)
            _apply(book, d)
            if d.seqId is not None:
                book.seq = d.seqId
        if d.checksum is not None and book.checksum_crc32(25) != d.checksum:
            return self.resync(iid, f"checksum mismatch (venue {d.checksum})", recv_ts_ns)
        if book.is_crossed():
            return self.resync(iid, "book crossed", recv_ts_ns)
        event = self.book_event(iid, book, int(d.ts) * 1_000_000, recv_ts_ns, book.seq)
        if not book.valid:
            book.valid = True
            return Parsed((self.synced(iid, recv_ts_ns), event))
        return Parsed((event,))


def _apply(book: L2Book, d: _BookData) -> None:
    try:
        for lvl in d.bids:
            price, size = lvl[0], lvl[1]
            book.set_bid(float(price), float(size), (price, size))
        for lvl in d.asks:
            price, size = lvl[0], lvl[1]
            book.set_ask(float(price), float(size), (price, size))
    except (ValueError, IndexError):
        book.clear()
        raise FrameError("okx: bad book level") from None


INFO = VenueInfo(
    name=Okx.name,
    markets={"spot": Okx, "perp": Okx},
    taker_fee_bps={"spot": 10.0, "perp": 5.0},
    ccxt_id="okx",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES)),
)
