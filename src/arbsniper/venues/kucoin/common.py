"""What KuCoin spot and KuCoin futures share: the token handshake, the envelope, control frames,
depth snapshots, and the REST snapshot + buffered increments.

Handshake: ``POST {rest}/api/v1/bullet-public`` answers::

    {"code":"200000","data":{"token":"2neAiuYvAU61ZDXANAGAsiL4…","instanceServers":[{"endpoint":
     "wss://ws-api-spot.kucoin.com/","encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}

The venue describes that request (``handshake``) and reads its answer (``on_handshake``); the
session sends it before every connection attempt (the endpoint may change). Then
``{endpoint}?token=…&connectId=…``, and every frame is an envelope::

    {"id":"hQvf8jkno","type":"welcome"}                          (before it, no subscriptions)
    {"id":"1545910590801","type":"pong"}                         (answer to {"id":…,"type":"ping"})
    {"id":"1545910660739","type":"ack"}                          (subscribe with "response":true)
    {"id":"x","type":"error","code":401,"data":"token is invalid"}
    {"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{…}}

Depth snapshots pushed over the socket (``level2Depth5`` / ``level2Depth50``, spot and futures)::

    {"type":"message","topic":"/spotMarket/level2Depth5:BTC-USDT","subject":"level2","data":{
     "asks":[["67996.7","1.14213262"],…],"bids":[["67996.6","0.37969491"],…],"timestamp":1729822226746}}

REST L2 snapshots (spot ``level2_100``, futures ``level2/snapshot``)::

    {"code":"200000","data":{"time":1619378326842,"sequence":"1612844051657",
     "bids":[["0.00028678","3.70422021"]],"asks":[["0.00028717","14.04274325"]]}}

Increments that arrive before the snapshot wait in a ``book.DeltaBuffer``; on the snapshot,
those already in it are dropped and the rest must continue it (``book.continuity``).

Limits (KuCoin docs-new "Rate Limit", WebSocket section, mirrored at
rosssaunders/coincise:docs/kucoin/rate_limit_docs.md; venues.md §5 lists the older revisions that
DISAGREE: 100 or 300 topics per connection, 10 or 50 connections): ≤ 800 connections per user ID,
30 connections per minute, 100 client messages per 10 s (pings included), at most 100 topics in one
subscribe ("batch"), 400 topics per connection on spot ("no such restriction for Futures"). A topic
is one symbol on one channel: ``/market/ticker:BTC-USDT,ETH-USDT`` is two. The venue refuses with an
error frame and keeps the connection (Kucoin/kucoin-python-sdk#32, Kucoin/kucoin-api-docs#434)::

    {"id":"1","type":"error","code":509,"data":"exceed max subscription count limitation of 100 per time"}
    {"id":"2","type":"error","code":509,"data":"exceed max permits per second"}
    {"id":"3","type":"error","code":404,"data":"topic /market/level2:BSV-BTC is not found"}
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from typing import ClassVar, Generic, TypeVar

import msgspec

from arbsniper.model import Book
from arbsniper.venues.base import NOTHING, PONG, FrameError, Heartbeat, Parsed, RestRequest, Venue
from arbsniper.venues.book import APPLY, STALE, DeltaBuffer, L2Book, continuity, valid_level
from arbsniper.venues.metadata import MetadataError, SubscriptionLimits
from arbsniper.venues.units import UNIT, Scale

BULLET_PATH = "/api/v1/bullet-public"
PING = '{"id":"ping","type":"ping"}'
BASE_ALIASES = {"XBT": "BTC"}  # the venue's own codes that name another asset (futures call BTC "XBT")
MAX_TOPICS_PER_REQUEST = 100  # topics (symbols) in one subscribe frame
MESSAGES_PER_S = 100 / 10.0  # client messages, pings included
PACING = 0.5  # the share of MESSAGES_PER_S the session's own pacing uses (``max_messages_per_s``)

_D = TypeVar("_D")


def ts_ns(value: int) -> int:
    """Venue timestamps come in ms (spot) or ns (futures): normalise by magnitude."""
    if value >= 10**17:
        return value
    if value >= 10**14:
        return value * 1_000
    return value * 1_000_000


def base_currency(code: str) -> str:
    """The unified code of one of the venue's currency codes (``XBT`` is BTC)."""
    return BASE_ALIASES.get(code, code)


def batched_topics(channels: Iterable[str], natives: list[str], per_topic: int = MAX_TOPICS_PER_REQUEST) -> list[str]:
    """``channel:SYM1,SYM2,…`` topics, at most ``per_topic`` symbols each (one topic per subscribe frame)."""
    out = []
    for i in range(0, len(natives), per_topic):
        chunk = ",".join(natives[i : i + per_topic])
        out += [f"{channel}:{chunk}" for channel in channels]
    return out


def decode_rest(decoder: msgspec.json.Decoder[_D], body: bytes, what: str) -> _D:
    """One REST listing body, or MetadataError saying what was wrong with it."""
    try:
        return decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MetadataError(f"kucoin: {what} is not KuCoin's format: {exc}") from None


def only_body(bodies: dict[str, list[bytes]], name: str) -> bytes:
    """The one page of response ``name`` (KuCoin's listings are not paginated)."""
    pages = bodies.get(name)
    if not pages:
        raise MetadataError(f"kucoin: no {name!r} response (got {', '.join(bodies) or 'none'})")
    return pages[0]


def limits(streams_per_instrument: int, streams_per_connection: int) -> SubscriptionLimits:
    """KuCoin's documented limits for a market whose instruments take ``streams_per_instrument`` topics."""
    return SubscriptionLimits(
        streams_per_instrument=streams_per_instrument,
        max_streams_per_connection=streams_per_connection,
        max_args_per_request=MAX_TOPICS_PER_REQUEST,
        max_requests_per_s=MESSAGES_PER_S,
        max_connections=800,  # per user ID (public tokens too); KuCoin gives no per-IP figure
    )


# --- wire types -------------------------------------------------------------------------------


class Envelope(msgspec.Struct):
    type: str = ""
    topic: str = ""
    subject: str = ""
    code: int | str | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")


class _Depth(msgspec.Struct):
    asks: list[tuple[float, float]]
    bids: list[tuple[float, float]]
    timestamp: int = 0
    ts: int = 0


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


_ENVELOPE = msgspec.json.Decoder(Envelope)
_DEPTH = msgspec.json.Decoder(_Depth, strict=False)
_SNAPSHOT = msgspec.json.Decoder(_Snapshot, strict=False)
_BULLET = msgspec.json.Decoder(_Bullet, strict=False)
DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


class KuCoinVenue(Venue, Generic[_D]):
    """The part of a KuCoin market that does not depend on the market: handshake, control frames,
    depth snapshots, REST snapshot + buffered increments (``_D``: the market's increment type)."""

    name = "kucoin"
    max_messages_per_s = MESSAGES_PER_S * PACING
    lifetime_s: ClassVar[float] = 23.5 * 3600.0  # the token is valid 24 h
    rest_base: ClassVar[str]  # the market's REST host
    snapshot_prefix: ClassVar[str]  # REST path of an L2 snapshot, up to the symbol
    gap_expected: ClassVar[str] = ""  # how a gap message states the sequence it expected

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._pending: DeltaBuffer[_D] = DeltaBuffer()
        self._ids = itertools.count(1)
        self.token: str | None = None
        self.endpoint: str | None = None
        self.welcomed = False
        # Until the bullet response says otherwise (it normally says 18 s / 10 s).
        self._heartbeat = Heartbeat("json", 18.0, 28.0, PING)

    # --- protocol facts ---------------------------------------------------------------------

    def heartbeat(self) -> Heartbeat:
        return self._heartbeat

    def rest_endpoint(self) -> str:
        return self.rest_url or self.rest_base

    def ws_url(self) -> str:
        if self.token is None:
            raise RuntimeError("kucoin: no token yet; POST bullet-public first (handshake / on_handshake)")
        endpoint = (self.base_url or self.endpoint or "").rstrip("/")
        return f"{endpoint}/?token={self.token}&connectId={secrets.token_hex(8)}"

    def handshake(self) -> RestRequest:
        """A fresh token and endpoint before every connection attempt (the URL may change)."""
        return RestRequest("POST", self.rest_endpoint() + BULLET_PATH)

    def on_handshake(self, body: bytes | str) -> None:
        """Take the token, endpoint and ping rule from a bullet-public response."""
        try:
            bullet = _BULLET.decode(body)
        except DECODE_ERRORS as exc:
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

    def subscribe_frame(self, topic: str, kind: str = "subscribe") -> str:
        return f'{{"id":{next(self._ids)},"type":"{kind}","topic":"{topic}","privateChannel":false,"response":true}}'

    def snapshot_path(self, instrument_id: int) -> str | None:
        return self.snapshot_prefix + self.native_of(instrument_id)

    def on_connected(self, recv_ts_ns: int) -> Parsed:
        self.welcomed = False
        self._pending.clear()
        return super().on_connected(recv_ts_ns)

    def scale(self, native: str) -> Scale:
        """How this market's sizes of ``native`` become base units (``UNIT`` on spot)."""
        return UNIT

    def unified_instrument(self, native_symbol: str) -> str | None:
        meta = self.metadata.get(native_symbol)
        return meta.instrument if meta is not None else self.unified_from_symbol(native_symbol)

    def unified_from_symbol(self, native: str) -> str | None:
        """The unified name the symbol itself spells (no metadata at hand)."""
        raise NotImplementedError

    # --- parsing ------------------------------------------------------------------------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        try:
            env = _ENVELOPE.decode(frame)
        except DECODE_ERRORS as exc:
            raise FrameError(f"kucoin: not a KuCoin frame: {exc}") from None
        kind = env.type
        if kind == "message":
            try:
                return self.message(env, recv_ts_ns)
            except DECODE_ERRORS as exc:
                raise FrameError(f"kucoin: bad {env.topic} data: {exc}") from None
        if kind == "pong":
            return PONG
        if kind == "welcome":
            self.welcomed = True
            return NOTHING
        if kind in ("ack", "notice"):
            return NOTHING
        if kind == "error":
            raise FrameError(f"kucoin: venue error {env.code}: {bytes(env.data).decode(errors='replace')}")
        raise FrameError(f"kucoin: unknown frame type {kind!r}")

    def message(self, env: Envelope, recv_ts_ns: int) -> Parsed:
        """One ``"type":"message"`` frame of the market's topics."""
        raise NotImplementedError

    def depth_snapshot(self, iid: int, native: str, data: msgspec.Raw, recv_ts_ns: int) -> Parsed:
        """A pushed ``level2Depth5``/``level2Depth50`` book: the top levels as they are."""
        d = _DEPTH.decode(data)
        mul, div = self.scale(native)
        for price, size in itertools.chain(d.bids, d.asks):
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad level {price}/{size} for {native}")
        n = self.book_depth
        bids = sorted(((p, s * mul / div) for p, s in d.bids if s > 0.0), reverse=True)[:n]
        asks = sorted((p, s * mul / div) for p, s in d.asks if s > 0.0)[:n]
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise FrameError(f"kucoin: crossed depth snapshot for {native}")
        ts = d.timestamp or d.ts
        return Parsed((Book(self.venue_id, iid, bids, asks, ts_ns(ts) if ts else recv_ts_ns, recv_ts_ns),))

    # --- increments on a REST snapshot ----------------------------------------------------------

    def span(self, delta: _D) -> tuple[int, int, int]:
        """(first sequence, last sequence, venue time) of one increment."""
        raise NotImplementedError

    def apply_delta(self, iid: int, book: L2Book, delta: _D) -> None:
        """Apply one increment that continues the book."""
        raise NotImplementedError

    def on_delta(self, iid: int, native: str, delta: _D, recv_ts_ns: int) -> Parsed:
        """One live increment: buffered while the book waits for its snapshot, else applied if it
        continues the book; a gap drops the book for a new snapshot."""
        book = self.book(iid)
        if not book.valid:
            # No book yet: keep the increment; the first one asks for a snapshot.
            return self.resync(iid, f"{native}: awaiting snapshot", recv_ts_ns) if self._pending.add(iid, delta) else NOTHING
        first, last, venue_ts = self.span(delta)
        rule = continuity(book.seq, first, last)
        if rule == STALE:
            return NOTHING  # already in the book
        if rule != APPLY:
            parsed = self.resync(iid, f"{native}: sequence gap: expected {self.gap_expected}{book.seq + 1}, got {first}", recv_ts_ns)
            self._pending.restart(iid, [delta])
            return parsed
        try:
            self.apply_delta(iid, book, delta)
        except FrameError as exc:  # half applied: drop it, buffer what follows, fetch again
            self._pending.restart(iid, [])
            return self.resync(iid, f"{native}: {exc}", recv_ts_ns)
        if book.is_crossed():
            return self.resync(iid, f"{native}: book crossed after update", recv_ts_ns)
        return Parsed((self.book_event(iid, book, ts_ns(venue_ts) if venue_ts else recv_ts_ns, recv_ts_ns, book.seq),))

    def apply_snapshot(self, instrument_id: int, body: str | bytes, recv_ts_ns: int) -> Parsed:
        """Install a REST L2 snapshot (spot ``level2_100``, futures ``level2/snapshot``) and replay
        the buffered increments that continue it."""
        iid = instrument_id
        native = self.native_of(iid)
        try:
            snap = _SNAPSHOT.decode(body)
        except DECODE_ERRORS as exc:
            raise FrameError(f"kucoin: bad L2 snapshot for {native}: {exc}") from None
        if snap.code != "200000" or snap.data is None:
            raise FrameError(f"kucoin: L2 snapshot for {native} refused: code={snap.code} msg={snap.msg!r}")
        data = snap.data
        mul, div = self.scale(native)
        book = self.book(iid)
        book.clear()
        for price, size in itertools.chain(data.bids, data.asks):
            if not valid_level(price, size):  # the buffered increments stay for the next snapshot
                return self.resync(iid, f"{native}: bad level {price}/{size} in snapshot", recv_ts_ns)
        for price, size in data.bids:
            book.set_bid(price, size * mul / div)
        for price, size in data.asks:
            book.set_ask(price, size * mul / div)
        last = book.seq = data.sequence
        self.on_snapshot(iid, last)
        pending = self._pending.take(iid)
        ts = data.ts or data.time
        exchange_ts = ts_ns(ts) if ts else recv_ts_ns
        for delta in pending:
            first, end, venue_ts = self.span(delta)
            rule = continuity(book.seq, first, end)
            if rule == STALE:
                continue
            if rule != APPLY:
                # The buffered stream starts after the snapshot (or has a hole): fetch another.
                self._pending.restart(iid, [m for m in pending if self.span(m)[1] > book.seq])
                return self.resync(iid, f"{native}: snapshot {last} older than buffered sequence {first}", recv_ts_ns)
            try:
                self.apply_delta(iid, book, delta)
            except FrameError as exc:  # half applied: drop it, buffer what follows, fetch again
                self._pending.restart(iid, [])
                return self.resync(iid, f"{native}: {exc}", recv_ts_ns)
            if venue_ts:
                exchange_ts = ts_ns(venue_ts)
        if book.is_crossed():
            return self.resync(iid, f"{native}: book crossed after snapshot", recv_ts_ns)
        book.valid = True
        return Parsed((self.synced(iid, recv_ts_ns), self.book_event(iid, book, exchange_ts, recv_ts_ns, book.seq)))

    def on_snapshot(self, iid: int, sequence: int) -> None:
        """A snapshot at ``sequence`` was installed (spot notes it for the straddling increment)."""
        return None
