"""Hyperliquid over the info WebSocket: perpetuals and spot, ``bbo``, ``l2Book``, perp funding.

Protocol (shared/venues.md §7; hyperliquid-python-sdk websocket_manager.py):
- ``wss://api.hyperliquid.xyz/ws`` (one socket for perps and spot). On connect the server may
  send the plain text ``Websocket connection established.`` (not JSON; skipped).
- Subscribe one subscription per message:
  ``{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}`` →
  ``{"channel":"subscriptionResponse","data":{…}}``; then ``{"channel":"<type>","data":…}``.
  Errors: ``{"channel":"error","data":"…"}`` (e.g. ``Cannot subscribe to more than 1000 channels.``).
- Keep-alive: the client sends ``{"method":"ping"}``, the server answers ``{"channel":"pong"}``
  (the SDK pings every 50 s; the server drops idle connections after about a minute).
- BBO ``bbo``: ``{"coin":"BTC","time":ms,"bbo":[bid,ask]}``, levels ``{"px","sz","n"}``; a side
  with no orders is ``null`` (or missing): no quote then.
- L2 ``l2Book``: a full snapshot on every push (at most every 0.5 s), ``levels[0]`` bids best
  first, ``levels[1]`` asks; no deltas and no sequence numbers, so no resync either.
- Funding ``activeAssetCtx`` (perps): ``ctx.funding`` is the rate paid every hour, on the hour.
  ``allDexsAssetCtxs`` carries every perp's context in ``meta`` universe order (parsed when the
  universe is known, see ``universe``).
- Sizes are coins (base units) on both markets.
- Symbols. Perps by coin name, USDC-margined: ``BTC`` ↔ ``BTC/USDC:USDC``; ``kPEPE`` (1000 PEPE)
  ↔ ``1000PEPE/USDC:USDC``; HIP-3 dex assets (``xyz:GOLD``) are not mapped. Spot pairs are named
  ``PURR/USDC`` (the canonical pair) or ``@<index>`` (an index into ``spotMeta``'s universe),
  and their tokens carry Hyperliquid's own names: the bridged BTC, ETH and SOL are ``UBTC``,
  ``UETH``, ``USOL`` (``SPOT_ALIASES``). So a spot pair is only known through ``spotMeta``: the
  spot market takes its instruments as metadata (``HyperliquidSpot``).

REST listing (``POST /info``, JSON body; not paginated):
- perps ``{"type":"metaAndAssetCtxs"}`` → ``[{"universe":[{"name":"BTC","szDecimals":5,
  "maxLeverage":50,"isDelisted":true?,…}],"marginTables":…},[{"dayNtlVlm":"1169046.29",
  "funding":"0.0000125","markPx":"14.3161","midPx":"14.314",…}]]``: ``assetCtxs[i]`` is
  ``universe[i]``'s (by position; ``{"type":"meta"}`` is the first element alone).
- spot ``{"type":"spotMetaAndAssetCtxs"}`` → ``[{"universe":[{"name":"@142","tokens":[197,0],
  "index":142,"isCanonical":false}],"tokens":[{"name":"UBTC","szDecimals":5,"index":197,…}]},
  [{"coin":"@142","dayNtlVlm":"56516360.54","markPx":"103922.0","midPx":"103921.5",…}]]``: the
  contexts name their pair (``coin``) and are NOT in universe order (nor as many).
- Units: size step 10^-szDecimals coins (a spot pair's is its base token's); no tick field:
  prices have at most 5 significant figures and at most 6 (perps) / 8 (spot) − szDecimals
  decimals, integers always allowed (docs "Tick and lot size") — ``tick_size`` is that step at
  the current price (``hl_tick``), 0 when no price is known; minimum order value 10 USDC (docs);
  funding every hour (docs); ``dayNtlVlm`` is quote volume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import msgspec

from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.model import Book, Funding, MarketEvent
from arbsniper.venues.base import DEMO_BASES, NOTHING, PONG, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import valid_level
from arbsniper.venues.metadata import DELISTED, TRADING, InstrumentMeta, MetadataError, RestRequest, SubscriptionLimits

WS_BASE = "wss://api.hyperliquid.xyz"
WS_PATH = "/ws"
REST_BASE = "https://api.hyperliquid.xyz"
FUNDING_INTERVAL_HOURS = 1.0  # documented: funding is paid every hour
MIN_ORDER_VALUE = 10.0  # documented: orders under 10 USDC (quote) are refused
PERP_MAX_DECIMALS, SPOT_MAX_DECIMALS = 6, 8  # "Tick and lot size"
HOUR_NS = 3600 * 1_000_000_000
WELCOME = b"Websocket connection established."
PING = '{"method":"ping"}'

# Hyperliquid's spot token names for assets every other venue calls otherwise (venues.md §10:
# "BTC/ETH/SOL spot appear as UBTC/UETH/USOL"). Only these are matched across venues; a token
# that itself calls itself BTC, ETH or SOL on Hyperliquid spot is not that asset and is left out.
SPOT_ALIASES = {"UBTC": "BTC", "UETH": "ETH", "USOL": "SOL"}
SPOT_NAMES = {unified: venue for venue, unified in SPOT_ALIASES.items()}

# Per IP (docs "Rate limits"): 100 WebSocket connections, 1000 subscriptions, 2000 messages a
# minute sent to Hyperliquid (subscriptions and pings alike). One subscription per message.
# The 1000 subscriptions are shared by the perp and spot connections of one IP; 30 messages/s per
# IP (one pacer for both markets, ``rate_per_ip``) keeps them under 2000 a minute.
PERP_LIMITS = SubscriptionLimits(streams_per_instrument=3, max_streams_per_connection=1000, max_args_per_request=1,
                                 max_requests_per_s=30.0, max_connections=100,
                                 max_streams_per_ip=1000, rate_per_ip=True)
SPOT_LIMITS = SubscriptionLimits(streams_per_instrument=2, max_streams_per_connection=1000, max_args_per_request=1,
                                 max_requests_per_s=30.0, max_connections=100,
                                 max_streams_per_ip=1000, rate_per_ip=True)


def native_symbol(instrument: str) -> str:
    """Hyperliquid's coin for a unified perpetual (``BTC/USDC:USDC`` → ``BTC``, ``1000PEPE/…`` → ``kPEPE``)."""
    inst = parse_instrument(instrument)
    if not (inst.quote == "USDC" and inst.settle == "USDC"):
        raise ValueError(f"hyperliquid: perpetuals are quoted and settled in USDC, not {instrument}")
    base = inst.base
    return "k" + base[4:] if base.startswith("1000") and len(base) > 4 else base


def unified_instrument(coin: str) -> str | None:
    """The unified perpetual of a coin name, or None for spot pairs and HIP-3 dex assets."""
    if coin.startswith("@") or ":" in coin or "/" in coin or not coin:
        return None
    base = "1000" + coin[1:] if coin[0] == "k" and coin[1:].isupper() else coin
    return f"{base}/USDC:USDC"


def spot_instrument(base_token: str, quote_token: str) -> str | None:
    """The unified spot instrument of a pair of Hyperliquid tokens (``UBTC``, ``USDC`` → ``BTC/USDC``).

    None when the base token's own name is one the aliases give to another token (an impostor).
    """
    if base_token in SPOT_NAMES:
        return None
    return f"{SPOT_ALIASES.get(base_token, base_token)}/{quote_token}"


def listed_instruments(market: str, bases: Sequence[str]) -> list[str]:
    """Unified instruments Hyperliquid lists for ``bases`` (perpetuals only, in USDC).

    Spot pairs are named by their ``spotMeta`` index, so they are known only from the listing.
    """
    return [f"{b}/USDC:USDC" for b in bases] if market == "perp" else []


def hl_tick(price: float, sz_decimals: int, max_decimals: int) -> float:
    """The price step at ``price``: 5 significant figures, at most ``max_decimals - szDecimals``
    decimals; an integer price is always allowed, so the step is never above 1. 0 without a price."""
    if not price > 0.0 or not math.isfinite(price):
        return 0.0
    significant = math.floor(math.log10(price)) - 4
    exponent = max(significant, -max(0, max_decimals - sz_decimals))
    return 1.0 if exponent >= 0 else float(f"1e{exponent}")


# --- wire types: WebSocket ------------------------------------------------------------------------


class _Envelope(msgspec.Struct):
    channel: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


class _Level(msgspec.Struct):
    px: float
    sz: float
    n: int = 0


class _Bbo(msgspec.Struct):
    coin: str
    bbo: list[_Level | None]
    time: int = 0


class _L2Book(msgspec.Struct):
    coin: str
    levels: list[list[_Level]]
    time: int = 0


class _Ctx(msgspec.Struct):
    funding: float | None = None


class _AssetCtx(msgspec.Struct):
    coin: str
    ctx: _Ctx


class _AllDexs(msgspec.Struct):
    ctxs: list[tuple[str, list[_Ctx]]]


# --- wire types: REST /info -------------------------------------------------------------------------


class _PerpAsset(msgspec.Struct):
    name: str
    szDecimals: int  # the venue's field names
    isDelisted: bool = False


class _PerpMeta(msgspec.Struct):
    universe: list[_PerpAsset]


class _MarketCtx(msgspec.Struct):
    dayNtlVlm: float | None = None
    markPx: float | None = None
    midPx: float | None = None
    coin: str = ""  # spot contexts name their pair


class _Token(msgspec.Struct):
    name: str
    szDecimals: int
    index: int


class _Pair(msgspec.Struct):
    name: str
    tokens: tuple[int, int]
    index: int


class _SpotMeta(msgspec.Struct):
    universe: list[_Pair]
    tokens: list[_Token]


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_BBO = msgspec.json.Decoder(_Bbo, strict=False)
_L2BOOK = msgspec.json.Decoder(_L2Book, strict=False)
_ASSET_CTX = msgspec.json.Decoder(_AssetCtx, strict=False)
_ALL_DEXS = msgspec.json.Decoder(_AllDexs, strict=False)
_STR = msgspec.json.Decoder(str)
_PERP_META = msgspec.json.Decoder(_PerpMeta, strict=False)
_PERP_META_CTXS = msgspec.json.Decoder(tuple[_PerpMeta, list[_MarketCtx]], strict=False)
_SPOT_META = msgspec.json.Decoder(_SpotMeta, strict=False)
_SPOT_META_CTXS = msgspec.json.Decoder(tuple[_SpotMeta, list[_MarketCtx]], strict=False)
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)
_IGNORED = frozenset({"subscriptionResponse", "activeSpotAssetCtx", "allMids", "trades", "notification"})


def _price(ctx: _MarketCtx | None) -> float:
    if ctx is None:
        return 0.0
    return ctx.midPx or ctx.markPx or 0.0


def _volume(ctx: _MarketCtx | None) -> float:
    return (ctx.dayNtlVlm or 0.0) if ctx is not None else 0.0


class _HyperliquidMarket(Venue):
    """What the perp and spot markets share: the socket, the envelope, ``bbo`` and ``l2Book``."""

    name = "hyperliquid"
    book_sync = False  # every l2Book push is a full book: nothing to sync, never "awaiting"
    lifetime_s: ClassVar[float] = 23.5 * 3600.0
    subscription_types: ClassVar[tuple[str, ...]]

    @classmethod
    def default_rest_base(cls, market: str) -> str:
        return REST_BASE

    def rest_endpoint(self) -> str:
        return self.rest_url or REST_BASE

    def heartbeat(self) -> Heartbeat:
        # The server closes a connection idle for about a minute: ping every 30 s.
        return Heartbeat("json", 30.0, 25.0, PING)

    def ws_url(self) -> str:
        return (self.base_url or WS_BASE) + WS_PATH

    def subscribe_messages(self) -> list[str]:
        """One subscription per message (the only form the venue takes)."""
        return [
            f'{{"method":"subscribe","subscription":{{"type":"{kind}","coin":"{coin}"}}}}'
            for coin in self.subscribed_natives()
            for kind in self.subscription_types
        ]

    def unsubscribe_messages(self, instrument_id: int) -> list[str]:
        """The subscribe requests of one coin again with ``"method":"unsubscribe"`` (one each)."""
        coin = self.native_of(instrument_id)
        return [
            f'{{"method":"unsubscribe","subscription":{{"type":"{kind}","coin":"{coin}"}}}}'
            for kind in self.subscription_types
        ]

    # --- parsing ------------------------------------------------------------------------------

    def parse(self, frame: str | bytes, recv_ts_ns: int) -> Parsed:
        raw = frame.encode() if isinstance(frame, str) else frame
        if raw == WELCOME:
            return NOTHING
        try:
            env = _ENVELOPE.decode(raw)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"hyperliquid: not a Hyperliquid frame: {exc}") from None
        channel = env.channel
        try:
            if channel == "bbo":
                return self._bbo(_BBO.decode(env.data), recv_ts_ns)
            if channel == "l2Book":
                return self._l2book(_L2BOOK.decode(env.data), recv_ts_ns)
            if channel == "pong":
                return PONG
            if channel == "error":
                raise FrameError(f"hyperliquid: venue error: {_STR.decode(env.data)}")
            parsed = self._other(channel, env.data, recv_ts_ns)
        except _DECODE_ERRORS as exc:
            raise FrameError(f"hyperliquid: bad {channel} data: {exc}") from None
        if parsed is not None:
            return parsed
        if channel in _IGNORED:
            return NOTHING
        raise FrameError(f"hyperliquid: unexpected channel {channel!r}")

    def _other(self, channel: str, data: msgspec.Raw, recv_ts_ns: int) -> Parsed | None:
        """The market's own channels (perp funding); None: not one of them."""
        return None

    def _bbo(self, b: _Bbo, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(b.coin)
        if iid is None:
            return NOTHING
        if len(b.bbo) != 2:
            return NOTHING  # a side with no orders: nothing two-sided to trade on
        bid, ask = b.bbo[0], b.bbo[1]
        if bid is None or ask is None:
            return NOTHING
        ts = b.time * 1_000_000 if b.time else recv_ts_ns
        return Parsed((self.quote(iid, bid.px, bid.sz, ask.px, ask.sz, ts, recv_ts_ns),))

    def _l2book(self, b: _L2Book, recv_ts_ns: int) -> Parsed:
        iid = self.instrument_id(b.coin)
        if iid is None:
            return NOTHING
        if len(b.levels) != 2:
            raise FrameError(f"hyperliquid: l2Book for {b.coin} has {len(b.levels)} sides")
        bids = [(lv.px, lv.sz) for lv in b.levels[0]]
        asks = [(lv.px, lv.sz) for lv in b.levels[1]]
        for side, sign in ((bids, -1.0), (asks, 1.0)):
            prev = None
            for price, size in side:
                if not valid_level(price, size) or size == 0.0:
                    raise FrameError(f"hyperliquid: bad level {price}/{size} in l2Book for {b.coin}")
                if prev is not None and (price - prev) * sign <= 0.0:
                    raise FrameError(f"hyperliquid: l2Book for {b.coin} is not sorted best first")
                prev = price
        if bids and asks and bids[0][0] >= asks[0][0]:
            raise FrameError(f"hyperliquid: crossed l2Book for {b.coin}: {bids[0][0]} >= {asks[0][0]}")
        n = self.book_depth
        ts = b.time * 1_000_000 if b.time else recv_ts_ns
        return Parsed((Book(self.venue_id, iid, bids[:n], asks[:n], ts, recv_ts_ns),))


class Hyperliquid(_HyperliquidMarket):
    """Hyperliquid USDC perpetuals for a set of instruments (one subscription per coin and channel)."""

    markets = ("perp",)
    subscription_types = ("bbo", "l2Book", "activeAssetCtx")
    subscription_limits: ClassVar[SubscriptionLimits] = PERP_LIMITS
    max_instruments_per_connection: ClassVar[int] = PERP_LIMITS.instruments_per_connection()
    max_messages_per_s = PERP_LIMITS.max_requests_per_s

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Coins of the main dex in ``meta`` universe order, for ``allDexsAssetCtxs`` (index based).
        self.universe: list[str] | None = None

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        url = rest_base.rstrip("/") + "/info"
        return [RestRequest("POST", url, name="metaAndAssetCtxs", body='{"type":"metaAndAssetCtxs"}')]

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        """Every perpetual of the main dex's ``universe``, with its context (by position) when given.

        Reads ``metaAndAssetCtxs`` (or a bare ``meta``: no prices, so no tick and no volume).
        """
        if market != "perp":
            raise MetadataError(f"hyperliquid: the perp listing is not the {market!r} market's")
        universe: list[_PerpAsset]
        ctxs: list[_MarketCtx] = []
        if bodies.get("metaAndAssetCtxs"):
            try:
                meta, ctxs = _PERP_META_CTXS.decode(bodies["metaAndAssetCtxs"][0])
            except _DECODE_ERRORS as exc:
                raise MetadataError(f"hyperliquid: metaAndAssetCtxs is not [meta, assetCtxs]: {exc}") from None
            if len(ctxs) != len(meta.universe):
                raise MetadataError(f"hyperliquid: metaAndAssetCtxs has {len(meta.universe)} assets but {len(ctxs)} contexts")
            universe = meta.universe
        elif bodies.get("meta"):
            try:
                universe = _PERP_META.decode(bodies["meta"][0]).universe
            except _DECODE_ERRORS as exc:
                raise MetadataError(f"hyperliquid: meta is not a perp universe: {exc}") from None
        else:
            raise MetadataError("hyperliquid: no metaAndAssetCtxs (or meta) response")
        out: list[InstrumentMeta] = []
        for i, asset in enumerate(universe):
            instrument = unified_instrument(asset.name)
            if instrument is None or not _valid(instrument):
                continue
            if not 0 <= asset.szDecimals <= PERP_MAX_DECIMALS:
                raise MetadataError(f"hyperliquid: {asset.name}: szDecimals {asset.szDecimals} out of range")
            ctx = ctxs[i] if ctxs else None
            lot = float(f"1e-{asset.szDecimals}")
            coin = asset.name
            out.append(InstrumentMeta(
                venue="hyperliquid", market="perp", native_symbol=coin, instrument=instrument,
                status=DELISTED if asset.isDelisted else TRADING, venue_status="delisted" if asset.isDelisted else "listed",
                contract_size=1.0, lot_size=lot, tick_size=hl_tick(_price(ctx), asset.szDecimals, PERP_MAX_DECIMALS),
                min_size=lot, min_notional=MIN_ORDER_VALUE, funding_interval_hours=FUNDING_INTERVAL_HOURS,
                venue_base=coin if instrument.split("/")[0] != coin else "", quote_volume_24h=_volume(ctx), last_price=_price(ctx),
            ))
        return out

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol)

    def _other(self, channel: str, data: msgspec.Raw, recv_ts_ns: int) -> Parsed | None:
        if channel == "activeAssetCtx":
            c = _ASSET_CTX.decode(data)
            iid = self.instrument_id(c.coin)
            funding = None if iid is None else self._funding(iid, c.coin, c.ctx, recv_ts_ns)
            return NOTHING if funding is None else Parsed((funding,))
        if channel == "allDexsAssetCtxs":
            return self._all_dexs(_ALL_DEXS.decode(data), recv_ts_ns)
        return None

    def _funding(self, iid: int, coin: str, ctx: _Ctx, recv_ts_ns: int) -> Funding | None:
        rate = ctx.funding
        if rate is None:
            return None
        if not -1.0 < rate < 1.0:
            raise FrameError(f"hyperliquid: absurd funding rate {rate} for {coin}")
        # Contexts carry no time: funding is paid at the top of every hour.
        next_ns = (recv_ts_ns // HOUR_NS + 1) * HOUR_NS
        return self.funding(iid, rate, FUNDING_INTERVAL_HOURS, next_ns, recv_ts_ns, recv_ts_ns)

    def _all_dexs(self, d: _AllDexs, recv_ts_ns: int) -> Parsed:
        universe = self.universe
        if universe is None:
            return NOTHING  # contexts are positional: without the universe they name nothing
        out: list[MarketEvent] = []
        for dex, ctxs in d.ctxs:
            if dex:
                continue  # HIP-3 dexes have universes of their own
            for coin, ctx in zip(universe, ctxs, strict=False):
                iid = self._native.get(coin) if not self.open else self.instrument_id(coin)
                funding = None if iid is None else self._funding(iid, coin, ctx, recv_ts_ns)
                if funding is not None:
                    out.append(funding)
        return Parsed(tuple(out)) if out else NOTHING


class HyperliquidSpot(_HyperliquidMarket):
    """Hyperliquid spot pairs, known through ``spotMeta``: give them as ``InstrumentMeta``.

    A pair's name on the wire is ``@<index>`` (``PURR/USDC`` for the one canonical pair), which
    only the listing maps to tokens: an instrument given by its unified name alone needs its
    metadata among ``metadata`` (else ``ValueError``). In open mode (``arbsniper parse``) a frame
    of a ``BASE/QUOTE``-named pair maps without it, an ``@<index>`` one only with it.
    """

    markets = ("spot",)
    subscription_types = ("bbo", "l2Book")
    subscription_limits: ClassVar[SubscriptionLimits] = SPOT_LIMITS
    max_instruments_per_connection: ClassVar[int] = SPOT_LIMITS.instruments_per_connection()
    max_messages_per_s = SPOT_LIMITS.max_requests_per_s

    @classmethod
    def metadata_requests(cls, market: str, rest_base: str) -> list[RestRequest]:
        url = rest_base.rstrip("/") + "/info"
        return [RestRequest("POST", url, name="spotMetaAndAssetCtxs", body='{"type":"spotMetaAndAssetCtxs"}')]

    @classmethod
    def parse_metadata(cls, market: str, bodies: dict[str, list[bytes]]) -> list[InstrumentMeta]:
        """Every spot pair of ``spotMeta`` whose tokens we can name, contexts matched by pair name.

        Reads ``spotMetaAndAssetCtxs`` (or a bare ``spotMeta``: no prices, so no tick and no volume).
        """
        if market != "spot":
            raise MetadataError(f"hyperliquid: the spot listing is not the {market!r} market's")
        ctxs: list[_MarketCtx] = []
        if bodies.get("spotMetaAndAssetCtxs"):
            try:
                meta, ctxs = _SPOT_META_CTXS.decode(bodies["spotMetaAndAssetCtxs"][0])
            except _DECODE_ERRORS as exc:
                raise MetadataError(f"hyperliquid: spotMetaAndAssetCtxs is not [spotMeta, assetCtxs]: {exc}") from None
        elif bodies.get("spotMeta"):
            try:
                meta = _SPOT_META.decode(bodies["spotMeta"][0])
            except _DECODE_ERRORS as exc:
                raise MetadataError(f"hyperliquid: spotMeta is not a spot universe: {exc}") from None
        else:
            raise MetadataError("hyperliquid: no spotMetaAndAssetCtxs (or spotMeta) response")
        tokens = {t.index: t for t in meta.tokens}
        by_coin = {c.coin: c for c in ctxs}  # by name: the contexts are not in universe order
        out: list[InstrumentMeta] = []
        seen: set[str] = set()
        for pair in meta.universe:
            base, quote = tokens.get(pair.tokens[0]), tokens.get(pair.tokens[1])
            if base is None or quote is None:
                continue  # a token the listing does not describe: nothing to name the pair by
            instrument = spot_instrument(base.name, quote.name)
            if instrument is None or not _valid(instrument) or instrument in seen:
                continue
            if not 0 <= base.szDecimals <= SPOT_MAX_DECIMALS:
                raise MetadataError(f"hyperliquid: {base.name}: szDecimals {base.szDecimals} out of range")
            seen.add(instrument)
            ctx = by_coin.get(pair.name)
            lot = float(f"1e-{base.szDecimals}")
            out.append(InstrumentMeta(
                venue="hyperliquid", market="spot", native_symbol=pair.name, instrument=instrument, status=TRADING,
                venue_status="listed", contract_size=1.0, lot_size=lot,
                tick_size=hl_tick(_price(ctx), base.szDecimals, SPOT_MAX_DECIMALS), min_size=lot,
                min_notional=MIN_ORDER_VALUE, venue_base=base.name if base.name in SPOT_ALIASES else "",
                quote_volume_24h=_volume(ctx), last_price=_price(ctx),
            ))
        return out

    def native_symbol(self, instrument: str) -> str:
        for meta in self.metadata.values():
            if meta.instrument == instrument:
                return meta.native_symbol
        inst = parse_instrument(instrument)
        if inst.is_perp:
            raise ValueError(f"hyperliquid spot: {instrument} is a perpetual")
        if inst.base in SPOT_NAMES or inst.base in SPOT_ALIASES:
            raise ValueError(f"hyperliquid spot: {instrument} trades as {SPOT_NAMES.get(inst.base, inst.base)} under an "
                             f"@<index> pair name: give its InstrumentMeta (spotMeta)")
        raise ValueError(f"hyperliquid spot: {instrument} has no known pair name without spotMeta: give its InstrumentMeta")

    def unified_instrument(self, native_symbol: str) -> str | None:
        meta = self.metadata.get(native_symbol)
        if meta is not None:
            return meta.instrument
        base, slash, quote = native_symbol.partition("/")
        if not slash or not base or not quote:
            return None  # "@<index>": only spotMeta knows it
        return spot_instrument(base, quote)


def _valid(instrument: str) -> bool:
    try:
        parse_instrument(instrument)
    except InstrumentError:
        return False  # lower-case or odd token names: not matchable across venues
    return True


INFO = VenueInfo(
    name=Hyperliquid.name,
    markets={"perp": Hyperliquid, "spot": HyperliquidSpot},
    taker_fee_bps={"spot": 7.0, "perp": 4.5},
    ccxt_id="hyperliquid",
    demo_instruments=tuple(f"{b}/USDC:USDC" for b in DEMO_BASES),
    listed=listed_instruments,
    funding_interval_h=FUNDING_INTERVAL_HOURS,
)
