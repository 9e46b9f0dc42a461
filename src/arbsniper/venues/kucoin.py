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
from typing import NamedTuple

import msgspec

from arbsniper.instruments import SymbolMap, parse_instrument
from arbsniper.model import PERP, RESYNCING, SPOT, UP, Book, Funding, MarketEvent, Quote, VenueStatus
from arbsniper.venues._checks import TOP_LEVELS, valid_level, valid_quote
from arbsniper.venues.base import FrameError, Heartbeat, Venue
from arbsniper.venues.book import L2Book

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
    if inst.settle != inst.quote:
        raise ValueError(f"kucoin futures: only linear perpetuals settled in the quote currency, not {instrument}")
    base = "XBT" if inst.base == "BTC" else inst.base
    return f"{base}{inst.quote}M"


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


class _Listing:
    """One subscribed symbol: its ids, contract size and L2 sync state."""

    __slots__ = ("iid", "native", "multiplier", "book", "synced", "pending", "bridge_seq", "resyncing", "wants_snapshot")

    def __init__(self, iid: int, native: str, multiplier: float) -> None:
        self.iid = iid
        self.native = native
        self.multiplier = multiplier
        self.book = L2Book()
        self.synced = False
        self.pending: list[_SpotIncrement | _Change] = []
        self.bridge_seq = -1  # snapshot sequence until the increment that straddles it is applied
        self.resyncing = False
        self.wants_snapshot = True


class KuCoin(Venue):
    """KuCoin spot (``/market/*``) or futures (``/contractMarket/*``) for a set of instruments."""

    name = "kucoin"
    markets = ("spot", "perp")

    def __init__(
        self,
        market: str,
        symbols: SymbolMap,
        instruments: Sequence[str],
        base_url: str | None = None,
        rest_url: str | None = None,
    ) -> None:
        super().__init__(market, symbols, instruments, base_url, rest_url)
        self.kind = SPOT if market == "spot" else PERP
        self._listings: dict[str, _Listing] = {}
        self._by_iid: dict[int, _Listing] = {}
        for instrument in self.instruments:
            native = native_symbol(market, instrument)
            if self.kind == PERP and native not in CONTRACT_MULTIPLIERS:
                raise ValueError(f"kucoin futures: contract size of {native} unknown (known: {', '.join(CONTRACT_MULTIPLIERS)})")
            iid = symbols.instrument_id(instrument)
            listing = _Listing(iid, native, CONTRACT_MULTIPLIERS.get(native, 1.0))
            self._listings[native] = listing
            self._by_iid[iid] = listing
        self._ids = itertools.count(1)
        self.token: str | None = None
        self.endpoint: str | None = None
        self.welcomed = False
        # Until the bullet response says otherwise (it normally says 18 s / 10 s).
        self.heartbeat = Heartbeat("json", 18.0, 28.0, '{"id":"ping","type":"ping"}')

    # --- connection -----------------------------------------------------------------------

    def rest_base(self) -> str:
        return (self.rest_url or REST_URLS[self.market]).rstrip("/")

    def bullet_url(self) -> str:
        """Where to POST for a connection token (no authentication)."""
        return self.rest_base() + BULLET_PATH

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
        self.heartbeat = Heartbeat("json", interval_s, interval_s + server.pingTimeout / 1000.0, '{"id":"ping","type":"ping"}')

    def ws_url(self) -> str:
        if self.token is None:
            raise RuntimeError("kucoin: no token yet; POST bullet-public first (apply_bullet)")
        endpoint = (self.base_url or self.endpoint or "").rstrip("/")
        return f"{endpoint}/?token={self.token}&connectId={secrets.token_hex(8)}"

    def on_connect(self) -> None:
        """A new connection: nothing is subscribed yet and every book must be rebuilt."""
        self.welcomed = False
        for listing in self._listings.values():
            listing.book.clear()
            listing.synced = False
            listing.pending.clear()
            listing.bridge_seq = -1
            listing.wants_snapshot = True

    def subscribe_messages(self) -> list[str]:
        natives = list(self._listings)
        if self.kind == SPOT:
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

    # --- L2 snapshots over REST -------------------------------------------------------------

    def snapshot_requests(self) -> list[tuple[int, str]]:
        """Books waiting for a REST snapshot: (instrument id, URL). Each is handed out once."""
        out = []
        path = SPOT_SNAPSHOT_PATH if self.kind == SPOT else PERP_SNAPSHOT_PATH
        for listing in self._listings.values():
            if listing.wants_snapshot:
                listing.wants_snapshot = False
                out.append((listing.iid, self.rest_base() + path + listing.native))
        return out

    def snapshot_failed(self, instrument_id: int) -> None:
        """The snapshot request failed: ask for it again."""
        listing = self._by_iid[instrument_id]
        if not listing.synced:
            listing.wants_snapshot = True

    def apply_snapshot(self, instrument_id: int, body: bytes | str, recv_ts_ns: int) -> list[MarketEvent]:
        """Rebuild one book from a REST snapshot and the increments buffered meanwhile."""
        listing = self._by_iid[instrument_id]
        try:
            snap = _SNAPSHOT.decode(body)
        except _DECODE_ERRORS as exc:
            listing.wants_snapshot = True
            raise FrameError(f"kucoin: bad L2 snapshot for {listing.native}: {exc}") from None
        if snap.code != "200000" or snap.data is None:
            listing.wants_snapshot = True
            raise FrameError(f"kucoin: L2 snapshot for {listing.native} refused: code={snap.code} msg={snap.msg!r}")
        data = snap.data
        book = listing.book
        book.clear()
        mult = listing.multiplier
        for price, size in data.bids:
            if not valid_level(price, size):
                listing.wants_snapshot = True
                raise FrameError(f"kucoin: bad level {price}/{size} in snapshot of {listing.native}")
            book.set_bid(price, contracts_to_base(size, mult))
        for price, size in data.asks:
            if not valid_level(price, size):
                listing.wants_snapshot = True
                raise FrameError(f"kucoin: bad level {price}/{size} in snapshot of {listing.native}")
            book.set_ask(price, contracts_to_base(size, mult))
        book.seq = data.sequence
        listing.bridge_seq = data.sequence
        pending, listing.pending = listing.pending, []
        ts = data.ts or data.time
        exchange_ts = _ts_ns(ts) if ts else recv_ts_ns
        for msg in pending:
            if isinstance(msg, _SpotIncrement):
                if msg.sequenceEnd <= book.seq:
                    continue
                if msg.sequenceStart > book.seq + 1:
                    # The snapshot is older than the first buffered increment: fetch a newer one.
                    listing.pending = [m for m in pending if isinstance(m, _SpotIncrement) and m.sequenceEnd > book.seq]
                    book.clear()
                    listing.wants_snapshot = True
                    return []
                self._apply_spot(listing, msg)
                if msg.time:
                    exchange_ts = _ts_ns(msg.time)
            else:
                if msg.sequence <= book.seq:
                    continue
                if msg.sequence != book.seq + 1:
                    listing.pending = [m for m in pending if isinstance(m, _Change) and m.sequence > book.seq]
                    book.clear()
                    listing.wants_snapshot = True
                    return []
                self._apply_futures(listing, msg)
                if msg.timestamp:
                    exchange_ts = _ts_ns(msg.timestamp)
        if book.is_crossed():
            return self._lose(listing, "crossed book after snapshot", recv_ts_ns)
        listing.synced = True
        book.valid = True
        out: list[MarketEvent] = [self._book_event(listing, exchange_ts, recv_ts_ns)]
        if listing.resyncing:
            listing.resyncing = False
            out.append(VenueStatus(self.venue_id, UP, "book resynced", recv_ts_ns, self.kind, listing.iid))
        return out

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
        if kind == "welcome":
            self.welcomed = True
            return []
        if kind in ("ack", "pong", "notice"):
            return []
        if kind == "error":
            raise FrameError(f"kucoin: venue error {env.code}: {bytes(env.data).decode(errors='replace')}")
        raise FrameError(f"kucoin: unknown frame type {kind!r}")

    def _message(self, env: _Envelope, recv_ts_ns: int) -> list[MarketEvent]:
        channel, _, native = env.topic.partition(":")
        if native == "all":  # /market/ticker:all names the symbol in the subject
            native = env.subject
        listing = self._listings.get(native)
        if listing is None:
            return []  # a symbol we did not ask for (e.g. from ticker:all)
        if channel == "/market/ticker":
            t = _SPOT_TICKER.decode(env.data)
            ts = t.time or t.Time
            return [self._quote(listing, t.bestBid, t.bestBidSize, t.bestAsk, t.bestAskSize, _ts_ns(ts) if ts else recv_ts_ns, recv_ts_ns, t.sequence)]
        if channel == "/market/level2":
            return self._spot_increment(listing, _SPOT_INCREMENT.decode(env.data), recv_ts_ns)
        if channel == "/contractMarket/tickerV2":
            v = _TICKER_V2.decode(env.data)
            m = listing.multiplier
            return [
                self._quote(listing, v.bestBidPrice, contracts_to_base(v.bestBidSize, m), v.bestAskPrice, contracts_to_base(v.bestAskSize, m),
                            _ts_ns(v.ts) if v.ts else recv_ts_ns, recv_ts_ns, v.sequence)
            ]
        if channel == "/contractMarket/level2":
            return self._futures_change(listing, _FUTURES_CHANGE.decode(env.data), recv_ts_ns)
        if channel == "/contract/instrument":
            if env.subject != "funding.rate":
                return []  # mark.index.price
            f = _FUNDING_RATE.decode(env.data)
            if not -1.0 < f.fundingRate < 1.0:
                raise FrameError(f"kucoin: absurd funding rate {f.fundingRate} for {native}")
            ts = _ts_ns(f.timestamp) if f.timestamp else recv_ts_ns
            return [Funding(self.venue_id, listing.iid, f.fundingRate, FUNDING_INTERVAL_HOURS, 0, ts, recv_ts_ns)]
        if channel == "/spotMarket/level1":
            lv = _LEVEL1.decode(env.data)
            ts = _ts_ns(lv.timestamp) if lv.timestamp else recv_ts_ns
            return [self._quote(listing, lv.bids[0], lv.bids[1], lv.asks[0], lv.asks[1], ts, recv_ts_ns, 0)]
        if channel in ("/spotMarket/level2Depth5", "/spotMarket/level2Depth50", "/contractMarket/level2Depth5", "/contractMarket/level2Depth50"):
            return [self._depth_snapshot(listing, _DEPTH.decode(env.data), recv_ts_ns)]
        return []

    def _quote(self, listing: _Listing, bid: float, bid_size: float, ask: float, ask_size: float,
               exchange_ts_ns: int, recv_ts_ns: int, seq: int) -> Quote:
        if not valid_quote(bid, bid_size, ask, ask_size):
            raise FrameError(f"kucoin: invalid quote for {listing.native}: {bid}/{bid_size} x {ask}/{ask_size}")
        return Quote(self.venue_id, listing.iid, bid, bid_size, ask, ask_size, exchange_ts_ns, recv_ts_ns, seq)

    def _depth_snapshot(self, listing: _Listing, d: _Depth, recv_ts_ns: int) -> Book:
        m = listing.multiplier
        for price, size in itertools.chain(d.bids, d.asks):
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad level {price}/{size} for {listing.native}")
        bids = sorted(((p, contracts_to_base(s, m)) for p, s in d.bids if s > 0.0), reverse=True)[:TOP_LEVELS]
        asks = sorted((p, contracts_to_base(s, m)) for p, s in d.asks if s > 0.0)[:TOP_LEVELS]
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise FrameError(f"kucoin: crossed depth snapshot for {listing.native}")
        ts = d.timestamp or d.ts
        return Book(self.venue_id, listing.iid, bids, asks, _ts_ns(ts) if ts else recv_ts_ns, recv_ts_ns)

    def _book_event(self, listing: _Listing, exchange_ts_ns: int, recv_ts_ns: int) -> Book:
        book = listing.book
        return Book(self.venue_id, listing.iid, book.top_bids(TOP_LEVELS), book.top_asks(TOP_LEVELS), exchange_ts_ns, recv_ts_ns, book.seq)

    def _lose(self, listing: _Listing, reason: str, recv_ts_ns: int) -> list[MarketEvent]:
        """Drop a book known to be wrong and ask for a new snapshot."""
        listing.book.clear()
        listing.synced = False
        listing.pending.clear()
        listing.bridge_seq = -1
        listing.wants_snapshot = True
        listing.resyncing = True
        return [VenueStatus(self.venue_id, RESYNCING, f"{listing.native}: {reason}", recv_ts_ns, self.kind, listing.iid)]

    def _buffer(self, listing: _Listing, msg: _SpotIncrement | _Change) -> None:
        if len(listing.pending) >= PENDING_LIMIT:
            # The snapshot is not coming (or is hopelessly late): start the buffer over.
            listing.pending.clear()
            listing.wants_snapshot = True
        listing.pending.append(msg)

    def _spot_increment(self, listing: _Listing, msg: _SpotIncrement, recv_ts_ns: int) -> list[MarketEvent]:
        if msg.sequenceEnd < msg.sequenceStart:
            raise FrameError(f"kucoin: {listing.native} increment ends ({msg.sequenceEnd}) before it starts ({msg.sequenceStart})")
        if not listing.synced:
            self._buffer(listing, msg)
            return []
        book = listing.book
        if msg.sequenceEnd <= book.seq:
            return []  # already in the book
        if msg.sequenceStart > book.seq + 1:
            return self._lose(listing, f"sequence gap: expected <= {book.seq + 1}, got {msg.sequenceStart}", recv_ts_ns)
        self._apply_spot(listing, msg)
        if book.is_crossed():
            return self._lose(listing, "crossed book", recv_ts_ns)
        return [self._book_event(listing, _ts_ns(msg.time) if msg.time else recv_ts_ns, recv_ts_ns)]

    def _apply_spot(self, listing: _Listing, msg: _SpotIncrement) -> None:
        book = listing.book
        # In the increment that straddles the snapshot, changes the snapshot already holds are skipped.
        floor = listing.bridge_seq
        listing.bridge_seq = -1
        for price, size, seq in msg.changes.bids:
            if price == 0.0 or seq <= floor:
                continue
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad bid level {price}/{size} for {listing.native}")
            book.set_bid(price, size)
        for price, size, seq in msg.changes.asks:
            if price == 0.0 or seq <= floor:
                continue
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad ask level {price}/{size} for {listing.native}")
            book.set_ask(price, size)
        book.seq = msg.sequenceEnd

    def _futures_change(self, listing: _Listing, msg: _FuturesChange, recv_ts_ns: int) -> list[MarketEvent]:
        change = self._split_change(listing, msg)
        if not listing.synced:
            self._buffer(listing, change)
            return []
        book = listing.book
        if change.sequence <= book.seq:
            return []
        if change.sequence != book.seq + 1:
            return self._lose(listing, f"sequence gap: expected {book.seq + 1}, got {change.sequence}", recv_ts_ns)
        self._apply_futures(listing, change)
        if book.is_crossed():
            return self._lose(listing, "crossed book", recv_ts_ns)
        return [self._book_event(listing, _ts_ns(change.timestamp) if change.timestamp else recv_ts_ns, recv_ts_ns)]

    def _split_change(self, listing: _Listing, msg: _FuturesChange) -> _Change:
        parts = msg.change.split(",")
        try:
            price, side, qty = float(parts[0]), parts[1], float(parts[2])
        except (IndexError, ValueError):
            raise FrameError(f"kucoin: bad change {msg.change!r} for {listing.native}") from None
        if len(parts) != 3 or side not in ("buy", "sell") or not valid_level(price, qty):
            raise FrameError(f"kucoin: bad change {msg.change!r} for {listing.native}")
        return _Change(msg.sequence, price, side == "buy", contracts_to_base(qty, listing.multiplier), msg.timestamp)

    @staticmethod
    def _apply_futures(listing: _Listing, change: _Change) -> None:
        if change.is_bid:
            listing.book.set_bid(change.price, change.size)
        else:
            listing.book.set_ask(change.price, change.size)
        listing.book.seq = change.sequence
