"""Bybit v5 public WebSocket, spot and linear: orderbook.1 BBO, orderbook.50 L2, tickers funding.

Endpoints ``wss://stream.bybit.com/v5/public/spot`` and ``…/v5/public/linear``. Subscribe
``{"req_id":"1","op":"subscribe","args":["orderbook.1.BTCUSDT", …]}`` (spot: at most 10 args per
request) → ``{"success":true,"ret_msg":"subscribe","conn_id":"…","req_id":"1","op":"subscribe"}``;
a failure says ``"success":false,"ret_msg":"Invalid topic: …"``.

Messages read::

    {"topic":"orderbook.1.BTCUSDT","type":"snapshot"|"delta","ts":1680673820717,
     "data":{"s":"BTCUSDT","b":[["28552.00","0.047"]],"a":[["28552.10","25.433"]],"u":7003305,"seq":50193540681}}
    {"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","cs":…,"ts":…,"data":{"symbol":"BTCUSDT",
     "bid1Price":…,"bid1Size":…,"ask1Price":…,"ask1Size":…,"fundingRate":"0.0001","nextFundingTime":"…",
     "fundingIntervalHour":"8"}}                        (linear; a delta only carries what changed)
    {"success":true,"ret_msg":"pong","conn_id":"…","op":"ping"}

Book rules: a snapshot replaces the book (``u == 1`` after a service restart is a snapshot too);
each delta's ``u`` must be the previous ``u + 1``; size "0" deletes. Bybit has no REST merge
for these topics: on a gap the instrument's topics are resubscribed for a fresh snapshot.
Level-1 books re-push a snapshot after 3 s without change.

Heartbeat: send ``{"req_id":"ping","op":"ping"}`` every 20 s; the server cuts a connection after
10 minutes without ping or data.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import Funding, MarketEvent
from arbsniper.venues.base import DEMO_BASES, NOTHING, PONG, FrameError, Heartbeat, Parsed, Venue, VenueInfo

PUBLIC_WS = "wss://stream.bybit.com"
REST = "https://api.bybit.com"
SPOT_QUOTES = ("USDT", "USDC", "BTC", "ETH", "EUR", "BRL", "DAI", "MNT", "TRY", "PLN")

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


_env = msgspec.json.Decoder(_Envelope)
_book = msgspec.json.Decoder(_Book, strict=False)
_ticker = msgspec.json.Decoder(_Ticker, strict=False)


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


class _Level1:
    __slots__ = ("u", "bid", "ask")

    def __init__(self) -> None:
        self.u = 0
        self.bid: Level | None = None
        self.ask: Level | None = None


class _TickerState:
    __slots__ = ("bid", "bid_size", "ask", "ask_size", "rate", "next_ms", "interval_h")

    def __init__(self) -> None:
        self.bid = self.bid_size = self.ask = self.ask_size = 0.0
        self.rate: float | None = None
        self.next_ms = 0
        self.interval_h = 8.0


class Bybit(Venue):
    name = "bybit"
    markets = ("spot", "perp")
    max_instruments_per_connection: ClassVar[int] = 100
    max_messages_per_s = 10.0
    book_topic_depth: ClassVar[int] = 50

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.category = "linear" if self.kind else "spot"
        self.subscribe_batch = 10  # spot's limit; kept for linear too
        self._l1: dict[int, _Level1] = {}
        self._tickers: dict[int, _TickerState] = {}
        self._req = 0

    def heartbeat(self) -> Heartbeat:
        return Heartbeat("json", 20.0, 30.0, '{"req_id":"ping","op":"ping"}')

    def ws_url(self) -> str:
        return f"{self.base_url or PUBLIC_WS}/v5/public/{self.category}"

    def rest_endpoint(self) -> str:
        return self.rest_url or REST

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol, self.kind == 1)

    def _topics(self, native: str) -> list[str]:
        topics = [f"orderbook.1.{native}", f"orderbook.{self.book_topic_depth}.{native}"]
        if self.kind:
            topics.append(f"tickers.{native}")
        return topics

    def _request(self, op: str, args: list[str]) -> str:
        self._req += 1
        return msgspec.json.encode({"req_id": str(self._req), "op": op, "args": args}).decode()

    def subscribe_messages(self) -> list[str]:
        topics = [t for native in self.subscribed_natives() for t in self._topics(native)]
        return [self._request("subscribe", topics[i : i + self.subscribe_batch]) for i in range(0, len(topics), self.subscribe_batch)]

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
        for p, q in d.b:
            book.set_bid(p, q)
        for p, q in d.a:
            book.set_ask(p, q)
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
        if st.bid is None or st.ask is None:
            return NOTHING
        return Parsed((self.quote(iid, st.bid[0], st.bid[1], st.ask[0], st.ask[1], env.ts * 1_000_000, recv_ts_ns, d.seq),))

    def _on_ticker(self, env: _Envelope, t: _Ticker, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(t.symbol)
        if iid is None:
            return NOTHING
        st = self._tickers.get(iid)
        if st is None or env.type == "snapshot":
            st = self._tickers[iid] = _TickerState()
        # A delta carries only the fields that changed: merge into the last snapshot.
        if t.bid1Price is not None:
            st.bid = t.bid1Price
        if t.bid1Size is not None:
            st.bid_size = t.bid1Size
        if t.ask1Price is not None:
            st.ask = t.ask1Price
        if t.ask1Size is not None:
            st.ask_size = t.ask1Size
        funding_changed = False
        if t.fundingRate not in (None, ""):
            st.rate = float(t.fundingRate)  # type: ignore[arg-type]
            funding_changed = True
        if t.nextFundingTime not in (None, ""):
            st.next_ms = int(t.nextFundingTime)  # type: ignore[arg-type]
            funding_changed = True
        if t.fundingIntervalHour:
            st.interval_h = t.fundingIntervalHour
        ts = env.ts * 1_000_000
        out: list[MarketEvent] = []
        if (t.bid1Price is not None or t.ask1Price is not None) and st.bid and st.ask:
            out.append(self.quote(iid, st.bid, st.bid_size, st.ask, st.ask_size, ts, recv_ts_ns, env.cs))
        if funding_changed and st.rate is not None:
            out.append(Funding(self.venue_id, iid, st.rate, st.interval_h, st.next_ms * 1_000_000, ts, recv_ts_ns))
        return Parsed(tuple(out)) if out else NOTHING


INFO = VenueInfo(
    name=Bybit.name,
    markets={"spot": Bybit, "perp": Bybit},
    taker_fee_bps={"spot": 10.0, "perp": 5.5},
    ccxt_id="bybit",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES)),
)
