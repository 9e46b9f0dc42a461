"""KuCoin spot public market data: ``/market/ticker`` BBO, ``/market/level2`` increments on a REST snapshot.

REST ``https://api.kucoin.com`` (token handshake and snapshots: ``common.py``). Subscribe
``{"id":1,"type":"subscribe","topic":"/market/ticker:BTC-USDT,ETH-USDT","privateChannel":false,
"response":true}`` (up to 100 symbols per topic) → ``{"id":"1","type":"ack"}``.

Messages read::

    {"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"bestAsk":"0.00028717",
     "bestAskSize":"14.04274325","bestBid":"0.00028678","bestBidSize":"3.70422021","price":"…","sequence":"1612844051653",
     "size":"…","time":1619378326323}}                                  (every 100 ms; ticker:all names it in "subject")
    {"type":"message","topic":"/market/level2:SNX-BTC","subject":"trade.l2update","data":{"sequenceStart":1612844051654,
     "sequenceEnd":1612844051654,"symbol":"SNX-BTC","changes":{"asks":[["0.00028718","0","1612844051654"]],"bids":[]},
     "time":1729816425625}}
    {"type":"message","topic":"/spotMarket/level1:BTC-USDT","subject":"level1","data":{"asks":["68145.8","0.51987471"],
     "bids":["68145.7","1.29267802"],"timestamp":1729816058766}}
    {"type":"message","topic":"/spotMarket/level2Depth5:BTC-USDT", …}                     (see common.py)

Book rules: increments apply on ``GET /api/v1/market/orderbook/level2_100?symbol=…``; those with
``sequenceEnd <=`` the book's sequence are dropped, and one must start at most one past it
(``book.continuity``), else the book is dropped for a new snapshot. In the increment that
straddles the snapshot, level changes whose own sequence is already in it are skipped. Price
"0" is a no-op that still advances the sequence; size "0" deletes the level.

Symbols: ``BTC-USDT`` ↔ ``BTC/USDT`` (base and quote from the listing's ``baseCurrency`` /
``quoteCurrency``, through ``common.BASE_ALIASES``).

Listing (``metadata_requests``, both public, not paginated; units from the OpenAPI example in
``tests/fixtures/kucoin/rest_symbols.json`` and its ``.source.txt``)::

    GET /api/v2/symbols
    {"code":"200000","data":[{"symbol":"BTC-USDT","baseCurrency":"BTC","quoteCurrency":"USDT","baseMinSize":"0.00001",
     "baseIncrement":"0.00000001","priceIncrement":"0.1","minFunds":"0.1","quoteMinSize":"0.1","enableTrading":true,
     "callauctionIsEnabled":false, …}]}
    GET /api/v1/market/allTickers
    {"code":"200000","data":{"time":1729173207043,"ticker":[{"symbol":"BTC-USDT","buy":"67192.5","sell":"67192.6",
     "vol":"1836.03034612","volValue":"124068431.06726933","last":"67193", …}]}}

``baseIncrement`` is the size step and ``baseMinSize`` the smallest order, in base units;
``priceIncrement`` the tick; ``minFunds`` the smallest order value in the quote currency (older
listings without it: ``quoteMinSize``); ``enableTrading`` false is a halt, a call auction
(``callauctionIsEnabled``) is pre-launch. ``volValue`` is the 24 h volume in the quote currency.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.venues.base import NOTHING, FrameError, Parsed
from arbsniper.venues.book import L2Book, valid_level
from arbsniper.venues.kucoin.common import (
    Envelope,
    KuCoinVenue,
    base_currency,
    batched_topics,
    decode_rest,
    limits,
    only_body,
    ts_ns,
)
from arbsniper.venues.metadata import (
    HALTED,
    PRELAUNCH,
    TRADING,
    InstrumentMeta,
    MetadataError,
    RestRequest,
    SubscriptionLimits,
)

REST_URL = "https://api.kucoin.com"
SNAPSHOT_PATH = "/api/v1/market/orderbook/level2_100?symbol="
SYMBOLS_PATH = "/api/v2/symbols"
TICKERS_PATH = "/api/v1/market/allTickers"
CHANNELS = ("/market/ticker", "/market/level2")
TOPICS_PER_CONNECTION = 400  # spot (docs-new); each symbol on each channel is a topic


def native_symbol(instrument: str) -> str:
    """KuCoin's spot symbol for a unified instrument (``BTC/USDT`` → ``BTC-USDT``)."""
    inst = parse_instrument(instrument)
    if inst.is_perp:
        raise ValueError(f"kucoin spot: {instrument} is a perpetual")
    return f"{inst.base}-{inst.quote}"


def unified_instrument(native: str) -> str | None:
    """The unified name of a KuCoin spot symbol (``BTC-USDT`` → ``BTC/USDT``)."""
    base, dash, quote = native.partition("-")
    return f"{base_currency(base)}/{base_currency(quote)}" if dash and base and quote else None


# --- REST listing -------------------------------------------------------------------------------


class _Symbol(msgspec.Struct):
    symbol: str
    baseCurrency: str
    quoteCurrency: str
    baseMinSize: float
    baseIncrement: float
    priceIncrement: float
    enableTrading: bool
    minFunds: float | None = None
    quoteMinSize: float | None = None
    callauctionIsEnabled: bool | None = None


class _Symbols(msgspec.Struct):
    code: str
    data: list[_Symbol] | None = None
    msg: str = ""


class _Ticker24h(msgspec.Struct):
    symbol: str
    volValue: float | None = None
    last: float | None = None


class _TickerList(msgspec.Struct):
    ticker: list[_Ticker24h] = []
    time: int = 0


class _Tickers(msgspec.Struct):
    code: str
    data: _TickerList | None = None
    msg: str = ""


_SYMBOLS = msgspec.json.Decoder(_Symbols, strict=False)
_TICKERS = msgspec.json.Decoder(_Tickers, strict=False)


def parse_symbols(symbols_body: bytes, tickers_body: bytes) -> list[InstrumentMeta]:
    """Every spot symbol of ``GET /api/v2/symbols``, with its 24 h quote volume and last price."""
    listing = decode_rest(_SYMBOLS, symbols_body, "GET /api/v2/symbols")
    if listing.code != "200000" or listing.data is None:
        raise MetadataError(f"kucoin: GET /api/v2/symbols refused: code={listing.code} msg={listing.msg!r}")
    tickers = decode_rest(_TICKERS, tickers_body, "GET /api/v1/market/allTickers")
    if tickers.code != "200000" or tickers.data is None:
        raise MetadataError(f"kucoin: GET /api/v1/market/allTickers refused: code={tickers.code} msg={tickers.msg!r}")
    day = {t.symbol: t for t in tickers.data.ticker}
    out = []
    for s in listing.data:
        instrument = f"{base_currency(s.baseCurrency)}/{base_currency(s.quoteCurrency)}"
        try:
            parse_instrument(instrument)
        except InstrumentError:
            continue  # codes our unified names cannot spell
        if not s.enableTrading:
            status, word = HALTED, "enableTrading=false"
        elif s.callauctionIsEnabled:
            status, word = PRELAUNCH, "callauction"
        else:
            status, word = TRADING, "enableTrading=true"
        t = day.get(s.symbol)
        out.append(InstrumentMeta(
            venue="kucoin", market="spot", native_symbol=s.symbol, instrument=instrument, status=status,
            venue_status=word, lot_size=s.baseIncrement, tick_size=s.priceIncrement, min_size=s.baseMinSize,
            min_notional=s.minFunds if s.minFunds is not None else (s.quoteMinSize or 0.0),
            venue_base=s.baseCurrency if base_currency(s.baseCurrency) != s.baseCurrency else "",
            quote_volume_24h=(t.volValue or 0.0) if t is not None else 0.0,
            last_price=(t.last or 0.0) if t is not None else 0.0,
        ))
    return out


# --- wire types -------------------------------------------------------------------------------


class _Ticker(msgspec.Struct):
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


class _Changes(msgspec.Struct):
    asks: list[tuple[float, float, int]] = []
    bids: list[tuple[float, float, int]] = []


class _Increment(msgspec.Struct):
    sequenceStart: int
    sequenceEnd: int
    changes: _Changes
    time: int = 0


_TICKER = msgspec.json.Decoder(_Ticker, strict=False)
_LEVEL1 = msgspec.json.Decoder(_Level1, strict=False)
_INCREMENT = msgspec.json.Decoder(_Increment, strict=False)
_DEPTH_CHANNELS = ("/spotMarket/level2Depth5", "/spotMarket/level2Depth50")


class KuCoinSpot(KuCoinVenue[_Increment]):
    """KuCoin spot (``/market/*``) for a set of instruments."""

    markets = ("spot",)
    rest_base = REST_URL
    snapshot_prefix = SNAPSHOT_PATH
    gap_expected = "<= "  # an increment may start anywhere up to one past the book
    subscription_limits: ClassVar[SubscriptionLimits] = limits(len(CHANNELS), TOPICS_PER_CONNECTION)
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return REST_URL

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        base = rest_base.rstrip("/")
        return [RestRequest("GET", base + SYMBOLS_PATH, "symbols"), RestRequest("GET", base + TICKERS_PATH, "tickers")]

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        return parse_symbols(only_body(bodies, "symbols"), only_body(bodies, "tickers"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._bridge: dict[int, int] = {}  # snapshot sequence until the increment straddling it is applied

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_from_symbol(self, native: str) -> str | None:
        return unified_instrument(native)

    def subscribe_messages(self) -> list[str]:
        return [self.subscribe_frame(topic) for topic in batched_topics(CHANNELS, self.subscribed_natives())]

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        """One ``unsubscribe`` per channel for the one symbol, acked like a subscribe."""
        native = self.native_of(instrument_id)
        return [self.subscribe_frame(f"{channel}:{native}", "unsubscribe") for channel in CHANNELS]

    def on_connected(self, recv_ts_ns: int) -> Parsed:
        self._bridge.clear()
        return super().on_connected(recv_ts_ns)

    # --- parsing ------------------------------------------------------------------------------

    def message(self, env: Envelope, recv_ts_ns: int) -> Parsed:
        channel, _, native = env.topic.partition(":")
        if native == "all":  # /market/ticker:all names the symbol in the subject
            native = env.subject
        iid = self.instrument_id(native)
        if iid is None:
            return NOTHING  # a symbol we did not ask for (e.g. from ticker:all)
        if channel == "/market/ticker":
            t = _TICKER.decode(env.data)
            ts = t.time or t.Time
            return Parsed((self.quote(iid, t.bestBid, t.bestBidSize, t.bestAsk, t.bestAskSize, ts_ns(ts) if ts else recv_ts_ns,
                                      recv_ts_ns, t.sequence),))
        if channel == "/market/level2":
            msg = _INCREMENT.decode(env.data)
            if msg.sequenceEnd < msg.sequenceStart:
                raise FrameError(f"kucoin: {native} increment ends ({msg.sequenceEnd}) before it starts ({msg.sequenceStart})")
            return self.on_delta(iid, native, msg, recv_ts_ns)
        if channel == "/spotMarket/level1":
            lv = _LEVEL1.decode(env.data)
            ts = ts_ns(lv.timestamp) if lv.timestamp else recv_ts_ns
            return Parsed((self.quote(iid, lv.bids[0], lv.bids[1], lv.asks[0], lv.asks[1], ts, recv_ts_ns),))
        if channel in _DEPTH_CHANNELS:
            return self.depth_snapshot(iid, native, env.data, recv_ts_ns)
        raise FrameError(f"kucoin: unexpected topic {env.topic!r}")

    def span(self, delta: _Increment) -> tuple[int, int, int]:
        return delta.sequenceStart, delta.sequenceEnd, delta.time

    def on_snapshot(self, iid: int, sequence: int) -> None:
        self._bridge[iid] = sequence

    def apply_delta(self, iid: int, book: L2Book, delta: _Increment) -> None:
        # In the increment that straddles the snapshot, changes the snapshot already holds are skipped.
        floor = self._bridge.pop(iid, -1)
        for price, size, seq in delta.changes.bids:
            if price == 0.0 or seq <= floor:
                continue  # price "0": nothing to change, the sequence still advances
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad bid level {price}/{size}")
            book.set_bid(price, size)
        for price, size, seq in delta.changes.asks:
            if price == 0.0 or seq <= floor:
                continue
            if not valid_level(price, size):
                raise FrameError(f"kucoin: bad ask level {price}/{size}")
            book.set_ask(price, size)
        book.seq = delta.sequenceEnd
