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

Symbols: ``BTC-USDT`` ↔ ``BTC/USDT``.
"""

from __future__ import annotations

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.venues.base import NOTHING, FrameError, Parsed
from arbsniper.venues.book import L2Book, valid_level
from arbsniper.venues.kucoin.common import Envelope, KuCoinVenue, ts_ns

REST_URL = "https://api.kucoin.com"
SNAPSHOT_PATH = "/api/v1/market/orderbook/level2_100?symbol="
TOPICS_PER_FRAME = 100  # symbols per topic


def native_symbol(instrument: str) -> str:
    """KuCoin's spot symbol for a unified instrument (``BTC/USDT`` → ``BTC-USDT``)."""
    inst = parse_instrument(instrument)
    if inst.is_perp:
        raise ValueError(f"kucoin spot: {instrument} is a perpetual")
    return f"{inst.base}-{inst.quote}"


def unified_instrument(native: str) -> str | None:
    """The unified name of a KuCoin spot symbol (``BTC-USDT`` → ``BTC/USDT``)."""
    base, dash, quote = native.partition("-")
    return f"{base}/{quote}" if dash and base and quote else None


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

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._bridge: dict[int, int] = {}  # snapshot sequence until the increment straddling it is applied

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol)

    def subscribe_messages(self) -> list[str]:
        natives = self.subscribed_natives()
        topics = []
        for i in range(0, len(natives), TOPICS_PER_FRAME):
            chunk = ",".join(natives[i : i + TOPICS_PER_FRAME])
            topics += [f"/market/ticker:{chunk}", f"/market/level2:{chunk}"]
        return [self.subscribe_frame(topic) for topic in topics]

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
