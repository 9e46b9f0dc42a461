"""Paradex perpetuals: public channels in binary SBE (since 21 Sep 2026), JSON-RPC control plane.

Protocol (shared/venues.md §8 and §11; docs.paradex.trade "Binary Encoding (SBE)"; the schema's
layouts are in ``paradex_sbe.py``):

- ``wss://ws.api.prod.paradex.trade/v1?sbeSchemaId=1&sbeSchemaVersion=1``. Without SBE the venue
  serves no public data any more; an unsupported schema is refused with HTTP 400 at connect (no
  fallback to JSON).
- Control plane, JSON-RPC 2.0 text frames both ways. Subscribe one channel per request
  ``{"jsonrpc":"2.0","method":"subscribe","params":{"channel":"bbo.BTC-USD-PERP"},"id":1}`` →
  ``{"jsonrpc":"2.0","result":{"channel":"bbo.BTC-USD-PERP"},"usIn":…,"usDiff":…,"id":1}``;
  errors ``{"jsonrpc":"2.0","error":{"code":-32600,"message":"invalid subscribe request","data":"invalid channel"},"id":0}``.
  Subscribing to a channel twice is an error, so a resubscription unsubscribes first.
- Channel data: every **binary** frame, one SBE message each (``parse_binary``), naming its
  market in its var data (not its channel):
  - ``bbo.{market}`` → ``BboEvent`` (template 2): ts µs, seq, bidPrice?, bidSize?, askPrice?,
    askSize?, market. A null side (no orders) gives no quote. BTC-USD-PERP 67629.7 × 0.992 /
    67630.1 × 3.137 at seq 42 is these 69 bytes (header | 6 int64 | uint8 length + name)::

        30000200 01000100 | 40222018240a0600 2a00000000000000 80aa6ca026060000
        00ace90500000000 8004cfa226060000 a0aeb21200000000 | 0c 4254432d5553442d50455250
  - ``order_book.{market}.deltas`` → ``BookEvent`` (3): pkgType 0 = the whole book, then 1 =
    deltas whose ``seq`` is the previous one plus one (groups ``bids`` / ``asks`` of
    ``{price, size}``, size 0 = delete); anything else is a gap: resubscribe. (The bare channel
    name: the SBE socket refuses the documented ``@15@50ms`` suffix on deltas.)
  - ``markets_summary.{market}`` → ``MarketSummaryEvent`` (4): ``fundingRatePrecise`` (Rate12,
    v1) or ``fundingRate`` (Rate8), the rate of the market's funding period (metadata's
    ``funding_period_hours``). Funding accrues continuously: there is no next funding time.
  - ``funding_data.{market}`` → ``FundingDataEvent`` (5): carries ``fundingPeriodHours`` itself.
  - ``HeartbeatEvent`` (40, every 20 s on an idle connection), trades (1), the cross-venue
    funding comparison (6) and any template id we do not know: skipped.
- Keep-alive is the protocol's: the server pings every 55 s and wants a pong within 5 s.
- Symbols: ``BTC-USD-PERP`` ↔ ``BTC/USD:USDC`` (USD-quoted, USDC-settled); ``kBONK-USD-PERP``
  (1000 BONK) ↔ ``1000BONK/USD:USDC``. Sizes are base units (contracts of 1).

JSON channel payloads (before 21 Sep 2026: ``{"jsonrpc":"2.0","method":"subscription","params":
{"channel":…,"data":{…}}}``) still parse, for recordings made before the switch and the real
samples in ``tests/fixtures/paradex``; the live venue no longer sends them.

REST listing (``metadata_requests``; not paginated):

- ``GET /v1/markets`` → ``{"results":[{"symbol":"BTC-USD-PERP","base_currency":"BTC",
  "quote_currency":"USD","settlement_currency":"USDC","asset_kind":"PERP","market_kind":"cross",
  "order_size_increment":"0.00001","price_tick_size":"0.1","min_notional":"10",
  "funding_period_hours":8,"open_at":1698756879745,"expiry_at":0,"trading_mode":"STANDARD",…}]}``:
  increment (base units), tick and ``min_notional`` (USD) as decimal strings, the funding
  period a JSON number of hours, times in ms. Only ``asset_kind`` PERP is kept (options,
  perp options and spot are left out).
- ``GET /v1/markets/summary?market=ALL`` → ``{"results":[{"symbol":…,"volume_24h":"5815541.39",
  "last_traded_price":"68495.1","mark_price":"68465.17","funding_rate":"0.0163",…}]}``:
  ``volume_24h`` is USD (the SBE schema maps it to ``volumeUsd24h``).
"""

from __future__ import annotations

import itertools
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.model import Funding, Quote
from arbsniper.venues import paradex_sbe as sbe
from arbsniper.venues.base import DEMO_BASES, NOTHING, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import L2Book, valid_level
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

WS_BASE = "wss://ws.api.prod.paradex.trade"
WS_PATH = f"/v1?sbeSchemaId={sbe.SCHEMA_ID}&sbeSchemaVersion={sbe.SCHEMA_VERSION}"
REST_BASE = "https://api.prod.paradex.trade"
# Only when neither the metadata nor the frame says (open mode on a recording): the period every
# Paradex perpetual had before markets carried ``funding_period_hours``.
DEFAULT_FUNDING_HOURS = 8.0
HALTED_MODES = frozenset({"CANCEL_ONLY", "POST_ONLY", "REDUCE_ONLY"})  # ``trading_mode`` words that stop taking

# Paradex documents no channel or request limit per connection; it disconnects a client with
# 2000+ messages queued unread, and takes 20 new public connections per second (600 per minute)
# per IP (rate-limits.mdx, api-best-practices.mdx). 50 markets (bbo + whole-book deltas +
# summary, ~40 frames/s each) per connection keeps one connection's queue well clear of that.
LIMITS = SubscriptionLimits(
    streams_per_instrument=3, max_streams_per_connection=150, max_args_per_request=1, max_requests_per_s=10.0,
)


def native_symbol(instrument: str) -> str:
    """Paradex's market for a unified perpetual (``BTC/USD:USDC`` → ``BTC-USD-PERP``)."""
    inst = parse_instrument(instrument)
    if inst.settle != "USDC":
        raise ValueError(f"paradex: perpetuals settle in USDC, not {instrument}")
    base = "k" + inst.base[4:] if inst.base.startswith("1000") and len(inst.base) > 4 else inst.base
    return f"{base}-{inst.quote}-PERP"


def unified_instrument(market: str, settle: str = "USDC") -> str | None:
    """The unified perpetual of a Paradex market, or None for options and spot."""
    parts = market.split("-")
    if len(parts) != 3 or parts[2] != "PERP" or not parts[0]:
        return None
    return f"{_unified_base(parts[0])}/{parts[1]}:{settle}"


def _unified_base(base: str) -> str:
    return "1000" + base[1:] if base[0] == "k" and base[1:].isupper() else base


def listed_instruments(market: str, bases: Sequence[str]) -> list[str]:
    """Unified instruments Paradex lists for ``bases`` (USD-quoted perpetuals settled in USDC)."""
    return [f"{b}/USD:USDC" for b in bases] if market == "perp" else []


# --- wire types (JSON) ----------------------------------------------------------------------


class _Params(msgspec.Struct):
    channel: str
    data: msgspec.Raw = msgspec.Raw(b"null")


class _Message(msgspec.Struct):
    jsonrpc: str = ""
    method: str = ""
    params: _Params | None = None
    result: msgspec.Raw = msgspec.Raw(b"")  # empty when absent
    error: dict[str, object] | None = None
    id: int | str | None = None


class _Bbo(msgspec.Struct):
    market: str
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    seq_no: int = 0
    last_updated_at: int = 0


class _Level(msgspec.Struct):
    side: str
    price: float
    size: float


class _BookUpdate(msgspec.Struct):
    market: str
    seq_no: int
    update_type: str
    inserts: list[_Level] = []
    updates: list[_Level] = []
    deletes: list[_Level] = []
    last_updated_at: int = 0


class _Summary(msgspec.Struct):
    symbol: str
    funding_rate: float | None = None
    created_at: int = 0


class _FundingData(msgspec.Struct):
    market: str
    funding_rate: float
    funding_period_hours: float | None = None
    created_at: int = 0


class _MarketResp(msgspec.Struct):
    symbol: str
    asset_kind: str = ""
    settlement_currency: str = "USDC"
    order_size_increment: float = 0.0
    price_tick_size: float = 0.0
    min_notional: float = 0.0
    funding_period_hours: float | None = None  # absent in the 2024 schema
    open_at: int = 0
    expiry_at: int = 0
    trading_mode: str = ""


class _Markets(msgspec.Struct):
    results: list[_MarketResp]


class _SummaryResp(msgspec.Struct):
    symbol: str
    volume_24h: float | None = None
    last_traded_price: float | None = None
    mark_price: float | None = None


class _Summaries(msgspec.Struct):
    results: list[_SummaryResp]


_MESSAGE = msgspec.json.Decoder(_Message)
_BBO = msgspec.json.Decoder(_Bbo, strict=False)
_BOOK = msgspec.json.Decoder(_BookUpdate, strict=False)
_SUMMARY = msgspec.json.Decoder(_Summary, strict=False)
_FUNDING = msgspec.json.Decoder(_FundingData, strict=False)
_MARKETS = msgspec.json.Decoder(_Markets, strict=False)
_SUMMARIES = msgspec.json.Decoder(_Summaries, strict=False)
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)

# --- SBE, precompiled (paradex_sbe.py has the layouts) -------------------------------------------

_HEADER = sbe.HEADER.unpack_from
_GROUP = sbe.GROUP.unpack_from
_LEVEL = sbe.LEVEL.unpack_from
_LEVELS = sbe.LEVEL.iter_unpack
_INT64 = sbe.INT64.unpack_from
_TS_SEQ = struct.Struct("<qq").unpack_from
_BBO_UNPACK = sbe.BBO.struct(0).unpack_from
_BOOK_HEAD = struct.Struct("<qqB").unpack_from  # ts, seq, pkgType: the rest of the 89 bytes we do not need
_FUNDING_BLOCK = sbe.FUNDING_DATA.struct(0)
_SUMMARY_RATE = 8 + sbe.MARKET_SUMMARY.offset("fundingRate")
_SUMMARY_PRECISE = 8 + sbe.MARKET_SUMMARY.offset("fundingRatePrecise")
_BBO_LEN = sbe.BBO.block_length(0)
_BOOK_LEN = sbe.BOOK.block_length(0)
_SUMMARY_LEN = sbe.MARKET_SUMMARY.block_length(0)
_SUMMARY_PRECISE_END = sbe.MARKET_SUMMARY.block_length(1)
_FUNDING_LEN = sbe.FUNDING_DATA.block_length(0)
_LEVEL_LEN = sbe.LEVEL.size
_BBO_ID, _BOOK_ID, _SUMMARY_ID, _FUNDING_ID = (t.template_id for t in (sbe.BBO, sbe.BOOK, sbe.MARKET_SUMMARY, sbe.FUNDING_DATA))
_SCALE, _SCALE_12, _NULL = sbe.SCALE_8, sbe.SCALE_12, sbe.NULL
# No int64 mantissa reaches ``book.MAX_SIZE`` (9.2e18 / 1e8 = 9.2e10 coins): a size is only checked for sign.


class Paradex(Venue):
    """Paradex perpetuals for a set of instruments."""

    name = "paradex"
    markets = ("perp",)
    subscription_limits: ClassVar[SubscriptionLimits] = LIMITS
    max_instruments_per_connection: ClassVar[int] = LIMITS.instruments_per_connection()
    max_messages_per_s = LIMITS.max_requests_per_s
    lifetime_s: ClassVar[float] = 23.5 * 3600.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._ids = itertools.count(1)
        # Market name as the SBE frame spells it (bytes) -> instrument id; and the funding
        # period per instrument, from the metadata until a frame says otherwise.
        self._by_market: dict[bytes, int] = {native.encode(): iid for native, iid in self._native.items()}
        self._funding_hours: dict[int, float] = {}
        for native, iid in self._native.items():
            meta = self.metadata.get(native)
            if meta is not None and meta.funding_interval_hours > 0:
                self._funding_hours[iid] = meta.funding_interval_hours
        self.skipped_templates = 0  # SBE messages of templates we do not read (heartbeats, unknown ids)

    # --- metadata (cold path) ------------------------------------------------------------

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return REST_BASE

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        base = rest_base.rstrip("/")
        return [
            RestRequest("GET", f"{base}/v1/markets", name="markets"),
            RestRequest("GET", f"{base}/v1/markets/summary?market=ALL", name="summary"),
        ]

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        """Every perpetual of ``GET /v1/markets``, with its 24 h volume and last price from the summary."""
        if market != "perp":
            raise MetadataError(f"paradex: no {market!r} market")
        pages = bodies.get("markets")
        if not pages:
            raise MetadataError("paradex: no /v1/markets response")
        summaries: dict[str, _SummaryResp] = {}
        for body in bodies.get("summary", []):
            try:
                summaries.update((s.symbol, s) for s in _SUMMARIES.decode(body).results)
            except _DECODE_ERRORS as exc:
                raise MetadataError(f"paradex: /v1/markets/summary is not a list of market summaries: {exc}") from None
        now_ms = _now_ms()
        out: list[InstrumentMeta] = []
        for body in pages:
            try:
                results = _MARKETS.decode(body).results
            except _DECODE_ERRORS as exc:
                raise MetadataError(f"paradex: /v1/markets is not a list of markets: {exc}") from None
            for m in results:
                meta = _market_meta(m, summaries.get(m.symbol), now_ms)
                if meta is not None:
                    out.append(meta)
        return out

    def rest_endpoint(self) -> str:
        return self.rest_url or REST_BASE

    # --- protocol facts ------------------------------------------------------------------

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol)

    def heartbeat(self) -> Heartbeat:
        # The server pings every 55 s (pong due within 5 s) and sends an SBE heartbeat every 20 s
        # on an idle connection; 70 s without any frame is a dead link.
        return Heartbeat("server-ping", 55.0, 70.0)

    def ws_url(self) -> str:
        return (self.base_url or WS_BASE) + WS_PATH

    def _rpc(self, method: str, channel: str) -> str:
        return f'{{"jsonrpc":"2.0","method":"{method}","params":{{"channel":"{channel}"}},"id":{next(self._ids)}}}'

    @staticmethod
    def _channels(market: str) -> tuple[str, ...]:
        return (f"bbo.{market}", f"order_book.{market}.deltas", f"markets_summary.{market}")

    def subscribe_messages(self) -> list[str]:
        """One JSON-RPC request per channel (the method takes one), three channels per market."""
        return [self._rpc("subscribe", channel) for m in self.subscribed_natives() for channel in self._channels(m)]

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        """One JSON-RPC ``unsubscribe`` per channel of the market (answered ``{"result":{"channel":…}}``)."""
        return [self._rpc("unsubscribe", channel) for channel in self._channels(self.native_of(instrument_id))]

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        """Unsubscribe and subscribe the book again: the venue starts over with the whole book."""
        channel = f"order_book.{self.native_of(instrument_id)}.deltas"
        return [self._rpc("unsubscribe", channel), self._rpc("subscribe", channel)]

    # --- parsing: SBE channel data -------------------------------------------------------------

    def parse_binary(self, frame: bytes, recv_ts_ns: int) -> Parsed:
        """One SBE message: header, root block (its length from the header), groups, market."""
        n = len(frame)
        if n < 8:
            raise FrameError(f"paradex: SBE frame of {n} bytes has no header")
        block, template, schema, version = _HEADER(frame)
        if schema != sbe.SCHEMA_ID:
            raise FrameError(f"paradex: SBE schema {schema}, not {sbe.SCHEMA_ID}")
        end = 8 + block
        if end > n:
            raise FrameError(f"paradex: SBE template {template} truncated: block of {block} bytes, frame of {n}")
        try:
            if template == _BBO_ID:
                return self._sbe_bbo(frame, block, end, n, recv_ts_ns)
            if template == _BOOK_ID:
                return self._sbe_book(frame, block, end, n, recv_ts_ns)
            if template == _SUMMARY_ID:
                return self._sbe_summary(frame, block, version, end, n, recv_ts_ns)
            if template == _FUNDING_ID:
                return self._sbe_funding(frame, block, end, n, recv_ts_ns)
        except (struct.error, IndexError, UnicodeDecodeError) as exc:  # a check above missed a case: still a bad frame
            raise FrameError(f"paradex: malformed SBE template {template}: {exc}") from None
        self.skipped_templates += 1  # heartbeat, trades, funding comparison, or a template we do not know
        return NOTHING

    def _market(self, frame: bytes, off: int, n: int) -> int | None:
        """The instrument id of the ``market`` var data at ``off`` (None: not subscribed)."""
        if off >= n:
            raise FrameError("paradex: SBE frame truncated before its market name")
        end = off + 1 + frame[off]
        if end > n:
            raise FrameError("paradex: SBE frame truncated inside its market name")
        key = frame[off + 1 : end]
        iid = self._by_market.get(key)
        if iid is None and self.open:
            iid = self.instrument_id(key.decode())
            if iid is not None:
                self._by_market[key] = iid
        return iid

    def _sbe_bbo(self, frame: bytes, block: int, end: int, n: int, recv_ts_ns: int) -> Parsed:
        """``BboEvent``: ts, seq, bidPrice?, bidSize?, askPrice?, askSize?, market."""
        if block < _BBO_LEN:
            raise FrameError(f"paradex: BboEvent block of {block} bytes (needs {_BBO_LEN})")
        ts, seq, bp, bs, ap, as_ = _BBO_UNPACK(frame, 8)
        # The market, inlined (the hottest frame): its uint8 length, then the name.
        if end >= n or end + 1 + frame[end] > n:
            raise FrameError("paradex: BboEvent truncated in its market name")
        iid = self._by_market.get(frame[end + 1 : end + 1 + frame[end]])
        if iid is None:
            iid = self._market(frame, end, n)  # open mode: a market seen for the first time
            if iid is None:
                return NOTHING
        if bp <= 0 or ap <= 0 or bs < 0 or as_ < 0:  # a null (INT64_MIN) is negative too
            if bp == _NULL or ap == _NULL or bs == _NULL or as_ == _NULL:
                return NOTHING  # a side without orders: nothing two-sided to trade on
            raise FrameError(f"paradex: BboEvent with non-positive price or negative size {bp}/{bs} {ap}/{as_} (mantissas)")
        # A crossed quote is passed on, as ``Venue.quote`` does: the engine must see it to refuse it.
        return Parsed((Quote(self.venue_id, iid, bp / _SCALE, bs / _SCALE, ap / _SCALE, as_ / _SCALE, ts * 1000, recv_ts_ns, seq),))

    def _sbe_book(self, frame: bytes, block: int, end: int, n: int, recv_ts_ns: int) -> Parsed:
        """``BookEvent``: ts, seq, pkgType (0 snapshot, 1 delta), best prices we ignore; groups
        ``bids`` and ``asks`` of {price, size} (size 0 deletes the level); market."""
        if block < _BOOK_LEN:
            raise FrameError(f"paradex: BookEvent block of {block} bytes (needs {_BOOK_LEN})")
        ts, seq, pkg = _BOOK_HEAD(frame, 8)
        off = end
        sides: list[tuple[int, int, int]] = []  # (first entry offset, entry length, count) of bids, asks
        for _ in range(2):
            if off + 4 > n:
                raise FrameError("paradex: BookEvent truncated before a group header")
            length, count = _GROUP(frame, off)
            off += 4
            if count and length < _LEVEL_LEN:
                raise FrameError(f"paradex: BookEvent level entries of {length} bytes (need {_LEVEL_LEN})")
            sides.append((off, length, count))
            off += length * count
            if off > n:
                raise FrameError("paradex: BookEvent truncated inside a group")
        iid = self._market(frame, off, n)
        if iid is None:
            return NOTHING
        book = self.book(iid)
        newly_synced = False
        if pkg == sbe.SNAPSHOT:
            newly_synced = not book.valid
            book.clear()
        elif pkg == sbe.DELTA:
            if not book.valid:
                return NOTHING  # waiting for the whole book of a (re)subscription
            if seq != book.seq + 1:
                return self.resync(iid, f"{self.native_of(iid)}: sequence gap: expected {book.seq + 1}, got {seq}", recv_ts_ns)
        else:
            raise FrameError(f"paradex: BookEvent pkgType {pkg} is neither snapshot nor delta")
        (bid_off, bid_len, n_bids), (ask_off, ask_len, n_asks) = sides
        try:
            _apply_levels(book.set_bid, frame, bid_off, bid_len, n_bids)
            _apply_levels(book.set_ask, frame, ask_off, ask_len, n_asks)
        except FrameError as exc:  # half applied: the book is wrong now, start it over
            return self.resync(iid, f"{self.native_of(iid)}: {exc}", recv_ts_ns)
        book.valid = True
        book.seq = seq
        if book.is_crossed():
            return self.resync(iid, f"{self.native_of(iid)}: book crossed", recv_ts_ns)
        event = self.book_event(iid, book, ts * 1000, recv_ts_ns, seq)
        return Parsed((self.synced(iid, recv_ts_ns), event)) if newly_synced else Parsed((event,))

    def _sbe_summary(self, frame: bytes, block: int, version: int, end: int, n: int, recv_ts_ns: int) -> Parsed:
        """``MarketSummaryEvent``: funding from ``fundingRatePrecise`` (v1, Rate12) or ``fundingRate`` (Rate8)."""
        if block < _SUMMARY_LEN:
            raise FrameError(f"paradex: MarketSummaryEvent block of {block} bytes (needs {_SUMMARY_LEN})")
        iid = self._market(frame, end, n)
        if iid is None:
            return NOTHING
        ts, _seq = _TS_SEQ(frame, 8)
        # A field of a later version is there when the sender's version has it and the block holds it.
        precise = _INT64(frame, _SUMMARY_PRECISE)[0] if version >= 1 and block >= _SUMMARY_PRECISE_END else _NULL
        if precise != _NULL:
            rate = precise / _SCALE_12
        else:
            mantissa = _INT64(frame, _SUMMARY_RATE)[0]
            if mantissa == _NULL:
                return NOTHING
            rate = mantissa / _SCALE
        return Parsed((self._funding(iid, rate, self._hours(iid), ts * 1000, recv_ts_ns),))

    def _sbe_funding(self, frame: bytes, block: int, end: int, n: int, recv_ts_ns: int) -> Parsed:
        """``FundingDataEvent``: fundingRate (Rate8, for the period), fundingPeriodHours int16, createdAt µs."""
        if block < _FUNDING_LEN:
            raise FrameError(f"paradex: FundingDataEvent block of {block} bytes (needs {_FUNDING_LEN})")
        ts, _seq, rate, _index, created, _premium, _rate8h, hours = _FUNDING_BLOCK.unpack_from(frame, 8)
        iid = self._market(frame, end, n)
        if iid is None or rate == _NULL:
            return NOTHING
        return Parsed((self._period_funding(iid, rate / _SCALE, float(hours), (created or ts) * 1000, recv_ts_ns),))

    # --- parsing: JSON (control plane; channel data of recordings made before SBE) ---------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        try:
            msg = _MESSAGE.decode(frame)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"paradex: not a JSON-RPC frame: {exc}") from None
        params = msg.params
        if params is not None and msg.method == "subscription":
            channel = params.channel
            try:
                if channel.startswith("bbo."):
                    return self._bbo(_BBO.decode(params.data), recv_ts_ns)
                if channel.startswith("order_book."):
                    return self._book(_BOOK.decode(params.data), recv_ts_ns)
                if channel.startswith("markets_summary"):
                    s = _SUMMARY.decode(params.data)
                    iid = self.instrument_id(s.symbol)
                    if iid is None or s.funding_rate is None:
                        return NOTHING
                    ts = s.created_at * 1_000_000 if s.created_at else recv_ts_ns
                    return Parsed((self._funding(iid, s.funding_rate, self._hours(iid), ts, recv_ts_ns),))
                if channel.startswith("funding_data"):
                    f = _FUNDING.decode(params.data)
                    iid = self.instrument_id(f.market)
                    if iid is None:
                        return NOTHING
                    hours = f.funding_period_hours if f.funding_period_hours is not None else self._hours(iid)
                    ts = f.created_at * 1_000_000 if f.created_at else recv_ts_ns
                    return Parsed((self._period_funding(iid, f.funding_rate, hours, ts, recv_ts_ns),))
            except _DECODE_ERRORS as exc:
                raise FrameError(f"paradex: bad {channel} data: {exc}") from None
            if channel.startswith("trades"):
                return NOTHING
            raise FrameError(f"paradex: unexpected channel {channel!r}")
        if msg.error is not None:
            raise FrameError(f"paradex: venue error: {msg.error}")
        if len(msg.result) and msg.jsonrpc:
            return NOTHING  # subscribe / unsubscribe / auth result
        raise FrameError("paradex: frame is neither a subscription message nor a result")

    def _bbo(self, b: _Bbo, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(b.market)
        if iid is None:
            return NOTHING
        ts = b.last_updated_at * 1_000_000 if b.last_updated_at else recv_ts_ns
        return Parsed((self.quote(iid, b.bid, b.bid_size, b.ask, b.ask_size, ts, recv_ts_ns, b.seq_no),))

    def _book(self, u: _BookUpdate, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(u.market)
        if iid is None:
            return NOTHING
        book = self.book(iid)
        newly_synced = False
        if u.update_type == "s":
            newly_synced = not book.valid
            book.clear()
            _apply_json(book, u)
            book.valid = True
        elif u.update_type == "d":
            if not book.valid:
                return NOTHING  # waiting for the full book of a (re)subscription
            if u.seq_no != book.seq + 1:
                return self.resync(iid, f"{u.market}: sequence gap: expected {book.seq + 1}, got {u.seq_no}", recv_ts_ns)
            _apply_json(book, u)
        else:
            raise FrameError(f"paradex: unknown update_type {u.update_type!r}")
        book.seq = u.seq_no
        if book.is_crossed():
            return self.resync(iid, f"{u.market}: book crossed", recv_ts_ns)
        ts = u.last_updated_at * 1_000_000 if u.last_updated_at else recv_ts_ns
        event = self.book_event(iid, book, ts, recv_ts_ns, u.seq_no)
        return Parsed((self.synced(iid, recv_ts_ns), event)) if newly_synced else Parsed((event,))

    # --- funding -----------------------------------------------------------------------------

    def _hours(self, iid: int) -> float:
        hours = self._funding_hours.get(iid)
        if hours is None:
            meta = self.metadata.get(self.native_of(iid))
            hours = meta.funding_interval_hours if meta is not None and meta.funding_interval_hours > 0 else DEFAULT_FUNDING_HOURS
            self._funding_hours[iid] = hours
        return hours

    def _period_funding(self, iid: int, rate: float, hours: float, ts_ns: int, recv_ts_ns: int) -> Funding:
        """A funding record that names its own period: that period holds for the summaries too."""
        if not 0.0 < hours <= 24.0 * 7:
            raise FrameError(f"paradex: funding period of {hours} h for {self.native_of(iid)}")
        self._funding_hours[iid] = hours
        return self._funding(iid, rate, hours, ts_ns, recv_ts_ns)

    def _funding(self, iid: int, rate: float, hours: float, ts_ns: int, recv_ts_ns: int) -> Funding:
        if not -1.0 < rate < 1.0:
            raise FrameError(f"paradex: absurd funding rate {rate} for {self.native_of(iid)}")
        return self.funding(iid, rate, hours, 0, ts_ns, recv_ts_ns)  # continuous: no next time


def _apply_levels(setter: Callable[[float, float], None], frame: bytes, off: int, length: int, count: int) -> None:
    """Apply ``count`` SBE level entries (price, size mantissas; size 0 deletes) at ``off``."""
    if length == _LEVEL_LEN:
        levels: Iterable[tuple[int, int]] = _LEVELS(memoryview(frame)[off : off + _LEVEL_LEN * count])
    else:  # entries longer than we know: a later version appended fields to them
        levels = (_LEVEL(frame, off + i * length) for i in range(count))
    scale = _SCALE
    for price, size in levels:
        if price <= 0 or size < 0:
            raise FrameError(f"paradex: bad book level {price}/{size} (mantissas)")
        setter(price / scale, size / scale)


def _apply_json(book: L2Book, u: _BookUpdate) -> None:
    for lv in itertools.chain(u.inserts, u.updates):
        if not valid_level(lv.price, lv.size):
            raise FrameError(f"paradex: bad level {lv.price}/{lv.size} for {u.market}")
        if lv.side == "BUY":
            book.set_bid(lv.price, lv.size)
        elif lv.side == "SELL":
            book.set_ask(lv.price, lv.size)
        else:
            raise FrameError(f"paradex: bad side {lv.side!r} for {u.market}")
    for lv in u.deletes:
        if lv.side == "BUY":
            book.set_bid(lv.price, 0.0)
        elif lv.side == "SELL":
            book.set_ask(lv.price, 0.0)
        else:
            raise FrameError(f"paradex: bad side {lv.side!r} for {u.market}")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _market_meta(m: _MarketResp, summary: _SummaryResp | None, now_ms: int) -> InstrumentMeta | None:
    """One ``/v1/markets`` entry as our record, or None when it is not a linear perpetual we map."""
    if m.asset_kind != "PERP":
        return None
    instrument = unified_instrument(m.symbol, m.settlement_currency or "USDC")
    if instrument is None:
        return None
    try:
        parse_instrument(instrument)
    except InstrumentError:
        return None  # a base we cannot name (lower-case, punctuation): not matchable across venues
    if m.expiry_at and m.expiry_at <= now_ms:
        status, word = DELISTED, "expired"
    elif m.open_at > now_ms:
        status, word = PRELAUNCH, "not open"
    elif m.trading_mode in HALTED_MODES:
        status, word = HALTED, m.trading_mode
    else:
        status, word = TRADING, m.trading_mode or "open"
    for value, what in ((m.order_size_increment, "order_size_increment"), (m.price_tick_size, "price_tick_size"),
                        (m.min_notional, "min_notional")):
        if not value >= 0.0:
            raise MetadataError(f"paradex: {m.symbol}: {what} {value} is not a non-negative number")
    hours = m.funding_period_hours if m.funding_period_hours is not None else DEFAULT_FUNDING_HOURS
    if not 0.0 < hours <= 24.0 * 7:
        raise MetadataError(f"paradex: {m.symbol}: funding_period_hours {hours} is not a period")
    base = m.symbol.split("-", 1)[0]
    volume = summary.volume_24h if summary is not None and summary.volume_24h else 0.0
    last = 0.0
    if summary is not None:
        last = summary.last_traded_price or summary.mark_price or 0.0
    return InstrumentMeta(
        venue="paradex", market="perp", native_symbol=m.symbol, instrument=instrument, status=status, venue_status=word,
        contract_size=1.0, lot_size=m.order_size_increment, tick_size=m.price_tick_size, min_size=m.order_size_increment,
        min_notional=m.min_notional, funding_interval_hours=hours,
        venue_base=base if _unified_base(base) != base else "", quote_volume_24h=volume, last_price=last,
    )


INFO = VenueInfo(
    name=Paradex.name,
    markets={"perp": Paradex},
    taker_fee_bps={"perp": 4.5},
    ccxt_id="paradex",
    demo_instruments=tuple(f"{b}/USD:USDC" for b in DEMO_BASES),
    listed=listed_instruments,
    funding_interval_h=DEFAULT_FUNDING_HOURS,
)
