"""KuCoin futures public market data: ``tickerV2`` BBO, ``level2`` changes on a REST snapshot, funding.

REST ``https://api-futures.kucoin.com`` (token handshake and snapshots: ``common.py``). One
subscription per topic and contract: ``/contractMarket/tickerV2:XBTUSDTM``,
``/contractMarket/level2:XBTUSDTM``, ``/contract/instrument:XBTUSDTM``.

Messages read::

    {"type":"message","topic":"/contractMarket/tickerV2:XBTUSDTM","subject":"tickerV2","data":{"symbol":"XBTUSDTM",
     "sequence":1638,"bestBidSize":68,"bestBidPrice":"77358.1","bestAskPrice":"77358.2","bestAskSize":2286,
     "ts":1776941410555000000}}                                                          (ts in ns)
    {"type":"message","topic":"/contractMarket/level2:XBTUSDTM","subject":"level2","data":{"sequence":18,
     "change":"3000.5,sell,83","timestamp":1700000000123}}                       (one change per message)
    {"type":"message","topic":"/contract/instrument:XBTUSDTM","subject":"funding.rate","data":{"granularity":60000,
     "fundingRate":-0.002966,"timestamp":1551770400000}}                 (rate per 8 h funding period)
    {"type":"message","topic":"/contract/instrument:XBTUSDTM","subject":"mark.index.price", …}      (ignored)
    {"type":"message","topic":"/contractMarket/level2Depth5:XBTUSDTM", …}                 (see common.py)

Book rules: changes apply on ``GET /api/v1/level2/snapshot?symbol=…``; a change's ``sequence``
must be exactly the book's plus one (``book.continuity`` over a one-number range), else the book
is dropped for a new snapshot. Sizes are contracts of ``multiplier`` base units (XBTUSDTM =
0.001 BTC); events carry base units.

Symbols: ``XBTUSDTM`` ↔ ``BTC/USDT:USDT`` (``XBT`` is BTC, ``M`` marks a perpetual); ``XBTUSDM``
is the inverse perpetual ``BTC/USD:BTC``.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import Funding
from arbsniper.venues.base import NOTHING, FrameError, Parsed
from arbsniper.venues.book import L2Book, valid_level
from arbsniper.venues.kucoin.common import FUNDING_INTERVAL_HOURS, Envelope, KuCoinVenue, contracts_to_base, ts_ns

REST_URL = "https://api-futures.kucoin.com"
SNAPSHOT_PATH = "/api/v1/level2/snapshot?symbol="

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

_SPLIT_QUOTES = ("USDT", "USDC", "USD")


def native_symbol(instrument: str) -> str:
    """KuCoin's contract for a unified perpetual (``BTC/USDT:USDT`` → ``XBTUSDTM``)."""
    inst = parse_instrument(instrument)
    base = "XBT" if inst.base == "BTC" else inst.base
    if inst.is_perp and (inst.settle == inst.quote or (inst.quote == "USD" and inst.settle == inst.base)):
        return f"{base}{inst.quote}M"
    raise ValueError(f"kucoin futures: no perpetual for {instrument}")


def unified_instrument(native: str) -> str | None:
    """The unified perpetual of a KuCoin contract (``XBTUSDTM`` → ``BTC/USDT:USDT``), None for dated futures."""
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


# --- wire types -------------------------------------------------------------------------------


class _TickerV2(msgspec.Struct):
    bestBidPrice: float
    bestBidSize: float
    bestAskPrice: float
    bestAskSize: float
    sequence: int = 0
    ts: int = 0


class _WireChange(msgspec.Struct):
    sequence: int
    change: str
    timestamp: int = 0


class _Change(NamedTuple):
    """One level change, parsed and converted to base units."""

    sequence: int
    price: float
    is_bid: bool
    size: float
    timestamp: int


class _FundingRate(msgspec.Struct):
    fundingRate: float
    granularity: int = 0
    timestamp: int = 0


_TICKER_V2 = msgspec.json.Decoder(_TickerV2, strict=False)
_CHANGE = msgspec.json.Decoder(_WireChange, strict=False)
_FUNDING_RATE = msgspec.json.Decoder(_FundingRate, strict=False)
_DEPTH_CHANNELS = ("/contractMarket/level2Depth5", "/contractMarket/level2Depth50")


class KuCoinFutures(KuCoinVenue[_Change]):
    """KuCoin futures (``/contractMarket/*``, ``/contract/instrument``) for a set of perpetuals."""

    markets = ("perp",)
    rest_base = REST_URL
    snapshot_prefix = SNAPSHOT_PATH

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for native in self._native:
            if native not in CONTRACT_MULTIPLIERS:
                raise ValueError(f"kucoin futures: contract size of {native} unknown (known: {', '.join(CONTRACT_MULTIPLIERS)})")

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol)

    def subscribe_messages(self) -> list[str]:
        return [
            self.subscribe_frame(f"{topic}:{n}")
            for n in self.subscribed_natives()
            for topic in ("/contractMarket/tickerV2", "/contractMarket/level2", "/contract/instrument")
        ]

    def multiplier(self, native: str) -> float:
        mult = CONTRACT_MULTIPLIERS.get(native)
        if mult is None:
            raise FrameError(f"kucoin futures: contract size of {native} unknown")
        return mult

    # --- parsing ------------------------------------------------------------------------------

    def message(self, env: Envelope, recv_ts_ns: int) -> Parsed:
        channel, _, native = env.topic.partition(":")
        iid = self.instrument_id(native)
        if iid is None:
            return NOTHING  # a contract we did not ask for
        if channel == "/contractMarket/tickerV2":
            v = _TICKER_V2.decode(env.data)
            m = self.multiplier(native)
            ts = ts_ns(v.ts) if v.ts else recv_ts_ns
            return Parsed((self.quote(iid, v.bestBidPrice, contracts_to_base(v.bestBidSize, m), v.bestAskPrice,
                                      contracts_to_base(v.bestAskSize, m), ts, recv_ts_ns, v.sequence),))
        if channel == "/contractMarket/level2":
            return self.on_delta(iid, native, self._change(native, _CHANGE.decode(env.data)), recv_ts_ns)
        if channel == "/contract/instrument":
            if env.subject != "funding.rate":
                return NOTHING  # mark.index.price
            f = _FUNDING_RATE.decode(env.data)
            if not -1.0 < f.fundingRate < 1.0:
                raise FrameError(f"kucoin: absurd funding rate {f.fundingRate} for {native}")
            ts = ts_ns(f.timestamp) if f.timestamp else recv_ts_ns
            # granularity 60000 marks the predicted rate (still per funding period); otherwise it is the period.
            hours = f.granularity / 3_600_000 if f.granularity >= 3_600_000 else FUNDING_INTERVAL_HOURS
            return Parsed((Funding(self.venue_id, iid, f.fundingRate, hours, 0, ts, recv_ts_ns),))
        if channel in _DEPTH_CHANNELS:
            return self.depth_snapshot(iid, native, env.data, recv_ts_ns)
        raise FrameError(f"kucoin: unexpected topic {env.topic!r}")

    def _change(self, native: str, msg: _WireChange) -> _Change:
        parts = msg.change.split(",")
        try:
            price, side, qty = float(parts[0]), parts[1], float(parts[2])
        except (IndexError, ValueError):
            raise FrameError(f"kucoin: bad change {msg.change!r} for {native}") from None
        if len(parts) != 3 or side not in ("buy", "sell") or not valid_level(price, qty):
            raise FrameError(f"kucoin: bad change {msg.change!r} for {native}")
        return _Change(msg.sequence, price, side == "buy", contracts_to_base(qty, self.multiplier(native)), msg.timestamp)

    def span(self, delta: _Change) -> tuple[int, int, int]:
        return delta.sequence, delta.sequence, delta.timestamp

    def apply_delta(self, iid: int, book: L2Book, delta: _Change) -> None:
        if delta.is_bid:
            book.set_bid(delta.price, delta.size)
        else:
            book.set_ask(delta.price, delta.size)
        book.seq = delta.sequence
