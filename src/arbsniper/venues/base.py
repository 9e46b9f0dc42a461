"""The small interface every venue module implements: protocol facts plus a parser.

A venue module supplies data (endpoints, subscribe frames, heartbeat rule, limits, fees: its
``INFO``) and parsing; the one WebSocket session in ``session.py`` does all I/O. Parsers are
synchronous and do no I/O, so ``arbsniper parse``, ``arbsniper replay`` and the tests drive them
with recorded frames.

Everything a parser has to say comes back as one ``Parsed``: the normalized events, plus what
the session must act on (books to fetch again, a reconnect the venue asked for, a pong seen).
The session reads nothing else from a venue but its public methods.

Book integrity is the parser's job too: it keeps one ``L2Book`` per instrument, applies the
venue's own sequence / update-id / checksum rules, and on a gap or mismatch drops the book,
emits ``VenueStatus(RESYNCING)`` for that instrument and names it in ``Parsed.resyncs``. The
session then either fetches a REST snapshot (``snapshot_path`` + ``apply_snapshot``) or
resubscribes (``resubscribe_messages``). When the book is whole again the parser emits
``VenueStatus(UP)`` for the instrument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

import msgspec

from arbsniper.instruments import InstrumentError, SymbolMap, parse_instrument
from arbsniper.model import ANY, PERP, RESYNCING, SPOT, UP, Book, Funding, MarketEvent, Quote, VenueStatus
from arbsniper.venues.book import MAX_SIZE, L2Book
from arbsniper.venues.metadata import InstrumentMeta, MetadataSource, RestRequest


class Parsed(msgspec.Struct, frozen=True, gc=False):
    """What one frame, snapshot or connection start means, for the engine and for the session.

    ``events``: normalized events, in order. ``resyncs``: instruments whose book must be fetched
    again. ``reconnect``: non-empty, reconnect now for this reason (the venue announced a
    shutdown). ``pong``: the frame was the venue's answer to our heartbeat.
    """

    events: tuple[MarketEvent, ...] = ()
    resyncs: tuple[int, ...] = ()
    reconnect: str = ""
    pong: bool = False


NOTHING = Parsed()  # acks, greetings, ignored channels: shared, no allocation per frame
PONG = Parsed(pong=True)


class FrameError(ValueError):
    """A frame that is not valid market data for this venue (counted and skipped by the session)."""


# What a parser may raise on a hostile frame besides its own FrameError: msgspec's decoders raise
# RecursionError on deeply nested JSON (3,000 nested objects in a skipped field) and DecodeError
# on invalid UTF-8 inside a string a first pass skipped. Callers of ``parse`` / ``apply_snapshot``
# catch this tuple: one except clause costs nothing per frame, a wrapper around every parser would.
REJECTED: tuple[type[BaseException], ...] = (
    FrameError, RecursionError, msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError,
)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """How a connection is kept alive and how a dead one is noticed.

    ``mode``:
    - ``"server-ping"``: the venue sends protocol pings and we answer each with a pong carrying
      the same payload (Binance, Paradex);
    - ``"client-ping"``: we send a protocol ping every ``interval_s`` and expect a protocol pong;
    - ``"text"`` / ``"json"``: we send ``payload`` as a text frame every ``interval_s`` and the
      parser says when a frame is the venue's pong (``Parsed.pong``: OKX ``ping``; Bybit, KuCoin,
      Hyperliquid JSON pings);
    - ``"none"``: nothing to send; the venue pushes data or heartbeat messages on its own
      (Coinbase ``heartbeats`` channel).

    ``timeout_s``: no frame at all for this long, or no pong this long after a ping we sent,
    means the connection is dead: reconnect.
    """

    mode: str
    interval_s: float
    timeout_s: float
    payload: str = ""


class Venue(MetadataSource):
    """One venue market (e.g. Binance spot) for a set of unified instruments.

    Subclasses set the class attributes and implement ``ws_url``, ``subscribe_messages``,
    ``native_symbol``, ``unified_instrument``, ``heartbeat`` and ``parse``; venues with L2 books
    also implement ``snapshot_path``/``apply_snapshot`` (REST snapshot) or
    ``resubscribe_messages`` (fresh snapshot by resubscribing); venues that hand out a token
    before connecting implement ``handshake``/``on_handshake``.

    ``parse`` is given each text frame with its local receive time and returns a ``Parsed``
    (``NOTHING`` for acks and other control frames, ``PONG`` for pongs); it raises
    ``FrameError`` for frames that are malformed or carry invalid values. It never does I/O.

    With no instruments given the venue is *open*: it parses every symbol it sees, deriving the
    unified name from the native symbol (``arbsniper parse``, sample tests). Otherwise frames for
    symbols that were not asked for are ignored.

    Instruments are given as unified names or, normally, as the venue's ``InstrumentMeta``
    (``metadata.py``): the parser converts sizes with its ``contract_size`` and takes the
    funding interval from it. On a market whose sizes are contracts (``sizes_in_contracts``) a
    symbol without metadata has no known unit: ``contract_size`` refuses it, never guesses.

    ``base_url`` / ``rest_url`` override the venue's endpoints (tests, the simulator, proxies);
    a ``{market}`` placeholder in them is replaced by ``spot`` or ``perp``.
    """

    name: ClassVar[str]
    markets: ClassVar[tuple[str, ...]]  # the markets this class serves: ("spot", "perp")
    max_instruments_per_connection: ClassVar[int] = 100  # callers split bigger instrument lists
    max_messages_per_s: float = 5.0  # pacing of client -> server messages (instances may differ by market)
    lifetime_s: ClassVar[float] = 23.5 * 3600.0  # roll the connection before the venue's limit
    book_depth: ClassVar[int] = 20  # levels per side published in Book events
    book_sync: ClassVar[bool] = True  # depth is snapshot + deltas: instruments wait for ``synced``
    # Beyond this |rate| per funding interval a funding frame is rejected (NaN, 1e300, a unit slip):
    # ``connect.build_venues`` and ``replay`` set it from ``detector.max_abs_funding_rate``.
    max_abs_funding_rate: float = 0.05

    def __init__(
        self,
        market: str,
        symbols: SymbolMap,
        instruments: Sequence[str | InstrumentMeta] = (),
        base_url: str | None = None,
        rest_url: str | None = None,
        metadata: Sequence[InstrumentMeta] = (),
    ) -> None:
        if market not in self.markets:
            raise ValueError(f"{self.name}: no {market!r} market (has {', '.join(self.markets)})")
        self.market = market
        self.kind = SPOT if market == "spot" else PERP
        self.symbols = symbols
        self.venue_id = symbols.venue_id(self.name)
        metas = [m for m in instruments if isinstance(m, InstrumentMeta)]
        self.instruments = [m.instrument if isinstance(m, InstrumentMeta) else m for m in instruments]
        # Metadata by native symbol: the subscribed instruments' and, in open mode (parse, replay),
        # any the caller knows, so a recording of a contract-sized market parses in base units.
        self.metadata: dict[str, InstrumentMeta] = {m.native_symbol: m for m in (*metadata, *metas)}
        self.base_url = base_url.replace("{market}", market).rstrip("/") if base_url else None
        self.rest_url = rest_url.replace("{market}", market).rstrip("/") if rest_url else None
        self.open = not self.instruments
        self.books: dict[int, L2Book] = {}
        # Native symbol -> instrument id, per venue *market*: Binance spot and USD-M both call
        # their BTC markets "BTCUSDT", so the shared SymbolMap cannot answer this alone.
        self._native: dict[str, int] = {}
        self._native_of: dict[int, str] = {}
        for item in instruments:
            inst = item.instrument if isinstance(item, InstrumentMeta) else item
            parsed = parse_instrument(inst)
            if parsed.is_perp != (self.kind == PERP):
                raise ValueError(f"{self.name} {market}: {inst} is not a {market} instrument")
            self._register(item.native_symbol if isinstance(item, InstrumentMeta) else self.native_symbol(inst), inst)

    # ---- protocol facts, per venue -------------------------------------------------------

    def heartbeat(self) -> Heartbeat:
        raise NotImplementedError

    def ws_url(self) -> str:
        raise NotImplementedError

    def subscribe_messages(self) -> list[str]:
        """The text frames that subscribe every instrument, batched within the venue's limits."""
        raise NotImplementedError

    def native_symbol(self, instrument: str) -> str:
        """The venue's symbol for a unified instrument of this market."""
        raise NotImplementedError

    def unified_instrument(self, native_symbol: str) -> str | None:
        """The unified name of a native symbol of this market, or None when it has none."""
        raise NotImplementedError

    # ---- before connecting, per venue --------------------------------------------------------

    def handshake(self) -> RestRequest | None:
        """The REST request to make before each connection attempt (KuCoin's token); None: none."""
        return None

    def on_handshake(self, body: bytes) -> None:
        """Take what the handshake response says (token, endpoint, ping rule); FrameError if refused."""
        raise NotImplementedError

    # ---- parsing ----------------------------------------------------------------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        raise NotImplementedError

    def parse_binary(self, frame: bytes, recv_ts_ns: int) -> Parsed:
        """A binary frame (Paradex's SBE channel data); most venues send none: a FrameError."""
        raise FrameError(f"{self.name} {self.market}: unexpected binary frame ({len(frame)} bytes)")

    # ---- REST polled while connected, per venue ------------------------------------------------

    poll_interval_s: ClassVar[float] = 0.0  # > 0: the session sends ``poll_requests`` this often

    def poll_requests(self) -> list[RestRequest]:
        """Requests the session repeats every ``poll_interval_s`` while connected (data no channel
        carries, e.g. Coinbase futures funding); default none."""
        return []

    def on_poll(self, request: RestRequest, body: bytes, recv_ts_ns: int) -> Parsed:
        """Events from one polled answer (pure, like ``parse``)."""
        raise NotImplementedError

    def on_connected(self, recv_ts_ns: int) -> Parsed:
        """Forget per-connection state (books, sequences) when a new connection starts.

        Where depth must sync (snapshot, then deltas) every subscribed instrument starts as
        RESYNCING, to follow the connection's UP: nothing trades on its quotes until its book
        has synced and the parser says so (``synced``).
        """
        for book in self.books.values():
            book.clear()
        if not self.book_sync or not self.instruments:
            return NOTHING
        ids = (self.symbols.instrument_id(inst) for inst in self.instruments)
        return Parsed(tuple(VenueStatus(self.venue_id, RESYNCING, "awaiting the first book", recv_ts_ns, self.kind, iid) for iid in ids))

    # ---- resync, per venue ------------------------------------------------------------------

    def snapshot_path(self, instrument_id: int) -> str | None:
        """REST path (joined to ``rest_endpoint()``) of a book snapshot; None: resubscribe instead."""
        return None

    def rest_endpoint(self) -> str:
        """Base URL of the venue's REST API for this market (``rest_url`` override first)."""
        raise NotImplementedError

    def apply_snapshot(self, instrument_id: int, body: str | bytes, recv_ts_ns: int) -> Parsed:
        """Install a REST snapshot body for one instrument and replay buffered deltas."""
        raise NotImplementedError

    def resubscribe_messages(self, instrument_id: int) -> list[str]:
        """Frames that make the venue send a fresh book snapshot for one instrument."""
        return []

    # ---- halts and delistings (metadata refresh, cold path) -----------------------------------

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        """The venue's own requests that stop it sending one instrument's channels on the live
        connection (every venue has them); none here: it is then only dropped locally (see
        ``remove_instrument``) and streams until the next connection."""
        return []

    def remove_instrument(self, instrument: str) -> int | None:
        """Stop watching one instrument (halted or delisted): no longer subscribed on the next
        connection; its id, or None when it was not watched. Its frames may still be parsed until
        the venue stops sending them: the engine ignores them once told (``VenueStatus(HALTED)``)."""
        if instrument not in self.instruments:
            return None
        iid = self.symbols.instrument_id(instrument)
        self.instruments.remove(instrument)
        self.books.pop(iid, None)
        return iid

    # ---- helpers for parsers ------------------------------------------------------------

    def _register(self, native: str, instrument: str) -> int:
        iid = self.symbols.instrument_id(instrument)
        self._native[native] = iid
        self._native_of[iid] = native
        return iid

    def instrument_id(self, native: str) -> int | None:
        """Instrument id of a native symbol; in open mode unknown symbols are added on the fly."""
        iid = self._native.get(native)
        if iid is not None or not self.open:
            return iid
        unified = self.unified_instrument(native)
        if unified is None:
            raise FrameError(f"{self.name} {self.market}: symbol {native!r} has no unified instrument")
        try:
            return self._register(native, unified)
        except InstrumentError as exc:
            raise FrameError(f"{self.name} {self.market}: symbol {native!r}: {exc}") from None

    def meta_of(self, native: str) -> InstrumentMeta | None:
        """The metadata of a native symbol, when known."""
        return self.metadata.get(native)

    def contract_size(self, native: str) -> float:
        """Base units per unit of this market's size fields for ``native`` (cold path: cache it).

        1.0 where the venue's sizes are base units; where they are contracts the metadata says,
        and a symbol without metadata is a ``FrameError`` (a size in an unknown unit is worse
        than no size).
        """
        meta = self.metadata.get(native)
        if meta is not None:
            return meta.contract_size
        if self.sizes_in_contracts:
            raise FrameError(f"{self.name} {self.market}: no metadata for {native}: its size unit (contracts) is unknown")
        return 1.0

    def native_of(self, instrument_id: int) -> str:
        return self._native_of[instrument_id]

    def subscribed_natives(self) -> list[str]:
        return [self._native_of[self.symbols.instrument_id(inst)] for inst in self.instruments]

    def book(self, instrument_id: int) -> L2Book:
        book = self.books.get(instrument_id)
        if book is None:
            book = self.books[instrument_id] = L2Book()
        return book

    def invalidate(self, instrument_id: int, reason: str, recv_ts_ns: int) -> VenueStatus:
        """Drop a book known to be wrong and say so (RESYNCING); the caller names it in ``resyncs``."""
        self.book(instrument_id).clear()
        return VenueStatus(self.venue_id, RESYNCING, reason, recv_ts_ns, self.kind, instrument_id)

    def resync(self, instrument_id: int, reason: str, recv_ts_ns: int) -> Parsed:
        """Drop a book known to be wrong: RESYNCING, and ask the session for a fresh one."""
        return Parsed((self.invalidate(instrument_id, reason, recv_ts_ns),), (instrument_id,))

    def synced(self, instrument_id: int, recv_ts_ns: int) -> VenueStatus:
        """The book of one instrument is whole again (UP)."""
        return VenueStatus(self.venue_id, UP, "book synced", recv_ts_ns, self.kind, instrument_id)

    def status(self, state: int, reason: str, recv_ts_ns: int) -> VenueStatus:
        """Status of this venue market as a whole (the session's connection events)."""
        return VenueStatus(self.venue_id, state, reason, recv_ts_ns, self.kind, ANY)

    def funding(self, instrument_id: int, rate: float, interval_hours: float, next_funding_ts_ns: int,
                exchange_ts_ns: int, recv_ts_ns: int) -> Funding:
        """A ``Funding`` event, or FrameError for a rate that is not finite or beyond
        ``max_abs_funding_rate`` per interval, or an interval that is not a finite number of
        hours ≥ 0 (0: unknown, which the engine ignores): the detector would turn either into a
        null or absurd ``net_bps``."""
        if not abs(rate) <= self.max_abs_funding_rate:  # NaN compares false
            raise FrameError(f"{self.name} {self.market}: funding rate {rate!r} beyond ±{self.max_abs_funding_rate} "
                             f"per interval (detector.max_abs_funding_rate)")
        if not 0.0 <= interval_hours <= 24.0 * 366:
            raise FrameError(f"{self.name} {self.market}: funding interval {interval_hours!r} h")
        return Funding(self.venue_id, instrument_id, rate, interval_hours, next_funding_ts_ns, exchange_ts_ns, recv_ts_ns)

    def book_event(self, instrument_id: int, book: L2Book, exchange_ts_ns: int, recv_ts_ns: int, seq: int = 0) -> Book:
        n = self.book_depth
        return Book(self.venue_id, instrument_id, book.top_bids(n), book.top_asks(n), exchange_ts_ns, recv_ts_ns, seq)

    def quote(
        self,
        instrument_id: int,
        bid: float,
        bid_size: float,
        ask: float,
        ask_size: float,
        exchange_ts_ns: int,
        recv_ts_ns: int,
        seq: int = 0,
    ) -> Quote:
        """A validated Quote: positive finite prices and sane non-negative sizes.

        A crossed quote (bid >= ask) is passed on, not raised: the venue's last good quote is no
        longer its state, so the engine must see it to refuse it, count it and clear that price.
        """
        if not (bid > 0.0 and ask > 0.0 and math.isfinite(bid) and math.isfinite(ask)):
            raise FrameError(f"{self.name}: non-positive or non-finite price bid={bid} ask={ask}")
        if not (0.0 <= bid_size < MAX_SIZE and 0.0 <= ask_size < MAX_SIZE):
            raise FrameError(f"{self.name}: absurd size bid_size={bid_size} ask_size={ask_size}")
        return Quote(self.venue_id, instrument_id, bid, bid_size, ask, ask_size, exchange_ts_ns, recv_ts_ns, seq)


DEMO_BASES = ("BTC", "ETH", "SOL")  # the base assets of the demo listings (``VenueInfo.demo_instruments``)
ListingRule = Callable[[str, Sequence[str]], list[str]]  # (market, bases) -> unified instruments


@dataclass(frozen=True, slots=True)
class VenueInfo:
    """The facts of one venue, defined in its own module as ``INFO`` and listed in ``REGISTRY``.

    - ``markets``: market ("spot"/"perp") -> the protocol class serving it;
    - ``taker_fee_bps``: base-tier taker fee per market, approximate (shared/venues.md), the
      default of ``Config.taker_fee_bps``; it may name a market we do not connect;
    - ``ccxt_id``: the ccxt exchange id the live executor trades through;
    - ``demo_instruments``: what the exchange simulator lists for the venue, in order;
    - ``listed``: what the venue really lists for some bases in a market (its quote currencies,
      its conversion markets), the live default; None: the demo instruments of those bases;
    - ``funding_interval_h``: the funding period of its perpetuals (the simulator's).
    """

    name: str
    markets: Mapping[str, type[Venue]]
    taker_fee_bps: Mapping[str, float]
    ccxt_id: str
    demo_instruments: tuple[str, ...]
    listed: ListingRule | None = None
    funding_interval_h: float = 8.0

    def __post_init__(self) -> None:
        for market, cls in self.markets.items():
            if cls.name != self.name or market not in cls.markets:
                raise ValueError(f"{self.name}: {cls.__name__} does not serve {self.name} {market}")

    def venue_class(self, market: str) -> type[Venue]:
        """The protocol class of one market; ValueError naming the markets there are."""
        cls = self.markets.get(market)
        if cls is None:
            raise ValueError(f"{self.name}: no {market!r} market (has {', '.join(self.markets)})")
        return cls


EventSink = Callable[[MarketEvent], None]


class MarketSource(Protocol):
    """Anything that produces normalized market events: connectors, the synthetic market, a replay."""

    async def run(self, sink: EventSink) -> None:
        """Push events into ``sink`` until cancelled; never block the loop per event."""
        ...
