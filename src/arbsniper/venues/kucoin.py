"""KuCoin spot and futures public market data (token handshake, ticker, level-2 with REST snapshot).

Protocol (shared/venues.md §5; KuCoin futures docs as quoted in kucoin-api-docs and ccxt):
- Before connecting, ``POST {rest}/api/v1/bullet-public`` returns a token, the WebSocket endpoint
  and the ping interval/timeout. Connect to ``{endpoint}?token=…&connectId=…``; the server says
  ``{"type":"welcome"}`` and only then accepts subscriptions. Spot REST is
  ``https://api.kucoin.com``, futures REST ``https://api-futures.kucoin.com``.
- Keep-alive: the client sends ``{"id":…,"type":"ping"}`` every ``pingInterval`` ms; the server
  answers ``{"type":"pong"}``. No pong within ``pingTimeout`` means the link is dead.
- Subscribe ``{"id":1,"type":"subscribe","topic":"/market/ticker:BTC-USDT,ETH-USDT",
  "privateChannel":false,"response":true}`` → ``{"id":"1","type":"ack"}``.
- Spot BBO ``/market/ticker:{sym}`` (every 100 ms); spot L2 ``/market/level2:{sym}`` increments
  ``{sequenceStart, sequenceEnd, changes:{asks:[[px,sz,seq]],bids:…}}`` applied on a REST snapshot
  (``GET /api/v1/market/orderbook/level2_100``, public): drop increments with ``sequenceEnd <=``
  the snapshot sequence; continue only while ``sequenceStart <= last sequenceEnd + 1``; in the
  increment that straddles the snapshot, skip level changes whose own sequence is already in it;
  price "0" is a no-op that still advances the sequence; size "0" deletes the level.
- Futures BBO ``/contractMarket/tickerV2:{sym}`` (``ts`` in ns); futures L2
  ``/contractMarket/level2:{sym}`` one change per message, ``{"sequence":n,"change":"px,side,qty"}``
  with ``sequence`` exactly the previous plus one, on a REST snapshot
  ``GET /api/v1/level2/snapshot?symbol=…``; funding ``/contract/instrument:{sym}`` subject
  ``funding.rate`` (rate per 8 h funding period). Futures sizes are contracts of ``multiplier``
  base units (XBTUSDTM = 0.001 BTC); events carry base units.
- Symbols: spot ``BTC-USDT`` ↔ ``BTC/USDT``; futures ``XBTUSDTM`` ↔ ``BTC/USDT:USDT`` (``XBT`` is
  BTC, ``M`` marks a perpetual).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, NamedTuple

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import Book, Funding, MarketEvent
from arbsniper.venues._checks import valid_level
from arbsniper.venues.base import FrameError, Heartbeat, Venue
from arbsniper.venues.book import L2Book

if TYPE_CHECKING:
    import aiohttp

REST_URLS = {"spot": "https://api.kucoin.com", "perp": "https://api-futures.kucoin.com"}
BULLET_PATH = "/api/v1/bullet-public"
SPOT_SNAPSHOT_PATH = "/api/v1/market/orderbook/level2_100?symbol="
PERP_SNAPSHOT_PATH = "/api/v1/level2/snapshot?symbol="

# Contract size (base units per contract) of the perpetuals we know; the venue publishes it in
# GET /api/v1/contracts/active as ``multiplier``.
CONTRACT_MULTIPLIERS = {
    "XBTUSDTM": 0.001,
    "ETHUSDTM": 0.01,
    "SOLUSDTM": 0.1,
    "XBTUSDCM": 0.001,
    "ETHUSDCM": 0.01,
    "XBTUSDM": 1.0,  # inverse: 1 USD per contract, sizes stay in contracts (USD)
}
FUNDING_INTERVAL_HOURS = 8.0
PENDING_LIMIT = 5000  # buffered increments while waiting for a snapshot; beyond this, start over

SPOT_QUOTES = ("USDT", "USDC")
PERP_QUOTES = ("USDT",)
CONVERSION_SPOT = ("USDC/USDT",)


def native_symbol(market: str, instrument: str) -> str:
    """KuCoin's symbol for a unified instrument (``BTC/USDT`` → ``BTC-USDT``, ``BTC/USDT:USDT`` → ``XBTUSDTM``)."""
    inst = parse_instrument(instrument)
    if market == "spot":
        if inst.is_perp:
            raise ValueError(f"kucoin spot: {instrument} is a perpetual")
        return f"{inst.base}-{inst.quote}"
    base = "XBT" if inst.base == "BTC" else inst.base
    if inst.settle == inst.quote or (inst.quote == "USD" and inst.settle == inst.base):
        return f"{base}{inst.quote}M"
    raise ValueError(f"kucoin futures: no perpetual for {instrument}")


_SPLIT_QUOTES = ("USDT", "USDC", "USD")


def unified_instrument(market: str, native: str) -> str | None:
    """The unified name of a KuCoin symbol (``BTC-USDT`` → ``BTC/USDT``, ``XBTUSDTM`` → ``BTC/USDT:USDT``)."""
    if market == "spot":
        base, dash, quote = native.partition("-")
        return f"{base}/{quote}" if dash and base and quote else None
    if not native.endswith("M"):
        return None  # dated futures (XBTMZ25) are not perpetuals
    body = native[:-1]
    for quote in _SPLIT_QUOTES:
        if body.endswith(quote) and len(body) > len(quote):
            base = body[: -len(quote)]
            base = "BTC" if base == "XBT" else base
            settle = base if quote == "USD" else quote  # XBTUSDM is inverse, settled in BTC
            return f"{base}/{quote}:{settle}"
    return None


def listed_instruments(market: str, bases: Sequence[str]) -> list[str]:
    """Unified instruments KuCoin lists for ``bases`` in ``market`` (plus its conversion markets on spot)."""
    if market == "spot":
        return [f"{b}/{q}" for b in bases for q in SPOT_QUOTES] + list(CONVERSION_SPOT)
    return [f"{b}/{q}:{q}" for b in bases for q in PERP_QUOTES]


def contracts_to_base(contracts: float, multiplier: float) -> float:
    """Base units in ``contracts``; divides by the integer contracts-per-unit so 83 x 0.01 is 0.83 exactly."""
    if multiplier < 1.0:
        return contracts / round(1.0 / multiplier)
    return contracts * multiplier


def _ts_ns(value: int) -> int:
    """Venue timestamps come in ms (spot) or ns (futures): normalise by magnitude."""
    if value >= 10**17:
        return value
    if value >= 10**14:
        return value * 1_000
    return value * 1_000_000


# --- wire types -------------------------------------------------------------------------------


class _Envelope(msgspec.Struct):
    type: str = ""
    topic: str = ""
    subject: str = ""
    code: int | str | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")


class _SpotTicker(msgspec.Struct):
    bestBid: float
    bestBidSize: float
    bestAsk: float
    bestAskSize: float
    sequence: int = 0
    time: int = 0
    Time: int = 0  # the docs example spells it so; live frames use ``time``


class _Level1(msgspec.Struct):
    asks: tuple[float, float]
    bids: tuple[float, float]
    timestamp: int = 0


class _Depth(msgspec.Struct):
    asks: list[tuple[float, float]]
    bids: list[tuple[float, float]]
    timestamp: int = 0
    ts: int = 0


class _SpotChanges(msgspec.Struct):
    asks: list[tuple[float, float, int]] = []
    bids: list[tuple[float, float, int]] = []


class _SpotIncrement(msgspec.Struct):
    sequenceStart: int
    sequenceEnd: int
    changes: _SpotChanges
    time: int = 0


class _TickerV2(msgspec.Struct):
    bestBidPrice: float
    bestBidSize: float
    bestAskPrice: float
    bestAskSize: float
    sequence: int = 0
    ts: int = 0


class _FuturesChange(msgspec.Struct):
    sequence: int
    change: str
    timestamp: int = 0


class _Change(NamedTuple):
    """One futures level change, parsed and converted to base units."""

    sequence: int
    price: float
    is_bid: bool
    size: float
    timestamp: int


class _FundingRate(msgspec.Struct):
    fundingRate: float
    granularity: int = 0
    timestamp: int = 0


class _SnapshotData(msgspec.Struct):
    sequence: int
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    time: int = 0
    ts: int = 0


class _Snapshot(msgspec.Struct):
    code: str
    data: _SnapshotData | None = None
    msg: str = ""


class _InstanceServer(msgspec.Struct):
    endpoint: str
    pingInterval: int = 18_000
    pingTimeout: int = 10_000


class _BulletData(msgspec.Struct):
    token: str
    instanceServers: list[_InstanceServer]


class _Bullet(msgspec.Struct):
    code: str
    data: _BulletData | None = None
    msg: str = ""


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_SPOT_TICKER = msgspec.json.Decoder(_SpotTicker, strict=False)
_LEVEL1 = msgspec.json.Decoder(_Level1, strict=False)
_DEPTH = msgspec.json.Decoder(_Depth, strict=False)
_SPOT_INCREMENT = msgspec.json.Decoder(_SpotIncrement, strict=False)
_TICKER_V2 = msgspec.json.Decoder(_TickerV2, strict=False)
_FUTURES_CHANGE = msgspec.json.Decoder(_FuturesChange, strict=False)
_FUNDING_RATE = msgspec.json.Decoder(_FundingRate, strict=False)
_SNAPSHOT = msgspec.json.Decoder(_Snapshot, strict=False)
_BULLET = msgspec.json.Decoder(_Bullet, strict=False)
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)
_DEPTH_CHANNELS = ("/spotMarket/level2Depth5", "/spotMarket/level2Depth50", "/contractMarket/level2Depth5", "/contractMarket/level2Depth50")
PING = '{"id":"ping","type":"ping"}'


class KuCoin(Venue):
    """KuCoin spot (``/market/*``) or futures (``/contractMarket/*``) for a set of instruments."""

    name = "kucoin"
    markets = ("spot", "perp")
    needs_rest: ClassVar[bool] = True  # the token handshake and the L2 snapshots
    max_instruments_per_connection: ClassVar[int] = 50  # spot: 2 topics, futures: 3 per symbol
    max_messages_per_s = 5.0  # the venue allows 100 client messages per 10 s
    lifetime_s: ClassVar[float] = 23.5 * 3600.0  # the token is valid 24 h

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if self.kind:
            for native in self._native:
                if native not in CONTRACT_MULTIPLIERS:
                    raise ValueError(f"kucoin futures: contract size of {native} unknown (known: {', '.join(CONTRACT_MULTIPLIERS)})")
        self._pending: dict[int, list[_SpotIncrement | _Change]] = {}
        self._bridge: dict[int, int] = {}  # snapshot sequence until the increment straddling it is applied
        self._ids = itertools.count(1)
        self.token: str | None = None
        self.endpoint: str | None = None
        self.welcomed = False
        # Until the bullet response says otherwise (it normally says 18 s / 10 s).
        self._heartbeat = Heartbeat("json", 18.0, 28.0, PING)

    # --- protocol facts ---------------------------------------------------------------------

    @classmethod
    def listed_instruments(cls, market: str, bases: Sequence[str]) -> list[str] | None:
        return listed_instruments(market, bases)

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(self.market, instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(self.market, native_symbol)

    def heartbeat(self) -> Heartbeat:
        return self._heartbeat

    def rest_endpoint(self) -> str:
        return self.rest_url or REST_URLS[self.market]

    def ws_url(self) -> str:
        if self.token is None:
            raise RuntimeError("kucoin: no token yet; POST bullet-public first (prepare / apply_bullet)")
        endpoint = (self.base_url or self.endpoint or "").rstrip("/")
        return f"{endpoint}/?token={self.token}&connectId={secrets.token_hex(8)}"

    async def prepare(self, http: aiohttp.ClientSession | None) -> None:
        """Fetch a fresh token and endpoint before every connection attempt (the URL may change)."""
        if http is None:
            raise RuntimeError("kucoin: the token handshake needs an HTTP client")
        async with http.post(self.rest_endpoint() + BULLET_PATH) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise OSError(f"kucoin bullet-public: HTTP {resp.status}: {body[:200]!r}")
        self.apply_bullet(body)

    def apply_bullet(self, body: bytes | str) -> None:
        """Take the token, endpoint and ping rule from a bullet-public response."""
        try:
            bullet = _BULLET.decode(body)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"kucoin: bad bullet-public response: {exc}") from None
        if bullet.code != "200000" or bullet.data is None or not bullet.data.instanceServers:
            raise FrameError(f"kucoin: bullet-public refused: code={bullet.code} msg={bullet.msg!r}")
        server = bullet.data.instanceServers[0]
        if server.pingInterval <= 0 or server.pingTimeout <= 0:
            raise FrameError("kucoin: bullet-public gave a non-positive ping interval")
        self.token = bullet.data.token
        self.endpoint = server.endpoint
        interval_s = server.pingInterval / 1000.0
        self._heartbeat = Heartbeat("json", interval_s, interval_s + server.pingTimeout / 1000.0, PING)

    def subscribe_messages(self) -> list[str]:
        natives = self.subscribed_natives()
        if not self.kind:
            topics = []
            for i in range(0, len(natives), 100):  # a topic takes up to 100 symbols
                chunk = ",".join(natives[i : i + 100])
                topics += [f"/market/ticker:{chunk}", f"/market/level2:{chunk}"]
        else:
            topics = [t for n in natives for t in (f"/contractMarket/tickerV2:{n}", f"/contractMarket/level2:{n}", f"/contract/instrument:{n}")]
        return [
            f'{{"id":{next(self._ids)},"type":"subscribe","topic":"{topic}","privateChannel":false,"response":true}}'
            for topic in topics
        ]

    def snapshot_path(self, instrument_id: int) -> str | None:
        return (PERP_SNAPSHOT_PATH if self.kind else SPOT_SNAPSHOT_PATH) + self.native_of(instrument_id)

    def on_connected(self, recv_ts_ns: int) -> list[MarketEvent]:
        self.welcomed = False
        self._pending.clear()
        self._bridge.clear()
        return super().on_connected(recv_ts_ns)

    def multiplier(self, native: str) -> float:
        """Base units per contract (1 on spot)."""
        if not self.kind:
            return 1.0
        mult = CONTRACT_MULTIPLIERS.get(native)
        if mult is None:
            raise FrameError(f"kucoin futures: contract size of {native} unknown")
        return mult

    # --- L2 snapshots over REST ---------------------------------------------------------------

    def apply_snapshot(self, instrument_id: int, body: str | bytes, recv_ts_ns: int) -> list[MarketEvent]:
        """Install ``level2_100`` (spot) or ``level2/snapshot`` (futures) and replay buffered increments.

        ``{"code":"200000","data":{"time":1619378326842,"sequence":"1612844051657",
        "bids":[["0.00028678","3.70422021"]],"asks":[["0.00028717","14.04274325"]]}}``
        """
        iid = instrument_id
        native = self.native_of(iid)
        try:
            snap = _SNAPSHOT.decode(body)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"kucoin: bad L2 snapshot for {native}: {exc}") from None
        if snap.code != "200000" or snap.data is None:
            raise FrameError(f"kucoin: L2 snapshot for {native} refused: code={snap.code} msg={snap.msg!r}")
        data = snap.data
        mult = self.multiplier(native)
        book = self.book(iid)
        book.clear()
        for price, size in data.bids:
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad level {price}/{size} in snapshot of {native}")
            book.set_bid(price, contracts_to_base(size, mult))
        for price, size in data.asks:
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad level {price}/{size} in snapshot of {native}")
            book.set_ask(price, contracts_to_base(size, mult))
        last = book.seq = data.sequence
        self._bridge[iid] = last
        pending = self._pending.pop(iid, [])
        ts = data.ts or data.time
        exchange_ts = _ts_ns(ts) if ts else recv_ts_ns
        for msg in pending:
            if isinstance(msg, _SpotIncrement):
                start, end, msg_ts = msg.sequenceStart, msg.sequenceEnd, msg.time
            else:
                start = end = msg.sequence
                msg_ts = msg.timestamp
            if end <= book.seq:
                continue
            if start > book.seq + 1:
                # The buffered stream starts after the snapshot (or has a hole): fetch another.
                self._pending[iid] = [m for m in pending if (m.sequenceEnd if isinstance(m, _SpotIncrement) else m.sequence) > book.seq]
                return [self.invalidate(iid, f"{native}: snapshot {last} older than buffered sequence {start}", recv_ts_ns)]
            if isinstance(msg, _SpotIncrement):
                self._apply_spot(iid, book, msg)
            else:
                self._apply_futures(book, msg)
            if msg_ts:
                exchange_ts = _ts_ns(msg_ts)
        if book.is_crossed():
            return [self.invalidate(iid, f"{native}: book crossed after snapshot", recv_ts_ns)]
        book.valid = True
        return [self.synced(iid, recv_ts_ns), self.book_event(iid, book, exchange_ts, recv_ts_ns, book.seq)]

    # --- parsing ------------------------------------------------------------------------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> list[MarketEvent]:
        try:
            env = _ENVELOPE.decode(frame)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"kucoin: not a KuCoin frame: {exc}") from None
        kind = env.type
        if kind == "message":
            try:
                return self._message(env, recv_ts_ns)
            except _DECODE_ERRORS as exc:
                raise FrameError(f"kucoin: bad {env.topic} data: {exc}") from None
        if kind == "pong":
            self.last_pong_ns = recv_ts_ns
            return []
        if kind == "welcome":
            self.welcomed = True
            return []
        if kind in ("ack", "notice"):
            return []
        if kind == "error":
            raise FrameError(f"kucoin: venue error {env.code}: {bytes(env.data).decode(errors='replace')}")
        raise FrameError(f"kucoin: unknown frame type {kind!r}")

    def _message(self, env: _Envelope, recv_ts_ns: int) -> list[MarketEvent]:
        channel, _, native = env.topic.partition(":")
        if native == "all":  # /market/ticker:all names the symbol in the subject
            native = env.subject
        iid = self.instrument_id(native)
        if iid is None:
            return []  # a symbol we did not ask for (e.g. from ticker:all)
        if channel == "/market/ticker":
            t = _SPOT_TICKER.decode(env.data)
            ts = t.time or t.Time
            return [self.quote(iid, t.bestBid, t.bestBidSize, t.bestAsk, t.bestAskSize, _ts_ns(ts) if ts else recv_ts_ns, recv_ts_ns, t.sequence)]
        if channel == "/market/level2":
            return self._spot_increment(iid, native, _SPOT_INCREMENT.decode(env.data), recv_ts_ns)
        if channel == "/contractMarket/tickerV2":
            v = _TICKER_V2.decode(env.data)
            m = self.multiplier(native)
            ts = _ts_ns(v.ts) if v.ts else recv_ts_ns
            return [self.quote(iid, v.bestBidPrice, contracts_to_base(v.bestBidSize, m), v.bestAskPrice, contracts_to_base(v.bestAskSize, m), ts, recv_ts_ns, v.sequence)]
        if channel == "/contractMarket/level2":
            return self._futures_change(iid, native, _FUTURES_CHANGE.decode(env.data), recv_ts_ns)
        if channel == "/contract/instrument":
            if env.subject != "funding.rate":
                return []  # mark.index.price
            f = _FUNDING_RATE.decode(env.data)
            if not -1.0 < f.fundingRate < 1.0:
                raise FrameError(f"kucoin: absurd funding rate {f.fundingRate} for {native}")
            ts = _ts_ns(f.timestamp) if f.timestamp else recv_ts_ns
            # granularity 60000 marks the predicted rate (still per funding period); otherwise it is the period.
            hours = f.granularity / 3_600_000 if f.granularity >= 3_600_000 else FUNDING_INTERVAL_HOURS
            return [Funding(self.venue_id, iid, f.fundingRate, hours, 0, ts, recv_ts_ns)]
        if channel == "/spotMarket/level1":
            lv = _LEVEL1.decode(env.data)
            ts = _ts_ns(lv.timestamp) if lv.timestamp else recv_ts_ns
            return [self.quote(iid, lv.bids[0], lv.bids[1], lv.asks[0], lv.asks[1], ts, recv_ts_ns)]
        if channel in _DEPTH_CHANNELS:
            return [self._depth_snapshot(iid, native, _DEPTH.decode(env.data), recv_ts_ns)]
        raise FrameError(f"kucoin: unexpected topic {env.topic!r}")

    def _depth_snapshot(self, iid: int, native: str, d: _Depth, recv_ts_ns: int) -> Book:
        m = self.multiplier(native)
        for price, size in itertools.chain(d.bids, d.asks):
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad level {price}/{size} for {native}")
        n = self.book_depth
        bids = sorted(((p, contracts_to_base(s, m)) for p, s in d.bids if s > 0.0), reverse=True)[:n]
        asks = sorted((p, contracts_to_base(s, m)) for p, s in d.asks if s > 0.0)[:n]
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise FrameError(f"kucoin: crossed depth snapshot for {native}")
        ts = d.timestamp or d.ts
        return Book(self.venue_id, iid, bids, asks, _ts_ns(ts) if ts else recv_ts_ns, recv_ts_ns)

    def _buffer(self, iid: int, native: str, msg: _SpotIncrement | _Change, recv_ts_ns: int) -> list[MarketEvent]:
        pending = self._pending.get(iid)
        if pending is None:
            # First increment for a book we do not hold: keep it and ask for a snapshot.
            self._pending[iid] = [msg]
            return [self.invalidate(iid, f"{native}: awaiting snapshot", recv_ts_ns)]
        pending.append(msg)
        if len(pending) > PENDING_LIMIT:
            del pending[: len(pending) - PENDING_LIMIT]
        return []

    def _spot_increment(self, iid: int, native: str, msg: _SpotIncrement, recv_ts_ns: int) -> list[MarketEvent]:
        if msg.sequenceEnd < msg.sequenceStart:
            raise FrameError(f"kucoin: {native} increment ends ({msg.sequenceEnd}) before it starts ({msg.sequenceStart})")
        book = self.book(iid)
        if not book.valid:
            return self._buffer(iid, native, msg, recv_ts_ns)
        if msg.sequenceEnd <= book.seq:
            return []  # already in the book
        if msg.sequenceStart > book.seq + 1:
            status = self.invalidate(iid, f"{native}: sequence gap: expected <= {book.seq + 1}, got {msg.sequenceStart}", recv_ts_ns)
            self._pending[iid] = [msg]
            return [status]
        self._apply_spot(iid, book, msg)
        if book.is_crossed():
            return [self.invalidate(iid, f"{native}: book crossed after update", recv_ts_ns)]
        return [self.book_event(iid, book, _ts_ns(msg.time) if msg.time else recv_ts_ns, recv_ts_ns, book.seq)]

    def _apply_spot(self, iid: int, book: L2Book, msg: _SpotIncrement) -> None:
        # In the increment that straddles the snapshot, changes the snapshot already holds are skipped.
        floor = self._bridge.pop(iid, -1)
        for price, size, seq in msg.changes.bids:
            if price == 0.0 or seq <= floor:
                continue  # price "0": nothing to change, the sequence still advances
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad bid level {price}/{size}")
            book.set_bid(price, size)
        for price, size, seq in msg.changes.asks:
            if price == 0.0 or seq <= floor:
                continue
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad ask level {price}/{size}")
            book.set_ask(price, size)
        book.seq = msg.sequenceEnd

    def _futures_change(self, iid: int, native: str, msg: _FuturesChange, recv_ts_ns: int) -> list[MarketEvent]:
        change = self._split_change(native, msg)
        book = self.book(iid)
        if not book.valid:
            return self._buffer(iid, native, change, recv_ts_ns)
        if change.sequence <= book.seq:
            return []
        if change.sequence != book.seq + 1:
            status = self.invalidate(iid, f"{native}: sequence gap: expected {book.seq + 1}, got {change.sequence}", recv_ts_ns)
            self._pending[iid] = [change]
            return [status]
        self._apply_futures(book, change)
        if book.is_crossed():
            return [self.invalidate(iid, f"{native}: book crossed after update", recv_ts_ns)]
        return [self.book_event(iid, book, _ts_ns(change.timestamp) if change.timestamp else recv_ts_ns, recv_ts_ns, book.seq)]

    def _split_change(self, native: str, msg: _FuturesChange) -> _Change:
        parts = msg.change.split(",")
        try:
            price, side, qty = float(parts[0]), parts[1], float(parts[2])
        except (IndexError, ValueError):
            raise FrameError(f"kucoin: bad change {msg.change!r} for {native}") from None
        if len(parts) != 3 or side not in ("buy", "sell") or not valid_level(price, qty):
            raise FrameError(f"kucoin: bad change {msg.change!r} for {native}")
        return _Change(msg.sequence, price, side == "buy", contracts_to_base(qty, self.multiplier(native)), msg.timestamp)

    @staticmethod
    def _apply_futures(book: L2Book, change: _Change) -> None:
        if change.is_bid:
            book.set_bid(change.price, change.size)
        else:
            book.set_ask(change.price, change.size)
        book.seq = change.sequence
