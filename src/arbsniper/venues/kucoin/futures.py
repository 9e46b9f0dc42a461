"""KuCoin futures public market data: ``tickerV2`` BBO, ``level2`` changes on a REST snapshot, funding.

REST ``https://api-futures.kucoin.com`` (token handshake and snapshots: ``common.py``). Each topic
takes up to 100 contracts (``/contractMarket/tickerV2:XBTUSDTM,ETHUSDTM``, gocryptotrader and ccxt
subscribe so): ``/contractMarket/tickerV2``, ``/contractMarket/level2``, ``/contract/instrument``.

Messages read::

    {"type":"message","topic":"/contractMarket/tickerV2:XBTUSDTM","subject":"tickerV2","data":{"symbol":"XBTUSDTM",
     "sequence":1638,"bestBidSize":68,"bestBidPrice":"77358.1","bestAskPrice":"77358.2","bestAskSize":2286,
     "ts":1776941410555000000}}                                                          (ts in ns)
    {"type":"message","topic":"/contractMarket/level2:XBTUSDTM","subject":"level2","data":{"sequence":18,
     "change":"3000.5,sell,83","timestamp":1700000000123}}                       (one change per message)
    {"type":"message","topic":"/contract/instrument:XBTUSDTM","subject":"funding.rate","data":{"granularity":60000,
     "fundingRate":-0.002966,"timestamp":1551770400000}}              (rate per funding period, see below)
    {"type":"message","topic":"/contract/instrument:XBTUSDTM","subject":"mark.index.price", …}      (ignored)
    {"type":"message","topic":"/contractMarket/level2Depth5:XBTUSDTM", …}                 (see common.py)

Book rules: changes apply on ``GET /api/v1/level2/snapshot?symbol=…``; a change's ``sequence``
must be exactly the book's plus one (``book.continuity`` over a one-number range), else the book
is dropped for a new snapshot. Sizes are contracts of the listing's ``multiplier`` base units
(XBTUSDTM 0.001 BTC, so ``"bestBidSize":68`` is 0.068 BTC); events carry base units, and a contract
without metadata is refused (``sizes_in_contracts``). Funding: ``granularity`` is the funding
period in ms when it is one (28 800 000 = 8 h; 14 400 000, 3 600 000 exist); 60 000 marks the
predicted rate of the coming period, whose length the listing gives (``fundingRateGranularity``).

Symbols: ``XBTUSDTM`` ↔ ``BTC/USDT:USDT`` (``XBT`` is BTC, ``M`` marks a perpetual); ``XBTUSDM``
is the inverse perpetual ``BTC/USD:BTC`` (not listed: inverse).

Listing (``metadata_requests``: one public request, not paginated, 24 h figures included; units
from the OpenAPI example in ``tests/fixtures/kucoin/rest_contracts_active.json`` and its
``.source.txt``)::

    GET /api/v1/contracts/active
    {"code":"200000","data":[{"symbol":"XBTUSDTM","type":"FFWCSX","baseCurrency":"XBT","quoteCurrency":"USDT",
     "settleCurrency":"USDT","expireDate":null,"lotSize":1,"tickSize":0.1,"multiplier":0.001,"isInverse":false,
     "status":"Open","fundingRateGranularity":28800000,"nextFundingRateTime":17752926,"turnoverOf24h":1034643198.33,
     "volumeOf24h":12069.225,"lastTradePrice":86364, …}]}

``multiplier`` is base units per contract (a JSON number); ``lotSize`` the order step in contracts
(also the smallest order: there is no min notional); ``tickSize`` the price step;
``fundingRateGranularity`` the funding period in ms (``nextFundingRateTime`` is a countdown in ms,
not a time); ``turnoverOf24h`` the 24 h volume in the quote currency. Kept: linear perpetuals
(``type`` FFWCSX, no ``expireDate``, not inverse, settled in the quote). Status words (KuCoin
OpenAPI enum): Open; Init (pre-launch); Paused, CancelOnly (halted); BeingSettled, Settled, Closed.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.venues.base import NOTHING, FrameError, Parsed
from arbsniper.venues.book import L2Book, valid_level
from arbsniper.venues.kucoin.common import (
    BASE_ALIASES,
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
    DELISTED,
    HALTED,
    PRELAUNCH,
    TRADING,
    InstrumentMeta,
    MetadataError,
    RestRequest,
    SubscriptionLimits,
)
from arbsniper.venues.units import Scale, contract_scale, contracts_to_base

REST_URL = "https://api-futures.kucoin.com"
SNAPSHOT_PATH = "/api/v1/level2/snapshot?symbol="
CONTRACTS_PATH = "/api/v1/contracts/active"
CHANNELS = ("/contractMarket/tickerV2", "/contractMarket/level2", "/contract/instrument")
# The docs set no topic limit per futures connection; we keep the spot figure as our own cap.
TOPICS_PER_CONNECTION = 400
PERPETUAL_TYPE = "FFWCSX"  # FFICSX: dated futures
STATUSES = {"Open": TRADING, "Init": PRELAUNCH, "Paused": HALTED, "CancelOnly": HALTED,
            "BeingSettled": DELISTED, "Settled": DELISTED, "Closed": DELISTED}
HOUR_MS = 3_600_000

_SPLIT_QUOTES = ("USDT", "USDC", "USD")
_VENUE_CODES = {unified: code for code, unified in BASE_ALIASES.items()}


def native_symbol(instrument: str) -> str:
    """KuCoin's contract for a unified perpetual (``BTC/USDT:USDT`` → ``XBTUSDTM``)."""
    inst = parse_instrument(instrument)
    base = _VENUE_CODES.get(inst.base, inst.base)
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
            base = base_currency(body[: -len(quote)])
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


class _Contract(msgspec.Struct):
    symbol: str
    baseCurrency: str
    quoteCurrency: str
    settleCurrency: str
    multiplier: float
    lotSize: float
    tickSize: float
    status: str
    type: str = PERPETUAL_TYPE
    isInverse: bool = False
    expireDate: int | None = None
    fundingRateGranularity: int | None = None
    turnoverOf24h: float | None = None
    lastTradePrice: float | None = None


class _Contracts(msgspec.Struct):
    code: str
    data: list[_Contract] | None = None
    msg: str = ""


_TICKER_V2 = msgspec.json.Decoder(_TickerV2, strict=False)
_CONTRACTS = msgspec.json.Decoder(_Contracts, strict=False)
_CHANGE = msgspec.json.Decoder(_WireChange, strict=False)
_FUNDING_RATE = msgspec.json.Decoder(_FundingRate, strict=False)
_DEPTH_CHANNELS = ("/contractMarket/level2Depth5", "/contractMarket/level2Depth50")


def parse_contracts(body: bytes) -> list[InstrumentMeta]:
    """Every linear perpetual of ``GET /api/v1/contracts/active``, sizes in base units."""
    listing = decode_rest(_CONTRACTS, body, "GET /api/v1/contracts/active")
    if listing.code != "200000" or listing.data is None:
        raise MetadataError(f"kucoin: GET /api/v1/contracts/active refused: code={listing.code} msg={listing.msg!r}")
    out = []
    for c in listing.data:
        if c.isInverse or c.expireDate is not None or c.type != PERPETUAL_TYPE or c.settleCurrency != c.quoteCurrency:
            continue  # inverse, dated or quanto-settled: not a linear perpetual
        instrument = f"{base_currency(c.baseCurrency)}/{c.quoteCurrency}:{c.settleCurrency}"
        try:
            parse_instrument(instrument)
            contract_scale(c.multiplier)
        except (InstrumentError, ValueError) as exc:
            raise MetadataError(f"kucoin: contract {c.symbol}: {exc}") from None
        granularity = c.fundingRateGranularity or 0
        out.append(InstrumentMeta(
            venue="kucoin", market="perp", native_symbol=c.symbol, instrument=instrument,
            status=STATUSES.get(c.status, HALTED), venue_status=c.status, contract_size=c.multiplier,
            lot_size=contracts_to_base(c.lotSize, c.multiplier), tick_size=c.tickSize,
            min_size=contracts_to_base(c.lotSize, c.multiplier), min_notional=0.0,
            funding_interval_hours=granularity / HOUR_MS if granularity > 0 else 0.0,
            venue_base=c.baseCurrency if base_currency(c.baseCurrency) != c.baseCurrency else "",
            quote_volume_24h=c.turnoverOf24h or 0.0, last_price=c.lastTradePrice or 0.0,
        ))
    return out


class KuCoinFutures(KuCoinVenue[_Change]):
    """KuCoin futures (``/contractMarket/*``, ``/contract/instrument``) for a set of perpetuals."""

    markets = ("perp",)
    rest_base = REST_URL
    snapshot_prefix = SNAPSHOT_PATH
    sizes_in_contracts = True
    subscription_limits: ClassVar[SubscriptionLimits] = limits(len(CHANNELS), TOPICS_PER_CONNECTION)
    max_instruments_per_connection: ClassVar[int] = subscription_limits.instruments_per_connection()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._scales: dict[str, Scale] = {}  # native -> contract scale, filled on first use

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return REST_URL

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        return [RestRequest("GET", rest_base.rstrip("/") + CONTRACTS_PATH, "contracts")]

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        return parse_contracts(only_body(bodies, "contracts"))

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

    def scale(self, native: str) -> Scale:
        scale = self._scales.get(native)
        if scale is None:
            scale = self._scales[native] = contract_scale(self.contract_size(native))  # FrameError: no metadata
        return scale

    def funding_interval_hours(self, native: str, granularity_ms: int) -> float:
        """The period a funding frame's rate is for: its own granularity when that is a period,
        else the listing's."""
        if granularity_ms >= HOUR_MS:
            return granularity_ms / HOUR_MS
        meta = self.metadata.get(native)
        if meta is None or meta.funding_interval_hours <= 0.0:
            raise FrameError(f"kucoin futures: funding period of {native} unknown (no metadata, granularity {granularity_ms} ms)")
        return meta.funding_interval_hours

    # --- parsing ------------------------------------------------------------------------------

    def message(self, env: Envelope, recv_ts_ns: int) -> Parsed:
        channel, _, native = env.topic.partition(":")
        iid = self.instrument_id(native)
        if iid is None:
            return NOTHING  # a contract we did not ask for
        if channel == "/contractMarket/tickerV2":
            v = _TICKER_V2.decode(env.data)
            mul, div = self.scale(native)
            ts = ts_ns(v.ts) if v.ts else recv_ts_ns
            return Parsed((self.quote(iid, v.bestBidPrice, v.bestBidSize * mul / div, v.bestAskPrice,
                                      v.bestAskSize * mul / div, ts, recv_ts_ns, v.sequence),))
        if channel == "/contractMarket/level2":
            return self.on_delta(iid, native, self._change(native, _CHANGE.decode(env.data)), recv_ts_ns)
        if channel == "/contract/instrument":
            if env.subject != "funding.rate":
                return NOTHING  # mark.index.price
            f = _FUNDING_RATE.decode(env.data)
            if not -1.0 < f.fundingRate < 1.0:
                raise FrameError(f"kucoin: absurd funding rate {f.fundingRate} for {native}")
            ts = ts_ns(f.timestamp) if f.timestamp else recv_ts_ns
            hours = self.funding_interval_hours(native, f.granularity)
            return Parsed((self.funding(iid, f.fundingRate, hours, 0, ts, recv_ts_ns),))
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
        mul, div = self.scale(native)
        return _Change(msg.sequence, price, side == "buy", qty * mul / div, msg.timestamp)

    def span(self, delta: _Change) -> tuple[int, int, int]:
        return delta.sequence, delta.sequence, delta.timestamp

    def apply_delta(self, iid: int, book: L2Book, delta: _Change) -> None:
        if delta.is_bid:
            book.set_bid(delta.price, delta.size)
        else:
            book.set_ask(delta.price, delta.size)
        book.seq = delta.sequence
