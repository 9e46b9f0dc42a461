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

import msgspec

from arbsniper.instruments import SymbolMap, parse_instrument
from arbsniper.model import PERP, RESYNCING, SPOT, UP, Book, Funding, MarketEvent, Quote, VenueStatus
from arbsniper.venues._checks import TOP_LEVELS, valid_level, valid_quote
from arbsniper.venues.base import FrameError, Heartbeat, Venue
from arbsniper.venues.book import L2Book

WS_URL = "wss://ws.bitget.com/v2/ws/public"
FUNDING_INTERVAL_HOURS = 8.0
ARGS_PER_MESSAGE = 50
LIFETIME_S = 23.5 * 3600  # the venue cuts every connection after 24 h

SPOT_QUOTES = ("USDT", "USDC")
PERP_QUOTES = ("USDT",)
CONVERSION_SPOT = ("USDC/USDT",)

# v1 spelled the instTypes differently; the frames were otherwise the same shape.
_INST_TYPE_ALIASES = {"SP": "SPOT", "MC": "USDT-FUTURES"}


def native_symbol(market: str, instrument: str) -> tuple[str, str]:
    """Bitget's (instType, instId) for a unified instrument."""
    inst = parse_instrument(instrument)
    if market == "spot":
        if inst.is_perp:
            raise ValueError(f"bitget spot: {instrument} is a perpetual")
        return "SPOT", f"{inst.base}{inst.quote}"
    if inst.settle == inst.quote == "USDT":
        return "USDT-FUTURES", f"{inst.base}USDT"
    if inst.settle == inst.quote == "USDC":
        return "USDC-FUTURES", f"{inst.base}PERP"
    if inst.quote == "USD" and inst.settle == inst.base:
        return "COIN-FUTURES", f"{inst.base}USD"
    raise ValueError(f"bitget futures: no perpetual for {instrument}")


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
_TICKERS = msgspec.json.Decoder(list[_TickerData], strict=False)
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


class _Listing:
    __slots__ = ("iid", "inst_type", "native", "book", "synced", "resyncing")

    def __init__(self, iid: int, inst_type: str, native: str) -> None:
        self.iid = iid
        self.inst_type = inst_type
        self.native = native
        self.book = L2Book()
        self.synced = False
        self.resyncing = False


def _level(raw_price: str, raw_size: str, native: str) -> tuple[float, float]:
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
    lifetime_s = LIFETIME_S

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
        self._listings: dict[tuple[str, str], _Listing] = {}
        for instrument in self.instruments:
            inst_type, native = native_symbol(market, instrument)
            self._listings[(inst_type, native)] = _Listing(symbols.instrument_id(instrument), inst_type, native)
        self.heartbeat = Heartbeat("text", 30.0, 45.0, "ping")
        # Where quotes come from: "books1" (fastest) or "ticker" (also carries funding on futures).
        self.bbo_channel = "books1"
        self._outbox: list[str] = []

    def ws_url(self) -> str:
        return self.base_url or WS_URL

    def _channels(self) -> list[str]:
        channels = [self.bbo_channel, "books"]
        if self.kind == PERP and "ticker" not in channels:
            channels.append("ticker")
        return channels

    def subscribe_messages(self) -> list[str]:
        args = [(listing.inst_type, ch, listing.native) for ch in self._channels() for listing in self._listings.values()]
        return [self._op("subscribe", args[i : i + ARGS_PER_MESSAGE]) for i in range(0, len(args), ARGS_PER_MESSAGE)]

    @staticmethod
    def _op(op: str, args: list[tuple[str, str, str]]) -> str:
        body = ",".join(f'{{"instType":"{t}","channel":"{c}","instId":"{n}"}}' for t, c, n in args)
        return f'{{"op":"{op}","args":[{body}]}}'

    def on_connect(self) -> None:
        """A new connection: every book starts over from its snapshot."""
        self._outbox.clear()
        for listing in self._listings.values():
            listing.book.clear()
            listing.synced = False

    def take_outgoing(self) -> list[str]:
        """Frames the parser wants sent (resubscriptions after a bad checksum)."""
        out, self._outbox = self._outbox, []
        return out

    # --- parsing ------------------------------------------------------------------------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> list[MarketEvent]:
        if frame == "pong" or frame == b"pong":
            return []
        try:
            msg = _MESSAGE.decode(frame)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"bitget: not a Bitget frame: {exc}") from None
        if msg.event:
            if msg.event == "error":
                raise FrameError(f"bitget: venue error {msg.code}: {msg.msg}")
            return []  # subscribe / unsubscribe acknowledgements
        arg = msg.arg
        if arg is None or not msg.action:
            raise FrameError("bitget: frame with neither event nor action/arg")
        inst_type = arg.instType.upper()
        listing = self._listings.get((_INST_TYPE_ALIASES.get(inst_type, inst_type), arg.instId))
        if listing is None:
            return []
        channel = arg.channel
        try:
            if channel == "books":
                return self._books(listing, msg.action, _BOOKS.decode(msg.data), recv_ts_ns)
            if channel == "books1":
                return self._books1(listing, _BOOKS.decode(msg.data), recv_ts_ns)
            if channel in ("books5", "books15"):
                return [self._depth(listing, d, recv_ts_ns) for d in _BOOKS.decode(msg.data)]
            if channel == "ticker":
                return self._ticker(listing, _TICKERS.decode(msg.data), recv_ts_ns)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"bitget: bad {channel} data for {arg.instId}: {exc}") from None
        raise FrameError(f"bitget: unexpected channel {channel!r}")

    def _quote(self, listing: _Listing, bid: float, bid_size: float, ask: float, ask_size: float,
               exchange_ts_ns: int, recv_ts_ns: int) -> Quote:
        if not valid_quote(bid, bid_size, ask, ask_size):
            raise FrameError(f"bitget: invalid quote for {listing.native}: {bid}/{bid_size} x {ask}/{ask_size}")
        return Quote(self.venue_id, listing.iid, bid, bid_size, ask, ask_size, exchange_ts_ns, recv_ts_ns)  # v2 has no sequence

    def _books1(self, listing: _Listing, data: list[_BookData], recv_ts_ns: int) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        if self.bbo_channel != "books1":
            return out
        for d in data:
            if not d.bids or not d.asks:
                continue  # one side empty: no two-sided quote to trade on
            bid, bid_size = _level(*d.bids[0], listing.native)
            ask, ask_size = _level(*d.asks[0], listing.native)
            out.append(self._quote(listing, bid, bid_size, ask, ask_size, d.ts * 1_000_000 if d.ts else recv_ts_ns, recv_ts_ns))
        return out

    def _ticker(self, listing: _Listing, data: list[_TickerData], recv_ts_ns: int) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for t in data:
            ts = t.ts * 1_000_000 if t.ts else recv_ts_ns
            if self.bbo_channel == "ticker":
                if t.bidPr is None or t.bidSz is None or t.askPr is None or t.askSz is None:
                    raise FrameError(f"bitget: ticker for {listing.native} without bid/ask")
                out.append(self._quote(listing, t.bidPr, t.bidSz, t.askPr, t.askSz, ts, recv_ts_ns))
            if self.kind == PERP and t.fundingRate is not None and t.nextFundingTime:
                if not -1.0 < t.fundingRate < 1.0:
                    raise FrameError(f"bitget: absurd funding rate {t.fundingRate} for {listing.native}")
                out.append(Funding(self.venue_id, listing.iid, t.fundingRate, FUNDING_INTERVAL_HOURS, t.nextFundingTime * 1_000_000, ts, recv_ts_ns))
        return out

    def _depth(self, listing: _Listing, d: _BookData, recv_ts_ns: int) -> Book:
        bids = sorted((_level(p, s, listing.native) for p, s in d.bids), reverse=True)[:TOP_LEVELS]
        asks = sorted(_level(p, s, listing.native) for p, s in d.asks)[:TOP_LEVELS]
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise FrameError(f"bitget: crossed depth snapshot for {listing.native}")
        return Book(self.venue_id, listing.iid, bids, asks, d.ts * 1_000_000 if d.ts else recv_ts_ns, recv_ts_ns)

    def _books(self, listing: _Listing, action: str, data: list[_BookData], recv_ts_ns: int) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        book = listing.book
        for d in data:
            if action == "snapshot":
                book.clear()
                listing.synced = True
            elif action != "update":
                raise FrameError(f"bitget: unknown books action {action!r}")
            elif not listing.synced:
                continue  # waiting for the snapshot of a resubscription
            for raw_price, raw_size in d.bids:
                price, size = _level(raw_price, raw_size, listing.native)
                book.set_bid(price, size, raw_price, raw_size)
            for raw_price, raw_size in d.asks:
                price, size = _level(raw_price, raw_size, listing.native)
                book.set_ask(price, size, raw_price, raw_size)
            # v2 snapshots carry checksum 0 ("not computed"); everything else is checked.
            if (action == "update" or d.checksum != 0) and book.checksum_crc32(25) != d.checksum:
                out.append(self._lose(listing, f"checksum mismatch (venue {d.checksum}, book {book.checksum_crc32(25)})", recv_ts_ns))
                continue
            if book.is_crossed():
                out.append(self._lose(listing, "crossed book", recv_ts_ns))
                continue
            book.valid = True
            out.append(Book(self.venue_id, listing.iid, book.top_bids(TOP_LEVELS), book.top_asks(TOP_LEVELS),
                            d.ts * 1_000_000 if d.ts else recv_ts_ns, recv_ts_ns))
            if action == "snapshot" and listing.resyncing:
                listing.resyncing = False
                out.append(VenueStatus(self.venue_id, UP, "book resynced", recv_ts_ns, self.kind, listing.iid))
        return out

    def _lose(self, listing: _Listing, reason: str, recv_ts_ns: int) -> VenueStatus:
        """Drop a book known to be wrong and resubscribe its channel for a fresh snapshot."""
        listing.book.clear()
        listing.synced = False
        listing.resyncing = True
        arg = [(listing.inst_type, "books", listing.native)]
        self._outbox += [self._op("unsubscribe", arg), self._op("subscribe", arg)]
        return VenueStatus(self.venue_id, RESYNCING, f"{listing.native}: {reason}", recv_ts_ns, self.kind, listing.iid)
