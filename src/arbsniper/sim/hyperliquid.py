"""Simulated Hyperliquid: the info WebSocket (perps and spot), ``POST /info`` listings, the venue's limits.

What it speaks (``venues/hyperliquid.py`` reads it; ``/perp`` or ``/spot`` first on every path,
although the venue has one socket and one ``/info`` for both):

- WebSocket ``/ws``: the plain-text greeting on connect;
  ``{"method":"subscribe","subscription":{"type","coin"}}`` → ``{"channel":"subscriptionResponse",
  "data":…}`` followed at once by the current ``bbo`` / ``l2Book``; both again on every change
  (``l2Book`` is always the whole book); perp funding as ``activeAssetCtx`` with the hourly
  ``funding`` rate. Spot coins are the pair names ``spotMeta`` gives (``@<index>``, ``PURR/USDC``).
  Sizes are coins, as on the venue.
- The venue's per-IP limits, refused with its own error messages (nktkas/hyperliquid#78 quotes
  them): more than 1000 subscriptions over all connections → ``{"channel":"error","data":"Cannot
  subscribe to more than 1000 channels."}``; more than 2000 messages in a minute (pings
  included) → ``"Cannot send more than 2000 messages per minute."`` and the message is dropped.
  Bad requests get ``{"channel":"error","data":"Error parsing JSON into valid websocket request: …"}``.
- REST ``POST /info`` with ``{"type":"meta"|"metaAndAssetCtxs"|"spotMeta"|"spotMetaAndAssetCtxs"}``
  in the venue's shapes: strings for prices and volumes, ``szDecimals`` integers, perp contexts
  by position, spot contexts naming their pair, for more pairs than the universe lists (as the
  venue's do). Spot tokens carry Hyperliquid's names (``UBTC`` for BTC, ``SPOT_NAMES``).
- Listings that are not trading: Hyperliquid has no halt flag; a halted or delisted perp is
  served with ``"isDelisted": true`` (the one word it has), a prelaunch one not at all (the venue
  lists an asset when it trades); a spot pair that is not trading is left out of ``spotMeta``.
  None of them gets data.
"""

from __future__ import annotations

import collections
import json
import math
import time
import zlib

from arbsniper.instruments import parse_instrument
from arbsniper.sim.server import SimConnection, SimVenueServer, fmt
from arbsniper.sim.synthetic import BASE_PRICES, Listing, SimBook, SimFunding
from arbsniper.venues.hyperliquid import (
    MIN_ORDER_VALUE,
    PERP_MAX_DECIMALS,
    SPOT_MAX_DECIMALS,
    SPOT_NAMES,
    WELCOME,
    hl_tick,
    native_symbol,
)
from arbsniper.venues.metadata import PRELAUNCH, TRADING

TYPES = {"perp": ("bbo", "l2Book", "activeAssetCtx"), "spot": ("bbo", "l2Book")}
MAX_SUBSCRIPTIONS = 1000  # per IP
MAX_MESSAGES_PER_MINUTE = 2000  # per IP
FIRST_SPOT_INDEX = 140  # spot pair indices of the listings (gaps, like the venue's): 140, 143, 146 …
FIRST_TOKEN_INDEX = 190


def listing(instrument: str, price: float, funding_interval_hours: float = 8.0, status: str = "trading") -> Listing:
    """A Hyperliquid perpetual (``X/USDC:USDC``) or spot pair (``X/USDC``) at ``price``.

    ``szDecimals`` falls with the price as the venue's do (BTC 5, ETH 4, SOL 2, coins under $1
    0): one size step is worth about $0.3-3. The tick is the venue's price rule at that price (5
    significant figures, at most 6 − szDecimals decimals on perps, 8 − szDecimals on spot);
    minimum order value 10 USDC. Funding is hourly on every Hyperliquid perpetual, whatever
    ``funding_interval_hours`` asks; spot has none.
    """
    inst = parse_instrument(instrument)
    if inst.quote != "USDC" or (inst.is_perp and inst.settle != "USDC"):
        raise ValueError(f"hyperliquid lists USDC perpetuals and USDC spot pairs, not {instrument}")
    szd = sz_decimals(price)
    lot = float(f"1e-{szd}")
    tick = hl_tick(price, szd, PERP_MAX_DECIMALS if inst.is_perp else SPOT_MAX_DECIMALS)
    return Listing("hyperliquid", instrument, contract_size=1.0, lot_size=lot, tick=tick, min_size=lot,
                   min_notional=MIN_ORDER_VALUE, funding_interval_hours=1.0 if inst.is_perp else 0.0, status=status)


def sz_decimals(price: float) -> int:
    """Size decimals of a coin at ``price``: about log10(price), between 0 and 5."""
    return max(0, min(5, math.floor(math.log10(price) + 0.5))) if price > 0 else 0


def _level(price: float, size: float) -> dict[str, object]:
    return {"px": fmt(price), "sz": fmt(size), "n": 1}


class HyperliquidSim(SimVenueServer):
    venue = "hyperliquid"
    markets = ("perp", "spot")
    has_sequence = False  # l2Book is a full snapshot every time: nothing to lose

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.max_subscriptions = MAX_SUBSCRIPTIONS
        self.max_messages_per_minute = MAX_MESSAGES_PER_MINUTE
        self.perps = [lst for lst in self.listings if parse_instrument(lst.instrument).is_perp]
        self.spots = [lst for lst in self.listings if not parse_instrument(lst.instrument).is_perp]
        # Spot: tokens (USDC is token 0, as on the venue) and pair names by listing.
        self.tokens: dict[str, int] = {"USDC": 0}
        self.pair_name: dict[str, str] = {}
        self.pair_index: dict[str, int] = {}
        for k, lst in enumerate(self.spots):
            inst = parse_instrument(lst.instrument)
            for code in (inst.base, inst.quote):
                self.tokens.setdefault(SPOT_NAMES.get(code, code), FIRST_TOKEN_INDEX + 3 * len(self.tokens))
            index = FIRST_SPOT_INDEX + 3 * k
            self.pair_index[lst.instrument] = index
            self.pair_name[lst.instrument] = "PURR/USDC" if lst.instrument == "PURR/USDC" else f"@{index}"
        # Coin (as subscribed) -> (market, instrument); what gets data.
        self.coins: dict[tuple[str, str], str] = {("perp", native_symbol(lst.instrument)): lst.instrument for lst in self.perps}
        self.coins.update((("spot", self.pair_name[lst.instrument]), lst.instrument) for lst in self.spots)
        self.coin_of = {inst: coin for (_, coin), inst in self.coins.items()}
        self.live = {lst.instrument for lst in self.listings if lst.status == TRADING}
        self.by_instrument = {lst.instrument: lst for lst in self.listings}
        self._sent: collections.deque[float] = collections.deque()  # client message times, per IP (all connections)

    def on_connect(self, conn: SimConnection) -> None:
        if conn.path != "/ws":
            conn.close(1008, "bad path")
            return
        conn.send(WELCOME)

    def _error(self, conn: SimConnection, text: str) -> None:
        conn.send(json.dumps({"channel": "error", "data": text}))

    def _rate_limited(self) -> bool:
        now = time.monotonic()
        sent = self._sent
        while sent and now - sent[0] > 60.0:
            sent.popleft()
        if len(sent) >= self.max_messages_per_minute:
            return True
        sent.append(now)
        return False

    def subscriptions(self) -> int:
        """Subscriptions held over every connection (the venue counts them per IP)."""
        return sum(len(c.subs) for c in self.connections)

    def on_message(self, conn: SimConnection, text: str) -> None:
        if self._rate_limited():
            self._error(conn, f"Cannot send more than {self.max_messages_per_minute} messages per minute.")
            return
        try:
            req = json.loads(text)
            method = req["method"]
        except (ValueError, KeyError, TypeError):
            self._error(conn, f"Error parsing JSON into valid websocket request: {text}")
            return
        if method == "ping":
            if not self.faults.mute_pongs:
                conn.send('{"channel":"pong"}')
            return
        sub = req.get("subscription") or {}
        kind, coin = sub.get("type"), sub.get("coin")
        if not isinstance(coin, str):
            coin = ""
        inst = self.coins.get((conn.market, coin))
        if method not in ("subscribe", "unsubscribe") or kind not in TYPES[conn.market] or inst is None \
                or (conn.market == "perp" and self.by_instrument[inst].status == PRELAUNCH):
            self._error(conn, f"Error parsing JSON into valid websocket request: {text}")
            return
        key = f"{kind}:{coin}"
        if method == "unsubscribe":
            conn.subs.discard(key)
            conn.send(json.dumps({"channel": "subscriptionResponse", "data": {"method": "unsubscribe", "subscription": sub}}))
            return
        if key not in conn.subs and self.subscriptions() >= self.max_subscriptions:
            self._error(conn, f"Cannot subscribe to more than {self.max_subscriptions} channels.")
            return
        conn.subs.add(key)
        conn.send(json.dumps({"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": sub}}))
        book = self.books.get(inst)
        if book is not None and kind in ("bbo", "l2Book") and inst in self.live:
            conn.send(self._bbo(coin, book) if kind == "bbo" else self._l2(coin, book))

    @staticmethod
    def _bbo(coin: str, book: SimBook) -> str:
        data = {"coin": coin, "time": book.ts_ns // 1_000_000, "bbo": [_level(*book.bids[0]), _level(*book.asks[0])]}
        return json.dumps({"channel": "bbo", "data": data}, separators=(",", ":"))

    @staticmethod
    def _l2(coin: str, book: SimBook) -> str:
        data = {"coin": coin, "time": book.ts_ns // 1_000_000,
                "levels": [[_level(p, s) for p, s in book.bids], [_level(p, s) for p, s in book.asks]]}
        return json.dumps({"channel": "l2Book", "data": data}, separators=(",", ":"))

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        if book.instrument not in self.live:
            return  # delisted, halted or not listed: the venue publishes nothing
        coin = self.coin_of[book.instrument]
        for kind, render in (("bbo", self._bbo), ("l2Book", self._l2)):
            conns = self.subscribers(f"{kind}:{coin}")
            if conns:
                text = render(coin, book)
                for conn in conns:
                    conn.send(text)

    def _mid(self, instrument: str) -> float | None:
        book = self.books.get(instrument)
        return (book.bids[0][0] + book.asks[0][0]) / 2 if book is not None else None

    def _perp_ctx(self, lst: Listing) -> dict[str, object]:
        mid = self._mid(lst.instrument)
        px = fmt(mid if mid is not None else BASE_PRICES.get(parse_instrument(lst.instrument).base, 100.0))
        funding = self.fundings.get(lst.instrument)
        return {"dayNtlVlm": fmt(self._volume(lst)), "funding": f"{funding.rate:.10f}" if funding else "0.0",
                "impactPxs": [px, px], "markPx": px, "midPx": px if mid is not None else None,
                "openInterest": "1000.0", "oraclePx": px, "premium": "0.0", "prevDayPx": px}

    def on_funding(self, funding: SimFunding) -> None:
        lst = self.by_instrument.get(funding.instrument)
        if lst is None or lst.instrument not in self.live or not parse_instrument(lst.instrument).is_perp:
            return
        coin = self.coin_of[lst.instrument]
        text = json.dumps({"channel": "activeAssetCtx", "data": {"coin": coin, "ctx": self._perp_ctx(lst)}}, separators=(",", ":"))
        for conn in self.subscribers(f"activeAssetCtx:{coin}"):
            conn.send(text)

    # ---- REST: POST /info ------------------------------------------------------------------------

    @staticmethod
    def _volume(lst: Listing) -> float:
        """A 24 h quote volume, stable per base (so venues rank a base alike); none when not trading."""
        if lst.status != TRADING:
            return 0.0
        base = parse_instrument(lst.instrument).base
        return 1e6 * (1 + zlib.crc32(base.encode()) % 500) * (20.0 if base in ("BTC", "ETH") else 1.0)

    def _sz_decimals(self, lst: Listing) -> int:
        if lst.lot_size > 0:
            return max(0, round(-math.log10(lst.lot_size)))
        mid = self._mid(lst.instrument)
        return sz_decimals(mid if mid is not None else BASE_PRICES.get(parse_instrument(lst.instrument).base, 100.0))

    def _perp_meta(self) -> tuple[dict[str, object], list[dict[str, object]]]:
        universe: list[dict[str, object]] = []
        ctxs: list[dict[str, object]] = []
        for lst in self.perps:
            if lst.status == PRELAUNCH:
                continue
            asset: dict[str, object] = {"name": self.coin_of[lst.instrument], "szDecimals": self._sz_decimals(lst), "maxLeverage": 20,
                                        "marginTableId": 20}
            if lst.status != TRADING:
                asset.update(isDelisted=True, marginMode="strictIsolated", onlyIsolated=True)
            universe.append(asset)
            ctxs.append(self._perp_ctx(lst))
        return {"universe": universe, "marginTables": [[20, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": 20}]}]],
                "collateralToken": 0}, ctxs

    def _spot_meta(self) -> tuple[dict[str, object], list[dict[str, object]]]:
        live = [lst for lst in self.spots if lst.status == TRADING]
        decimals: dict[str, int] = {"USDC": 8}
        for lst in live:
            decimals[SPOT_NAMES.get(parse_instrument(lst.instrument).base, parse_instrument(lst.instrument).base)] = self._sz_decimals(lst)
        tokens = [{"name": name, "szDecimals": decimals.get(name, 2), "weiDecimals": 8, "index": index,
                   "tokenId": f"0x{zlib.crc32(name.encode()):032x}", "isCanonical": name in ("USDC", "PURR"),
                   "evmContract": None, "fullName": None, "deployerTradingFeeShare": "0.0"}
                  for name, index in self.tokens.items()]
        universe = []
        for lst in live:
            inst = parse_instrument(lst.instrument)
            base, quote = SPOT_NAMES.get(inst.base, inst.base), SPOT_NAMES.get(inst.quote, inst.quote)
            universe.append({"tokens": [self.tokens[base], self.tokens[quote]], "name": self.pair_name[lst.instrument],
                             "index": self.pair_index[lst.instrument], "isCanonical": lst.instrument == "PURR/USDC"})
        ctxs: list[dict[str, object]] = []
        # In pair-index order and for every pair, also those the universe leaves out (as the
        # venue's): a context's position says nothing, only its "coin" does.
        for lst in sorted(self.spots, key=lambda x: self.pair_index[x.instrument]):
            mid = self._mid(lst.instrument)
            px = fmt(mid if mid is not None else BASE_PRICES.get(parse_instrument(lst.instrument).base, 100.0))
            ctxs.append({"prevDayPx": px, "dayNtlVlm": fmt(self._volume(lst)), "markPx": px, "midPx": px if mid is not None else None,
                         "circulatingSupply": "1000000.0", "coin": self.pair_name[lst.instrument], "totalSupply": "1000000.0",
                         "dayBaseVlm": "1000.0"})
        return {"universe": universe, "tokens": tokens}, ctxs

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        if method != "POST" or path != "/info":
            return 404, "null"
        try:
            kind = json.loads(body)["type"]
        except (ValueError, KeyError, TypeError):
            return 422, json.dumps("Failed to deserialize the JSON body into the target type")
        if kind == "meta":
            return 200, json.dumps(self._perp_meta()[0])
        if kind == "metaAndAssetCtxs":
            return 200, json.dumps(list(self._perp_meta()))
        if kind == "spotMeta":
            return 200, json.dumps(self._spot_meta()[0])
        if kind == "spotMetaAndAssetCtxs":
            return 200, json.dumps(list(self._spot_meta()))
        return 422, json.dumps("Failed to deserialize the JSON body into the target type")


SERVER = HyperliquidSim
