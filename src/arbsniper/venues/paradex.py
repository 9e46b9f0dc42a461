"""Paradex perpetuals over the public JSON-RPC WebSocket: ``bbo``, order book deltas, funding.

Protocol (shared/venues.md §8; tradeparadex/paradex-docs asyncapi):
- ``wss://ws.api.prod.paradex.trade/v1``, JSON-RPC 2.0. Subscribe
  ``{"jsonrpc":"2.0","method":"subscribe","params":{"channel":"bbo.BTC-USD-PERP"},"id":1}`` →
  ``{"jsonrpc":"2.0","result":{"channel":"…"},"id":1}``; subscribing to a channel twice is an
  error, so a resubscription unsubscribes first. Data arrive as
  ``{"jsonrpc":"2.0","method":"subscription","params":{"channel":"…","data":{…}}}``; errors as
  ``{"error":{"code":-32600,"message":"…","data":"…"}}``.
- Keep-alive is the protocol's: the server pings every 55 s and wants a pong within 5 s.
- BBO ``bbo.{market}``: ``bid``, ``bid_size``, ``ask``, ``ask_size``, ``seq_no``,
  ``last_updated_at`` (ms), pushed on every change.
- L2 ``order_book.{market}.deltas``: the first message is the whole book (``update_type`` "s"),
  then ``"d"`` messages with ``inserts``/``updates``/``deletes`` (``{side: BUY|SELL, price, size}``)
  whose ``seq_no`` is the previous one plus one; anything else is a gap: resubscribe. The
  ``order_book.{market}.snapshot@15@…`` feed sends depth-15 snapshots (``"s"`` every time).
- Funding: ``markets_summary.{market}`` carries ``funding_rate`` for the market's funding period
  (8 h unless ``funding_data.{market}`` says otherwise in ``funding_period_hours``). Funding
  accrues continuously, so there is no next funding time.
- Symbols: ``BTC-USD-PERP`` ↔ ``BTC/USD:USDC`` (USD-quoted, USDC-settled); ``kBONK-USD-PERP``
  (1000 BONK) ↔ ``1000BONK/USD:USDC``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import ClassVar

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import Funding
from arbsniper.venues.base import DEMO_BASES, NOTHING, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import L2Book, valid_level

WS_BASE = "wss://ws.api.prod.paradex.trade"
WS_PATH = "/v1"
DEFAULT_FUNDING_HOURS = 8.0


def native_symbol(instrument: str) -> str:
    """Paradex's market for a unified perpetual (``BTC/USD:USDC`` → ``BTC-USD-PERP``)."""
    inst = parse_instrument(instrument)
    if inst.settle != "USDC":
        raise ValueError(f"paradex: perpetuals settle in USDC, not {instrument}")
    base = "k" + inst.base[4:] if inst.base.startswith("1000") and len(inst.base) > 4 else inst.base
    return f"{base}-{inst.quote}-PERP"


def unified_instrument(market: str) -> str | None:
    """The unified perpetual of a Paradex market, or None for options and spot."""
    parts = market.split("-")
    if len(parts) != 3 or parts[2] != "PERP" or not parts[0]:
        return None
    base = parts[0]
    if base[0] == "k" and base[1:].isupper():
        base = "1000" + base[1:]
    return f"{base}/{parts[1]}:USDC"


def listed_instruments(market: str, bases: Sequence[str]) -> list[str]:
    """Unified instruments Paradex lists for ``bases`` (USD-quoted perpetuals settled in USDC)."""
    return [f"{b}/USD:USDC" for b in bases] if market == "perp" else []


# --- wire types -------------------------------------------------------------------------------


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
    funding_period_hours: float = DEFAULT_FUNDING_HOURS
    created_at: int = 0


_MESSAGE = msgspec.json.Decoder(_Message)
_BBO = msgspec.json.Decoder(_Bbo, strict=False)
_BOOK = msgspec.json.Decoder(_BookUpdate, strict=False)
_SUMMARY = msgspec.json.Decoder(_Summary, strict=False)
_FUNDING = msgspec.json.Decoder(_FundingData, strict=False)
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


class Paradex(Venue):
    """Paradex perpetuals for a set of instruments."""

    name = "paradex"
    markets = ("perp",)
    max_instruments_per_connection: ClassVar[int] = 50
    max_messages_per_s = 10.0
    lifetime_s: ClassVar[float] = 23.5 * 3600.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._ids = itertools.count(1)
        self._funding_hours: dict[int, float] = {}

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol)

    def heartbeat(self) -> Heartbeat:
        # The server pings every 55 s (pong due within 5 s); 70 s without any frame is a dead link.
        return Heartbeat("server-ping", 55.0, 70.0)

    def ws_url(self) -> str:
        return (self.base_url or WS_BASE) + WS_PATH

    def _rpc(self, method: str, channel: str) -> str:
        return f'{{"jsonrpc":"2.0","method":"{method}","params":{{"channel":"{channel}"}},"id":{next(self._ids)}}}'

    def subscribe_messages(self) -> list[str]:
        return [
            self._rpc("subscribe", channel)
            for m in self.subscribed_natives()
            for channel in (f"bbo.{m}", f"order_book.{m}.deltas", f"markets_summary.{m}")
        ]

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        """Unsubscribe and subscribe the book again: the venue starts over with a full book."""
        channel = f"order_book.{self.native_of(instrument_id)}.deltas"
        return [self._rpc("unsubscribe", channel), self._rpc("subscribe", channel)]

    # --- parsing ------------------------------------------------------------------------------

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
                    return self._summary(_SUMMARY.decode(params.data), recv_ts_ns)
                if channel.startswith("funding_data"):
                    return self._funding_data(_FUNDING.decode(params.data), recv_ts_ns)
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
            self._apply(book, u)
            book.valid = True
        elif u.update_type == "d":
            if not book.valid:
                return NOTHING  # waiting for the full book of a (re)subscription
            if u.seq_no != book.seq + 1:
                return self.resync(iid, f"{u.market}: sequence gap: expected {book.seq + 1}, got {u.seq_no}", recv_ts_ns)
            self._apply(book, u)
        else:
            raise FrameError(f"paradex: unknown update_type {u.update_type!r}")
        book.seq = u.seq_no
        if book.is_crossed():
            return self.resync(iid, f"{u.market}: book crossed", recv_ts_ns)
        ts = u.last_updated_at * 1_000_000 if u.last_updated_at else recv_ts_ns
        event = self.book_event(iid, book, ts, recv_ts_ns, u.seq_no)
        if newly_synced:
            return Parsed((self.synced(iid, recv_ts_ns), event))
        return Parsed((event,))

    @staticmethod
    def _apply(book: L2Book, u: _BookUpdate) -> None:
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

    def _summary(self, s: _Summary, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(s.symbol)
        if iid is None or s.funding_rate is None:
            return NOTHING
        hours = self._funding_hours.get(iid, DEFAULT_FUNDING_HOURS)
        return Parsed((self._funding(iid, s.symbol, s.funding_rate, hours, s.created_at, recv_ts_ns),))

    def _funding_data(self, f: _FundingData, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(f.market)
        if iid is None:
            return NOTHING
        if not 0.0 < f.funding_period_hours <= 24.0 * 7:
            raise FrameError(f"paradex: funding period of {f.funding_period_hours} h for {f.market}")
        self._funding_hours[iid] = f.funding_period_hours
        return Parsed((self._funding(iid, f.market, f.funding_rate, f.funding_period_hours, f.created_at, recv_ts_ns),))

    def _funding(self, iid: int, market: str, rate: float, hours: float, created_at: int, recv_ts_ns: int) -> Funding:
        if not -1.0 < rate < 1.0:
            raise FrameError(f"paradex: absurd funding rate {rate} for {market}")
        ts = created_at * 1_000_000 if created_at else recv_ts_ns
        return Funding(self.venue_id, iid, rate, hours, 0, ts, recv_ts_ns)  # continuous: no next time


INFO = VenueInfo(
    name=Paradex.name,
    markets={"perp": Paradex},
    taker_fee_bps={"perp": 4.5},
    ccxt_id="paradex",
    demo_instruments=tuple(f"{b}/USD:USDC" for b in DEMO_BASES),
    listed=listed_instruments,
    funding_interval_h=DEFAULT_FUNDING_HOURS,
)
