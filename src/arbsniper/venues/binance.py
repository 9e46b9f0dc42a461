"""Binance spot and USD-M perpetuals: combined streams, bookTicker BBO, diff depth + REST snapshot.

Endpoints: spot ``wss://stream.binance.com:9443/stream`` (REST ``https://api.binance.com``),
USD-M ``wss://fstream.binance.com/stream`` (REST ``https://fapi.binance.com``). We connect to
the combined-stream endpoint and send ``SUBSCRIBE`` frames, so every event arrives wrapped::

    {"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35190000",
     "B":"31.21000000","a":"25.36520000","A":"40.66000000"}}                      (spot BBO)
    {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":600859600576,"s":"BTCUSDT",
     "b":"7.6110","B":"2","a":"7.6120","A":"297","T":1626992741012,"E":1626992741017}}  (USD-M)
    {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":…,"s":"BTCUSDT","U":157,
     "u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}            (USD-M adds "T","pu")
    {"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":…,"s":"BTCUSDT",
     "p":"11794.15","r":"0.00038167","T":1562306400000}}                    (USD-M funding)
    {"result":null,"id":1}                                                   (subscribe ack)
    {"e":"serverShutdown","E":1770123456789}                              (reconnect now)

Heartbeat: the server pings (spot every 20 s, USD-M every 3 min); we pong with the payload.
Connections live 24 h; spot accepts 5 incoming messages/s, USD-M 10; 1024 streams/connection.

Local book rules differ between the two markets (Binance docs, "How to manage a local order book"):
- spot: drop events with ``u <=`` the book's last id; an event with ``U`` beyond the last id + 1
  is a gap: resync (``book.continuity``, the rule KuCoin shares); so the first kept event after
  a snapshot straddles ``lastUpdateId + 1``;
- USD-M: drop events with ``u < lastUpdateId``; the first kept event has
  ``U <= lastUpdateId <= u``; then every event's ``pu`` must equal the previous ``u``.
Depth events wait in a ``book.DeltaBuffer`` while the REST snapshot is on the way.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import Funding
from arbsniper.venues.base import DEMO_BASES, NOTHING, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import APPLY, STALE, DeltaBuffer, L2Book, continuity

SPOT_WS = "wss://stream.binance.com:9443"
PERP_WS = "wss://fstream.binance.com"
SPOT_REST = "https://api.binance.com"
PERP_REST = "https://fapi.binance.com"

# Quote currencies Binance lists, longest first so "FDUSD" wins over "USD".
_QUOTES = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDP", "BIDR", "IDRT", "BTC", "ETH", "BNB", "EUR",
          "TRY", "BRL", "GBP", "AUD", "DAI", "USD", "JPY", "RUB", "UAH", "ZAR", "PLN", "RON", "ARS",
          "MXN", "COP", "CZK", "XRP", "TRX", "DOGE")
QUOTES: tuple[str, ...] = tuple(sorted(_QUOTES, key=len, reverse=True))

Level = tuple[float, float]


class _Envelope(msgspec.Struct):
    stream: str | None = None
    data: msgspec.Raw = msgspec.Raw()
    e: str | None = None  # raw (unwrapped) events
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


_env = msgspec.json.Decoder(_Envelope)
_ticker = msgspec.json.Decoder(_BookTicker, strict=False)
_depth = msgspec.json.Decoder(_Depth, strict=False)
_mark = msgspec.json.Decoder(_MarkPrice, strict=False)
_snapshot = msgspec.json.Decoder(_Snapshot, strict=False)

FUNDING_INTERVAL_H = 8.0  # USD-M default; a few symbols use 4 h (REST fundingInfo, not streamed)


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


class Binance(Venue):
    name = "binance"
    markets = ("spot", "perp")
    max_instruments_per_connection: ClassVar[int] = 300  # 3 streams each, 1024 streams/connection
    lifetime_s: ClassVar[float] = 23.5 * 3600.0
    subscribe_batch: ClassVar[int] = 100  # streams per SUBSCRIBE frame

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.perp = self.market == "perp"
        # incoming-message limits (pongs count): spot 5/s, USD-M 10/s; keep a margin
        self.max_messages_per_s = 8.0 if self.perp else 4.0
        self._pending: DeltaBuffer[_Depth] = DeltaBuffer()
        self._first_after_snapshot: set[int] = set()
        self._sub_id = 0

    # ---- protocol facts ---------------------------------------------------------------------

    def heartbeat(self) -> Heartbeat:
        # Server pings: spot every 20 s, USD-M every 3 min; bookTicker and markPrice@1s keep
        # frames coming far more often, so a minute of silence means the socket is dead.
        return Heartbeat("server-ping", 180.0 if self.perp else 20.0, 60.0)

    def ws_url(self) -> str:
        return (self.base_url or (PERP_WS if self.perp else SPOT_WS)) + "/stream"

    def rest_endpoint(self) -> str:
        return self.rest_url or (PERP_REST if self.perp else SPOT_REST)

    def streams(self) -> list[str]:
        out = []
        for native in self.subscribed_natives():
            s = native.lower()
            out += [f"{s}@bookTicker", f"{s}@depth@100ms"]
            if self.perp:
                out.append(f"{s}@markPrice@1s")
        return out

    def subscribe_messages(self) -> list[str]:
        streams = self.streams()
        msgs = []
        for i in range(0, len(streams), self.subscribe_batch):
            self._sub_id += 1
            msgs.append(msgspec.json.encode({"method": "SUBSCRIBE", "params": streams[i : i + self.subscribe_batch], "id": self._sub_id}).decode())
        return msgs

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
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
        # Spot bookTicker carries no time: the receive time is the best stamp there is.
        ts = t.E * 1_000_000 if t.E else recv_ts_ns
        return Parsed((self.quote(iid, t.b, t.B, t.a, t.A, ts, recv_ts_ns, t.u),))

    def _on_mark(self, m: _MarkPrice, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(m.s)
        if iid is None or m.r is None:
            return NOTHING
        return Parsed((Funding(self.venue_id, iid, m.r, FUNDING_INTERVAL_H, m.T * 1_000_000, m.E * 1_000_000, recv_ts_ns),))

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
        self._apply(book, d)
        if book.is_crossed():
            return self.resync(iid, "book crossed after update", recv_ts_ns)
        ts = (d.T or d.E) * 1_000_000
        return Parsed((self.book_event(iid, book, ts, recv_ts_ns, d.u),))

    def _restart(self, iid: int, d: _Depth, reason: str, recv_ts_ns: int) -> Parsed:
        """A gap: drop the book, ask for a snapshot, and buffer from this event on."""
        parsed = self.resync(iid, reason, recv_ts_ns)
        self._pending.restart(iid, [d])
        return parsed

    @staticmethod
    def _apply(book: L2Book, d: _Depth) -> None:
        set_bid = book.set_bid
        set_ask = book.set_ask
        for p, q in d.b:
            set_bid(p, q)
        for p, q in d.a:
            set_ask(p, q)
        book.seq = d.u

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
        for p, q in snap.bids:
            book.set_bid(p, q)
        for p, q in snap.asks:
            book.set_ask(p, q)
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
            self._apply(book, d)
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
            self._apply(book, d)
        if first:
            self._first_after_snapshot.add(iid)  # the next live event must bracket the snapshot
        else:
            self._first_after_snapshot.discard(iid)
        return None


_SHUTDOWN = Parsed(reconnect="server shutdown announced")

INFO = VenueInfo(
    name=Binance.name,
    markets={"spot": Binance, "perp": Binance},
    taker_fee_bps={"spot": 10.0, "perp": 5.0},
    ccxt_id="binance",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES), "USDC/USDT"),
)
