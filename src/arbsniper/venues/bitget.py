"""Bitget v2 public market data: spot and USDT-margined futures (books1 BBO, books with checksum, funding).

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
  v2 has no sequence numbers.
- Funding: the futures ``ticker`` channel carries ``fundingRate`` (per 8 h period) and
  ``nextFundingTime`` (ms); ``ticker`` also has ``bidPr``/``askPr``/``bidSz``/``askSz``.
- Symbols: ``BTCUSDT`` + instType; ``SPOT`` → ``BTC/USDT``, ``USDT-FUTURES`` → ``BTC/USDT:USDT``.
  The legacy v1 feed (instType ``sp``/``mc``) sent books in the same shape; they parse too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import Book, Funding, MarketEvent
from arbsniper.venues.base import DEMO_BASES, NOTHING, PONG, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import valid_level

WS_BASE = "wss://ws.bitget.com"
WS_PATH = "/v2/ws/public"
FUNDING_INTERVAL_HOURS = 8.0
ARGS_PER_MESSAGE = 50
LIFETIME_S = 23.5 * 3600  # the venue cuts every connection after 24 h

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
    checksum: int = 0
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
    max_instruments_per_connection: ClassVar[int] = 100  # 3 channels each; 1000 channels per connection
    max_messages_per_s = 5.0  # the venue allows 10 client messages per second

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

    def subscribe_messages(self) -> list[str]:
        natives = self.subscribed_natives()
        args = [(inst_type(self.market, n), ch, n) for ch in self._channels() for n in natives]
        return [self._op("subscribe", args[i : i + ARGS_PER_MESSAGE]) for i in range(0, len(args), ARGS_PER_MESSAGE)]

    @staticmethod
    def _op(op: str, args: list[tuple[str, str, str]]) -> str:
        body = ",".join(f'{{"instType":"{t}","channel":"{c}","instId":"{n}"}}' for t, c, n in args)
        return f'{{"op":"{op}","args":[{body}]}}'

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
                out.append(Funding(self.venue_id, iid, t.fundingRate, FUNDING_INTERVAL_HOURS, t.nextFundingTime * 1_000_000, ts, recv_ts_ns))
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
            for raw in d.bids:
                price, size = _level(raw, native)
                book.set_bid(price, size, raw)
            for raw in d.asks:
                price, size = _level(raw, native)
                book.set_ask(price, size, raw)
            # v2 snapshots carry checksum 0 ("not computed"); everything else is checked.
            if action == "update" or d.checksum != 0:
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
            out.append(self.book_event(iid, book, d.ts * 1_000_000 if d.ts else recv_ts_ns, recv_ts_ns))
        if resync:
            return Parsed(tuple(out), (iid,))
        return _events(out)


def _events(out: list[MarketEvent]) -> Parsed:
    return Parsed(tuple(out)) if out else NOTHING


INFO = VenueInfo(
    name=Bitget.name,
    markets={"spot": Bitget, "perp": Bitget},
    taker_fee_bps={"spot": 10.0, "perp": 6.0},
    ccxt_id="bitget",
    demo_instruments=(*(f"{b}/USDT" for b in DEMO_BASES), *(f"{b}/USDT:USDT" for b in DEMO_BASES)),
    listed=listed_instruments,
)
