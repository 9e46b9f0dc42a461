"""Simulated Binance spot + USD-M: combined and raw streams, SUBSCRIBE acks, server pings, REST.

Speaks what ``venues/binance.py`` reads, with the venue's limits:

- WebSocket: ``/stream`` (wrapped events) or ``/ws`` (raw events), streams in the URL
  (``?streams=a/b``) or by ``SUBSCRIBE``; ``<sym>@bookTicker``, ``<sym>@depth[@100ms]`` with
  ``U``/``u`` (+ ``pu`` on USD-M) drawn from one update-id counter per symbol,
  ``<sym>@markPrice[@1s]`` on USD-M. USD-M is routed by tier as since 2026-04-23: ``/public``
  delivers ``@bookTicker`` / ``@depth``, ``/market`` delivers ``@markPrice``; the legacy unrouted
  ``/ws`` and ``/stream`` acknowledge everything but deliver only ``/public``-tier data (what
  clients saw of the real venue after the cut-over, binance-public-data#472, aggr#444).
- Limits, refused the way Binance does: more than 1024 streams on one connection answers
  ``{"error":{"code":4,"msg":"Too many subscriptions"},"id":…}`` (the venue's reply, quoted in
  unicorn-binance-websocket-api#17); more than 5 (spot) / 10 (USD-M) incoming messages within a
  second closes the connection with 1008 "Too many requests" (docs: "a connection that goes
  beyond the limit will be disconnected"; the close code as binance-connector-js#530 saw it); a
  request frame over 4096 bytes gets no answer at all (binance-connector-rust#27). Pongs are
  answered by the server framework and are not counted here.
- REST: ``/api/v3/exchangeInfo``, ``/api/v3/ticker/24hr`` (FULL or ``type=MINI``),
  ``/api/v3/depth``; ``/fapi/v1/exchangeInfo``, ``/fapi/v1/fundingInfo`` (only listings whose
  interval is not 8 h, as the venue lists only adjusted symbols), ``/fapi/v1/ticker/24hr``,
  ``/fapi/v1/premiumIndex``, ``/fapi/v1/depth``: the field names, string-vs-number choices and
  status words of the real samples (tests/fixtures/binance/rest_*.json). Depth snapshots carry
  ``lastUpdateId`` = the symbol's update-id counter.
- A listing whose status is not trading is listed with the venue's word (spot HALT / PRE_TRADING
  / BREAK, USD-M SETTLING / PENDING_TRADING / CLOSE) and publishes nothing.

Sizes are base units on both markets, as Binance sends them.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque

from arbsniper.instruments import parse_instrument
from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, market_of
from arbsniper.sim.synthetic import BASE_PRICES, BASE_SIZES, Listing, SimBook, SimFunding
from arbsniper.venues.binance import native_symbol

MAX_STREAMS = 1024
MAX_MESSAGES_PER_S = {"spot": 5, "perp": 10}
MAX_REQUEST_BYTES = 4096
STATUS_WORDS = {
    "spot": {"trading": "TRADING", "halted": "HALT", "prelaunch": "PRE_TRADING", "delisted": "BREAK"},
    "perp": {"trading": "TRADING", "halted": "SETTLING", "prelaunch": "PENDING_TRADING", "delisted": "CLOSE"},
}
_PUBLIC_TIER = ("@bookTicker", "@depth")  # USD-M /public; everything else is /market


def listing(instrument: str, price: float, funding_interval_hours: float = 8.0, status: str = "trading") -> Listing:
    """A Binance listing with realistic filters for an instrument trading near ``price``.

    Spot: tick 0.01 down to 4 significant digits below $100 (BTC, ETH, SOL 0.01; XRP 0.0001;
    DOGE 0.00001), lot one step of about $1 or less (BTC 0.00001, ETH 0.0001, SOL 0.001), min
    notional 5 USDT. USD-M: tick 0.1 at $10,000 and above (BTC), as spot below; lot of about
    $100 or less, at least 0.001 (BTC 0.001, ETH 0.01, SOL 0.1); min notional 5 USDT.
    """
    perp = parse_instrument(instrument).is_perp
    tick = min(0.01, 10.0 ** (math.floor(math.log10(price)) - 4))
    if perp and price >= 10_000:
        tick = 0.1
    lot = 10.0 ** math.floor(math.log10((100.0 if perp else 1.0) / price))
    if perp:
        lot = max(lot, 0.001)
    return Listing("binance", instrument, contract_size=1.0, lot_size=lot, tick=tick, min_size=lot, min_notional=5.0,
                   funding_interval_hours=funding_interval_hours if perp else 8.0, status=status)


def _filled(lst: Listing) -> Listing:
    """A listing with the filters the simulator picks for its reference price where it gives none."""
    if lst.tick and lst.lot_size:
        return lst
    ref = listing(lst.instrument, BASE_PRICES.get(parse_instrument(lst.instrument).base, 100.0), lst.funding_interval_hours, lst.status)
    return Listing(lst.venue, lst.instrument, lst.contract_size, lst.lot_size or ref.lot_size, lst.tick or ref.tick,
                   lst.min_size or ref.min_size, lst.min_notional or ref.min_notional, lst.funding_interval_hours, lst.status)


def _f8(x: float) -> str:
    """Spot's decimal strings: eight places ("0.01000000")."""
    return f"{x:.8f}"


class BinanceSim(SimVenueServer):
    venue = "binance"
    markets = ("spot", "perp")
    server_ping_interval_s = 20.0
    has_pings = False  # the venue pings the client, which never pings: no pong of the venue's to mute

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.listings = [_filled(lst) for lst in self.listings]
        self.by_instrument = {lst.instrument: lst for lst in self.listings}
        self.update_id: dict[str, int] = {lst.instrument: 1_000_000 for lst in self.listings}
        self.refusals: list[str] = []  # what was refused, for tests: "too many streams", "rate", "frame size"

    def trading(self, instrument: str) -> bool:
        lst = self.by_instrument.get(instrument)
        return lst is not None and lst.status == "trading"

    # ---- connection and control ------------------------------------------------------------

    def on_connect(self, conn: SimConnection) -> None:
        path = conn.path
        tier = "legacy"
        if conn.market == "perp":
            head, _, rest = path[1:].partition("/")
            if head in ("public", "market"):
                tier, path = head, "/" + rest
        conn.state["tier"] = tier
        conn.state["combined"] = path.startswith("/stream")
        conn.state["recent"] = deque()
        for s in conn.query.get("streams", [""])[0].split("/"):
            if s:
                conn.subs.add(s)
        if path.startswith("/ws/"):
            conn.subs.update(s for s in path[4:].split("/") if s)

    def _over_rate(self, conn: SimConnection) -> bool:
        recent: deque[float] = conn.state["recent"]  # type: ignore[assignment]
        now = time.monotonic()
        recent.append(now)
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        return len(recent) > MAX_MESSAGES_PER_S[conn.market]

    def on_message(self, conn: SimConnection, text: str) -> None:
        if self._over_rate(conn):
            self.refusals.append("rate")
            conn.close(1008, "Too many requests")
            return
        if len(text.encode()) > MAX_REQUEST_BYTES:
            self.refusals.append("frame size")
            return  # the real server never answers such a frame
        try:
            req = json.loads(text)
            method, rid = req["method"], req.get("id")
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1", "id": None}))
            return
        if method == "SUBSCRIBE":
            params = [p for p in req.get("params", []) if isinstance(p, str)]
            if len(conn.subs | set(params)) > MAX_STREAMS:
                self.refusals.append("too many streams")
                conn.send(json.dumps({"error": {"code": 4, "msg": "Too many subscriptions"}, "id": rid}))
                return
            conn.subs.update(params)
            conn.send(json.dumps({"result": None, "id": rid}))
        elif method == "UNSUBSCRIBE":
            conn.subs.difference_update(req.get("params", []))
            conn.send(json.dumps({"result": None, "id": rid}))
        elif method == "LIST_SUBSCRIPTIONS":
            conn.send(json.dumps({"result": sorted(conn.subs), "id": rid}))
        else:
            conn.send(json.dumps({"code": 2, "msg": f"Invalid request: unknown variant {method}", "id": rid}))

    # ---- REST ------------------------------------------------------------------------------

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        prefix = "/fapi/v1" if market == "perp" else "/api/v3"
        if not path.startswith(prefix + "/"):
            return 404, '{"code":-1,"msg":"not found"}'
        endpoint = path[len(prefix):]
        sym = query.get("symbol", [""])[0]
        if endpoint == "/exchangeInfo":
            return 200, json.dumps(self._exchange_info(market))
        if endpoint == "/ticker/24hr":
            full = query.get("type", ["FULL"])[0] != "MINI" or market == "perp"
            rows = [self._ticker(lst, full) for lst in self._listed(market)]
            return self._one_or_all(rows, sym)
        if endpoint == "/fundingInfo" and market == "perp":
            return 200, json.dumps([
                {"symbol": native_symbol(lst.instrument), "adjustedFundingRateCap": "0.02000000",
                 "adjustedFundingRateFloor": "-0.02000000", "fundingIntervalHours": int(lst.funding_interval_hours),
                 "disclaimer": False}
                for lst in self._listed(market) if lst.funding_interval_hours != 8.0
            ])
        if endpoint == "/premiumIndex" and market == "perp":
            rows = [self._premium(f) for inst, f in sorted(self.fundings.items()) if self.trading(inst)]
            return self._one_or_all(rows, sym)
        if endpoint == "/depth":
            return self._depth(market, sym)
        return 404, '{"code":-1,"msg":"not found"}'

    def _listed(self, market: str) -> list[Listing]:
        return [lst for lst in self.listings if market_of(lst.instrument) == market]

    @staticmethod
    def _one_or_all(rows: list[dict[str, object]], symbol: str) -> tuple[int, str]:
        if not symbol:
            return 200, json.dumps(rows)
        for row in rows:
            if row["symbol"] == symbol:
                return 200, json.dumps(row)
        return 400, '{"code":-1121,"msg":"Invalid symbol."}'

    def _exchange_info(self, market: str) -> dict[str, object]:
        now_ms = time.time_ns() // 1_000_000
        symbols = [self._perp_symbol(lst) if market == "perp" else self._spot_symbol(lst) for lst in self._listed(market)]
        if market == "perp":
            return {"timezone": "UTC", "serverTime": now_ms, "futuresType": "U_MARGINED", "rateLimits": [],
                    "exchangeFilters": [], "assets": [], "symbols": symbols}
        return {"timezone": "UTC", "serverTime": now_ms, "rateLimits": [], "exchangeFilters": [], "symbols": symbols}

    @staticmethod
    def _spot_symbol(lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        return {
            "symbol": native_symbol(lst.instrument), "status": STATUS_WORDS["spot"][lst.status],
            "baseAsset": inst.base, "baseAssetPrecision": 8, "quoteAsset": inst.quote, "quotePrecision": 8,
            "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": True,
            "ocoAllowed": True, "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": _f8(lst.tick), "maxPrice": "1000000.00000000", "tickSize": _f8(lst.tick)},
                {"filterType": "LOT_SIZE", "minQty": _f8(lst.min_size), "maxQty": "9000.00000000", "stepSize": _f8(lst.lot_size)},
                {"filterType": "NOTIONAL", "minNotional": _f8(lst.min_notional), "applyMinToMarket": True,
                 "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            ],
            "permissions": [], "permissionSets": [["SPOT"]],
        }

    @staticmethod
    def _perp_symbol(lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        sym = native_symbol(lst.instrument)
        return {
            "symbol": sym, "pair": sym, "contractType": "PERPETUAL", "deliveryDate": 4133404802000,
            "onboardDate": 1569398400000, "status": STATUS_WORDS["perp"][lst.status], "baseAsset": inst.base,
            "quoteAsset": inst.quote, "marginAsset": inst.settle, "pricePrecision": max(0, -math.floor(math.log10(lst.tick))),
            "quantityPrecision": max(0, -math.floor(math.log10(lst.lot_size))), "baseAssetPrecision": 8, "quotePrecision": 8,
            "underlyingType": "COIN", "underlyingSubType": [],
            "filters": [
                {"minPrice": fmt(lst.tick), "maxPrice": "1000000", "filterType": "PRICE_FILTER", "tickSize": fmt(lst.tick)},
                {"stepSize": fmt(lst.lot_size), "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": fmt(lst.min_size)},
                {"notional": fmt(lst.min_notional), "filterType": "MIN_NOTIONAL"},
            ],
            "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        }

    def _mid(self, instrument: str) -> float:
        book = self.books.get(instrument)
        if book is None or not book.bids or not book.asks:
            return BASE_PRICES.get(parse_instrument(instrument).base, 100.0)
        return (book.bids[0][0] + book.asks[0][0]) / 2

    def _ticker(self, lst: Listing, full: bool) -> dict[str, object]:
        base = parse_instrument(lst.instrument).base
        last = self._mid(lst.instrument)
        # A day's volume of about 20,000 typical top-of-book sizes: the synthetic market has no
        # trades, so this only has to rank listings plausibly (BTC above SOL above a small coin).
        volume = BASE_SIZES.get(base, 10.0) * 20_000 if lst.status == "trading" else 0.0
        now_ms = time.time_ns() // 1_000_000
        row: dict[str, object] = {"symbol": native_symbol(lst.instrument)}
        if full:
            row.update({"priceChange": "0.00000000", "priceChangePercent": "0.000", "weightedAvgPrice": _f8(last)})
        row.update({
            "lastPrice": _f8(last), "openPrice": _f8(last), "highPrice": _f8(last), "lowPrice": _f8(last),
            "volume": _f8(volume), "quoteVolume": _f8(volume * last),
            "openTime": now_ms - 86_400_000, "closeTime": now_ms, "firstId": 1, "lastId": 1000, "count": 1000,
        })
        return row

    def _premium(self, f: SimFunding) -> dict[str, object]:
        mark = self._mid(f.instrument)
        return {
            "symbol": native_symbol(f.instrument), "markPrice": _f8(mark), "indexPrice": _f8(mark),
            "estimatedSettlePrice": _f8(mark), "lastFundingRate": f"{f.rate:.8f}", "interestRate": "0.00010000",
            "nextFundingTime": f.next_funding_ts_ns // 1_000_000, "time": f.ts_ns // 1_000_000,
        }

    def _depth(self, market: str, sym: str) -> tuple[int, str]:
        for lst in self._listed(market):
            if native_symbol(lst.instrument) != sym:
                continue
            inst = lst.instrument
            book = self.books.get(inst) if self.trading(inst) else None
            answer: dict[str, object] = {"lastUpdateId": self.update_id[inst]}
            if market == "perp":
                ms = (book.ts_ns if book else time.time_ns()) // 1_000_000
                answer.update({"E": ms, "T": ms})
            answer["bids"] = [[fmt(p), fmt(s)] for p, s in book.bids] if book else []
            answer["asks"] = [[fmt(p), fmt(s)] for p, s in book.asks] if book else []
            return 200, json.dumps(answer)
        return 400, '{"code":-1121,"msg":"Invalid symbol."}'

    # ---- market data ---------------------------------------------------------------------

    def _send(self, market: str, stream: str, data: dict[str, object]) -> None:
        wrapped: str | None = None
        raw: str | None = None
        public = market == "perp" and any(t in stream for t in _PUBLIC_TIER)
        for conn in self.connections:
            if conn.market != market or stream not in conn.subs:
                continue
            if market == "perp":
                tier = conn.state.get("tier")
                if (tier == "market" and public) or (tier in ("public", "legacy") and not public):
                    continue  # subscribed on the wrong tier: acknowledged, never delivered
            if conn.state.get("combined"):
                wrapped = wrapped or json.dumps({"stream": stream, "data": data}, separators=(",", ":"))
                conn.send(wrapped)
            else:
                raw = raw or json.dumps(data, separators=(",", ":"))
                conn.send(raw)

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        if not self.trading(inst):
            return
        market = market_of(inst)
        sym = native_symbol(inst)
        low = sym.lower()
        ms = book.ts_ns // 1_000_000
        last = self.update_id[inst]
        if prev is not None and not book.crossed:
            changes_b = diff_levels(prev.bids, book.bids)
            changes_a = diff_levels(prev.asks, book.asks)
            n = max(1, len(changes_b) + len(changes_a))
            first = last + 1
            if inst in self.faults.skip_seq:
                self.faults.skip_seq.discard(inst)
                first += 5  # five updates the client never sees
            u = first + n - 1
            self.update_id[inst] = u
            depth: dict[str, object] = {"e": "depthUpdate", "E": ms}
            if market == "perp":
                depth["T"] = ms
            depth.update({"s": sym, "U": first, "u": u})
            if market == "perp":
                depth["pu"] = first - 1  # the previous event's u; after a skip, not the client's
            depth["b"] = [[fmt(p), fmt(s)] for p, s in changes_b]
            depth["a"] = [[fmt(p), fmt(s)] for p, s in changes_a]
            for stream in (f"{low}@depth@100ms", f"{low}@depth"):
                self._send(market, stream, depth)
            last = u
        elif prev is None:
            self.update_id[inst] = last = last + 1
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        ticker: dict[str, object] = {"u": last, "s": sym, "b": fmt(bp), "B": fmt(bs), "a": fmt(ap), "A": fmt(as_)}
        if market == "perp":
            ticker = {"e": "bookTicker", **ticker, "T": ms, "E": ms}
        self._send(market, f"{low}@bookTicker", ticker)

    def on_funding(self, funding: SimFunding) -> None:
        if not self.trading(funding.instrument):
            return
        sym = native_symbol(funding.instrument)
        low = sym.lower()
        mark = self._mid(funding.instrument)
        msg = {
            "e": "markPriceUpdate", "E": funding.ts_ns // 1_000_000, "s": sym, "p": fmt(mark), "i": fmt(mark),
            "P": fmt(mark), "r": f"{funding.rate:.8f}", "T": funding.next_funding_ts_ns // 1_000_000,
        }
        for stream in (f"{low}@markPrice@1s", f"{low}@markPrice"):
            self._send("perp", stream, msg)


SERVER = BinanceSim
