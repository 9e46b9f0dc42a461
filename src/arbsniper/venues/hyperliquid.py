"""Hyperliquid perpetuals over the info WebSocket: ``bbo``, ``l2Book``, funding from asset contexts.

Protocol (shared/venues.md §7; hyperliquid-python-sdk websocket_manager.py):
- ``wss://api.hyperliquid.xyz/ws``. On connect the server may send the plain text
  ``Websocket connection established.`` (not JSON; skipped).
- Subscribe one subscription per message:
  ``{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}`` →
  ``{"channel":"subscriptionResponse","data":{…}}``; then ``{"channel":"<type>","data":…}``.
  Errors: ``{"channel":"error","data":"…"}``.
- Keep-alive: the client sends ``{"method":"ping"}``, the server answers ``{"channel":"pong"}``
  (the SDK pings every 50 s; the server drops idle connections after about a minute).
- BBO ``bbo``: ``{"coin":"BTC","time":ms,"bbo":[bid,ask]}``, levels ``{"px","sz","n"}``; a side
  with no orders is ``null`` (or missing): no quote then.
- L2 ``l2Book``: a full snapshot on every push (at most every 0.5 s), ``levels[0]`` bids best
  first, ``levels[1]`` asks; no deltas and no sequence numbers, so no resync either.
- Funding ``activeAssetCtx``: ``ctx.funding`` is the rate paid every hour, on the hour.
  ``allDexsAssetCtxs`` carries every perp's context in ``meta`` universe order (parsed when the
  universe is known, see ``universe``).
- Symbols: perps by coin name, USDC-margined: ``BTC`` ↔ ``BTC/USDC:USDC``; ``kPEPE`` (1000 PEPE)
  ↔ ``1000PEPE/USDC:USDC``. Spot pairs (``@162``) and HIP-3 dex assets (``xyz:GOLD``) are not mapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import msgspec

from arbsniper.instruments import parse_instrument
from arbsniper.model import Book, Funding, MarketEvent
from arbsniper.venues.base import DEMO_BASES, NOTHING, PONG, FrameError, Heartbeat, Parsed, Venue, VenueInfo
from arbsniper.venues.book import valid_level

WS_BASE = "wss://api.hyperliquid.xyz"
WS_PATH = "/ws"
FUNDING_INTERVAL_HOURS = 1.0
HOUR_NS = 3600 * 1_000_000_000
WELCOME = b"Websocket connection established."
PING = '{"method":"ping"}'


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


def listed_instruments(market: str, bases: Sequence[str]) -> list[str]:
    """Unified instruments Hyperliquid lists for ``bases`` (perpetuals only, in USDC)."""
    return [f"{b}/USDC:USDC" for b in bases] if market == "perp" else []


# --- wire types -------------------------------------------------------------------------------


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


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_BBO = msgspec.json.Decoder(_Bbo, strict=False)
_L2BOOK = msgspec.json.Decoder(_L2Book, strict=False)
_ASSET_CTX = msgspec.json.Decoder(_AssetCtx, strict=False)
_ALL_DEXS = msgspec.json.Decoder(_AllDexs, strict=False)
_STR = msgspec.json.Decoder(str)
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)
_IGNORED = frozenset({"subscriptionResponse", "activeSpotAssetCtx", "allMids", "trades", "notification"})


class Hyperliquid(Venue):
    """Hyperliquid USDC perpetuals for a set of instruments (one subscription per coin and channel)."""

    book_sync = False  # every l2Book push is a full book: nothing to sync, never "awaiting"

    name = "hyperliquid"
    markets = ("perp",)
    max_instruments_per_connection: ClassVar[int] = 100  # 3 subscriptions each; 1000 per IP
    max_messages_per_s = 10.0  # 2000 messages per minute per IP
    lifetime_s: ClassVar[float] = 23.5 * 3600.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Coins of the main dex in ``meta`` universe order, for ``allDexsAssetCtxs`` (index based).
        self.universe: list[str] | None = None

    def native_symbol(self, instrument: str) -> str:
        return native_symbol(instrument)

    def unified_instrument(self, native_symbol: str) -> str | None:
        return unified_instrument(native_symbol)

    def heartbeat(self) -> Heartbeat:
        # The server closes a connection idle for about a minute: ping every 30 s.
        return Heartbeat("json", 30.0, 25.0, PING)

    def ws_url(self) -> str:
        return (self.base_url or WS_BASE) + WS_PATH

    def subscribe_messages(self) -> list[str]:
        return [
            f'{{"method":"subscribe","subscription":{{"type":"{kind}","coin":"{coin}"}}}}'
            for coin in self.subscribed_natives()
            for kind in ("bbo", "l2Book", "activeAssetCtx")
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
            if channel == "activeAssetCtx":
                c = _ASSET_CTX.decode(env.data)
                iid = self.instrument_id(c.coin)
                funding = None if iid is None else self._funding(iid, c.coin, c.ctx, recv_ts_ns)
                return NOTHING if funding is None else Parsed((funding,))
            if channel == "pong":
                return PONG
            if channel == "allDexsAssetCtxs":
                return self._all_dexs(_ALL_DEXS.decode(env.data), recv_ts_ns)
            if channel == "error":
                raise FrameError(f"hyperliquid: venue error: {_STR.decode(env.data)}")
        except _DECODE_ERRORS as exc:
            raise FrameError(f"hyperliquid: bad {channel} data: {exc}") from None
        if channel in _IGNORED:
            return NOTHING
        raise FrameError(f"hyperliquid: unexpected channel {channel!r}")

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

    def _funding(self, iid: int, coin: str, ctx: _Ctx, recv_ts_ns: int) -> Funding | None:
        rate = ctx.funding
        if rate is None:
            return None
        if not -1.0 < rate < 1.0:
            raise FrameError(f"hyperliquid: absurd funding rate {rate} for {coin}")
        # Contexts carry no time: funding is paid at the top of every hour.
        next_ns = (recv_ts_ns // HOUR_NS + 1) * HOUR_NS
        return Funding(self.venue_id, iid, rate, FUNDING_INTERVAL_HOURS, next_ns, recv_ts_ns, recv_ts_ns)

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


INFO = VenueInfo(
    name=Hyperliquid.name,
    markets={"perp": Hyperliquid},
    taker_fee_bps={"spot": 7.0, "perp": 4.5},  # spot is not connected; its fee is kept for completeness
    ccxt_id="hyperliquid",
    demo_instruments=tuple(f"{b}/USDC:USDC" for b in DEMO_BASES),
    listed=listed_instruments,
    funding_interval_h=FUNDING_INTERVAL_HOURS,
)
