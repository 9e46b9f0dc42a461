"""Simulated Bybit v5 public endpoints (spot, linear): op acks, JSON ping/pong, orderbook.1/.50, tickers, REST.

Speaks what ``venues/bybit.py`` reads, with the venue's limits:

- WebSocket ``/v5/public/spot`` and ``/v5/public/linear``: subscribe / unsubscribe acks in each
  category's shape, ``orderbook.{1,50,200}.<sym>`` snapshot then deltas (``u`` per topic),
  ``tickers.<sym>`` on linear with funding (``fundingIntervalHour`` from the listing).
- Limits, refused as Bybit refuses, with ``{"success":false,"ret_msg":…}``: more than 10 args in
  one spot request is ``"args size >10"`` (the venue's words, nautilus_trader#1793); args
  beyond 21,000 characters on one connection (docs "Public channel - Args limits"; counted
  here as each topic's length plus its quotes and comma, the venue module's own rule) are
  refused too; the docs give no wording for that refusal, so the text here is ours.
- REST ``/v5/market/instruments-info``: spot in one page (``limit`` / ``cursor`` ignored, as the
  venue documents), linear in pages of ``limit`` (default 500, at most 1000) with a
  ``nextPageCursor`` shaped like the venue's (``first%3DBIOUSDT%26last%3DBIOUSDT``); without a
  ``status`` filter only Trading instruments are listed, as on the venue. ``/v5/market/tickers``
  for every Trading instrument. Field names and strings-for-numbers as the real samples.
- A listing whose status is not trading is served as PreLaunch (prelaunch) or Closed (halted,
  delisted: Bybit has no word for a halt) under ``status=`` and publishes nothing.

Sizes are base units on both categories, as Bybit sends them.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from urllib.parse import quote, unquote

from arbsniper.instruments import parse_instrument
from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, market_of
from arbsniper.sim.synthetic import BASE_PRICES, BASE_SIZES, Listing, SimBook, SimFunding
from arbsniper.venues.bybit import ARGS_CHARS_PER_CONNECTION, native_symbol

CATEGORY = {"spot": "spot", "perp": "linear"}
STATUS_WORDS = {"trading": "Trading", "prelaunch": "PreLaunch", "halted": "Closed", "delisted": "Closed"}
SPOT_MAX_ARGS = 10
DEFAULT_PAGE, MAX_PAGE = 500, 1000


def listing(instrument: str, price: float, funding_interval_hours: float = 8.0, status: str = "trading") -> Listing:
    """A Bybit listing with realistic filters for an instrument trading near ``price``.

    Tick 0.1 at $10,000 and above (BTC), else 0.01 down to 4 significant digits (ETH, SOL 0.01;
    XRP 0.0001). Spot: base precision of about $0.10 (BTC 0.000001, ETH 0.00001), minimum
    quantity about $1 on that grid (BTC 0.000011), minOrderAmt 5 USDT. Linear: qtyStep of about
    $100 or less (BTC 0.001, ETH 0.01, SOL 0.1) = minOrderQty, minNotionalValue 5 USDT.
    """
    perp = parse_instrument(instrument).is_perp
    tick = 0.1 if price >= 10_000 else min(0.01, 10.0 ** (math.floor(math.log10(price)) - 4))
    if perp:
        lot = 10.0 ** math.floor(math.log10(100.0 / price))
        min_size = lot
    else:
        lot = 10.0 ** math.floor(math.log10(0.1 / price))
        min_size = round(math.ceil(1.0 / price / lot) * lot, 12)
    return Listing("bybit", instrument, contract_size=1.0, lot_size=lot, tick=tick, min_size=min_size, min_notional=5.0,
                   funding_interval_hours=funding_interval_hours if perp else 8.0, status=status)


def _filled(lst: Listing) -> Listing:
    """A listing with the filters the simulator picks for its reference price where it gives none."""
    if lst.tick and lst.lot_size:
        return lst
    ref = listing(lst.instrument, BASE_PRICES.get(parse_instrument(lst.instrument).base, 100.0), lst.funding_interval_hours, lst.status)
    return Listing(lst.venue, lst.instrument, lst.contract_size, lst.lot_size or ref.lot_size, lst.tick or ref.tick,
                   lst.min_size or ref.min_size, lst.min_notional or ref.min_notional, lst.funding_interval_hours, lst.status)


def _levels(levels: list[tuple[float, float]]) -> list[list[str]]:
    return [[fmt(p), fmt(s)] for p, s in levels]


def _answer(result: dict[str, object], code: int = 0, msg: str = "OK") -> str:
    return json.dumps({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": time.time_ns() // 1_000_000})


class BybitSim(SimVenueServer):
    venue = "bybit"
    markets = ("spot", "perp")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.listings = [_filled(lst) for lst in self.listings]
        self.by_instrument = {lst.instrument: lst for lst in self.listings}
        self.native = {(market_of(lst.instrument), native_symbol(lst.instrument)): lst.instrument for lst in self.listings}
        self.u: dict[tuple[str, str], int] = {}  # (instrument, depth) -> update id
        self.cross_seq = 4_000_000_000
        self.refusals: list[str] = []  # what was refused, for tests

    def trading(self, instrument: str) -> bool:
        lst = self.by_instrument.get(instrument)
        return lst is not None and lst.status == "trading"

    def on_connect(self, conn: SimConnection) -> None:
        conn.state["conn_id"] = str(uuid.UUID(int=self.connections_total))
        conn.state["chars"] = 0
        if conn.path != f"/v5/public/{CATEGORY[conn.market]}":
            conn.close(1008, "bad path")

    def _ack(self, conn: SimConnection, op: str, req_id: str, ok: bool, msg: str) -> None:
        body: dict[str, object] = {"success": ok, "ret_msg": msg, "conn_id": conn.state["conn_id"], "req_id": req_id, "op": op}
        conn.send(json.dumps(body))

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            op, req_id = req["op"], str(req.get("req_id", ""))
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"success": False, "ret_msg": "Invalid request", "conn_id": conn.state["conn_id"], "op": ""}))
            return
        if op == "ping":
            if not self.faults.mute_pongs:
                self._ack(conn, "ping", req_id, True, "pong")
            return
        args = [a for a in req.get("args", []) if isinstance(a, str)]
        if conn.market == "spot" and len(args) > SPOT_MAX_ARGS:
            self.refusals.append("args per request")
            self._ack(conn, op, req_id, False, "args size >10")
            return
        for topic in args:
            parts = topic.split(".")
            ok = (len(parts) == 3 and parts[0] == "orderbook" and parts[1] in ("1", "50", "200")) or (
                len(parts) == 2 and parts[0] == "tickers")
            inst = self.native.get((conn.market, parts[-1]))
            if not ok or inst is None:
                self._ack(conn, op, req_id, False, f"Invalid topic: {topic}")
                return
        if op == "subscribe":
            added = sum(len(t) + 3 for t in set(args) - conn.subs)
            chars: int = conn.state["chars"]  # type: ignore[assignment]
            if chars + added > ARGS_CHARS_PER_CONNECTION:
                self.refusals.append("args characters per connection")
                self._ack(conn, op, req_id, False, f"args length over {ARGS_CHARS_PER_CONNECTION} characters on this connection")
                return
            conn.state["chars"] = chars + added
        for topic in args:
            if op == "subscribe":
                conn.subs.add(topic)
            elif op == "unsubscribe" and topic in conn.subs:
                conn.subs.discard(topic)
                conn.state["chars"] = conn.state["chars"] - len(topic) - 3  # type: ignore[operator]
        self._ack(conn, op, req_id, True, op if conn.market == "spot" else "")
        if op == "subscribe":
            for topic in args:
                self._snapshot(conn, topic)

    # ---- REST ------------------------------------------------------------------------------

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        category = query.get("category", [""])[0]
        if path not in ("/v5/market/instruments-info", "/v5/market/tickers"):
            return 404, '{"retCode":10001,"retMsg":"not found"}'
        if category != CATEGORY[market]:
            return 200, _answer({}, 10001, "params error: category")
        if path == "/v5/market/tickers":
            rows = [self._ticker(lst) for lst in self._listed(market) if lst.status == "trading"]
            return 200, _answer({"category": category, "list": rows})
        word = query.get("status", ["Trading"])[0]
        listed = sorted((lst for lst in self._listed(market) if STATUS_WORDS[lst.status] == word), key=lambda x: native_symbol(x.instrument))
        result: dict[str, object] = {"category": category}
        if market == "spot":
            result["list"] = [self._spot_row(lst) for lst in listed]
            return 200, _answer(result)
        try:
            limit = int(query.get("limit", [str(DEFAULT_PAGE)])[0])
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_PAGE:
            return 200, _answer({}, 10001, "params error: limit")
        cursor = unquote(query.get("cursor", [""])[0])  # "first=BIOUSDT&last=BIOUSDT"
        after = dict(part.partition("=")[::2] for part in cursor.split("&") if part).get("last", "")
        rest_ = [lst for lst in listed if native_symbol(lst.instrument) > after]
        page, more = rest_[:limit], len(rest_) > limit
        first, last = (native_symbol(page[0].instrument), native_symbol(page[-1].instrument)) if page else ("", "")
        result["list"] = [self._linear_row(lst) for lst in page]
        result["nextPageCursor"] = quote(f"first={first}&last={last}", safe="") if more else ""
        return 200, _answer(result)

    def _listed(self, market: str) -> list[Listing]:
        return [lst for lst in self.listings if market_of(lst.instrument) == market]

    @staticmethod
    def _spot_row(lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        return {
            "symbol": native_symbol(lst.instrument), "baseCoin": inst.base, "quoteCoin": inst.quote, "innovation": "0",
            "status": STATUS_WORDS[lst.status], "marginTrading": "utaOnly", "stTag": "0",
            "lotSizeFilter": {
                "basePrecision": fmt(lst.lot_size), "quotePrecision": "0.0000001", "minOrderQty": fmt(lst.min_size),
                "maxOrderQty": "1000000", "minOrderAmt": fmt(lst.min_notional), "maxOrderAmt": "8000000",
                "maxLimitOrderQty": "1000000", "maxMarketOrderQty": "500000", "postOnlyMaxLimitOrderSize": "60000",
            },
            "priceFilter": {"tickSize": fmt(lst.tick)},
            "riskParameters": {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"}, "symbolType": "",
        }

    @staticmethod
    def _linear_row(lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        return {
            "symbol": native_symbol(lst.instrument), "contractType": "LinearPerpetual", "status": STATUS_WORDS[lst.status],
            "baseCoin": inst.base, "quoteCoin": inst.quote, "launchTime": "1585526400000", "deliveryTime": "0",
            "deliveryFeeRate": "", "priceScale": str(max(0, -math.floor(math.log10(lst.tick)))),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": fmt(lst.tick), "maxPrice": "1999999.80", "tickSize": fmt(lst.tick)},
            "lotSizeFilter": {
                "maxOrderQty": "1190.000", "minOrderQty": fmt(lst.min_size), "qtyStep": fmt(lst.lot_size),
                "postOnlyMaxOrderQty": "1190.000", "maxMktOrderQty": "500.000", "minNotionalValue": fmt(lst.min_notional),
            },
            "unifiedMarginTrade": True, "fundingInterval": round(lst.funding_interval_hours * 60), "settleCoin": inst.settle,
            "copyTrading": "both", "upperFundingRate": "0.00375", "lowerFundingRate": "-0.00375",
            "isPreListing": lst.status == "prelaunch", "preListingInfo": None,
            "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"}, "symbolType": "",
        }

    def _ticker(self, lst: Listing) -> dict[str, object]:
        inst = lst.instrument
        base = parse_instrument(inst).base
        book = self.books.get(inst)
        mid = (book.bids[0][0] + book.asks[0][0]) / 2 if book else BASE_PRICES.get(base, 100.0)
        volume = BASE_SIZES.get(base, 10.0) * 12_000  # a day of the synthetic market's typical sizes: ranks plausibly
        row: dict[str, object] = {"symbol": native_symbol(inst)}
        top = {"bid1Price": fmt(book.bids[0][0]), "bid1Size": fmt(book.bids[0][1]), "ask1Price": fmt(book.asks[0][0]),
               "ask1Size": fmt(book.asks[0][1])} if book else {"bid1Price": "", "bid1Size": "", "ask1Price": "", "ask1Size": ""}
        if market_of(inst) == "spot":
            row.update(top)
            row.update({"lastPrice": fmt(mid), "prevPrice24h": fmt(mid), "price24hPcnt": "0", "highPrice24h": fmt(mid),
                        "lowPrice24h": fmt(mid), "turnover24h": fmt(volume * mid), "volume24h": fmt(volume), "usdIndexPrice": ""})
            return row
        f = self.fundings.get(inst)
        row.update({
            "lastPrice": fmt(mid), "indexPrice": fmt(mid), "markPrice": fmt(mid), "prevPrice24h": fmt(mid), "price24hPcnt": "0",
            "highPrice24h": fmt(mid), "lowPrice24h": fmt(mid), "prevPrice1h": fmt(mid), "openInterest": fmt(volume / 3),
            "openInterestValue": fmt(volume / 3 * mid), "turnover24h": fmt(volume * mid), "volume24h": fmt(volume),
            "fundingRate": f"{f.rate:.8f}" if f else "", "nextFundingTime": str(f.next_funding_ts_ns // 1_000_000) if f else "",
            "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "", "deliveryTime": "0",
        })
        row.update({"ask1Size": top["ask1Size"], "bid1Price": top["bid1Price"], "ask1Price": top["ask1Price"], "bid1Size": top["bid1Size"]})
        return row

    # ---- market data ---------------------------------------------------------------------

    def _snapshot(self, conn: SimConnection, topic: str) -> None:
        parts = topic.split(".")
        inst = self.native[(conn.market, parts[-1])]
        book = self.books.get(inst)
        if book is None or not self.trading(inst):
            return
        if parts[0] == "orderbook":
            depth = int(parts[1])
            key = (inst, parts[1])
            self.u.setdefault(key, 100)  # the current id: the next delta is id + 1 on every connection
            data = {"s": parts[2], "b": _levels(book.bids[:depth]), "a": _levels(book.asks[:depth]), "u": self.u[key], "seq": self.cross_seq}
            conn.send(json.dumps({"topic": topic, "type": "snapshot", "ts": book.ts_ns // 1_000_000, "data": data, "cts": book.ts_ns // 1_000_000}))
        else:
            f = self.fundings.get(inst)
            data = {"symbol": parts[1], "bid1Price": fmt(book.bids[0][0]), "bid1Size": fmt(book.bids[0][1]),
                    "ask1Price": fmt(book.asks[0][0]), "ask1Size": fmt(book.asks[0][1])}
            if f is not None:
                data.update(self._funding_fields(f))
            conn.send(json.dumps({"topic": topic, "type": "snapshot", "data": data, "cs": self.cross_seq, "ts": book.ts_ns // 1_000_000}))

    def _funding_fields(self, f: SimFunding) -> dict[str, str]:
        lst = self.by_instrument.get(f.instrument)
        hours = lst.funding_interval_hours if lst is not None else f.interval_hours
        return {"fundingRate": f"{f.rate:.8f}", "nextFundingTime": str(f.next_funding_ts_ns // 1_000_000),
                "fundingIntervalHour": f"{hours:g}"}

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        sym = native_symbol(inst)
        ms = book.ts_ns // 1_000_000
        if prev is None or not self.trading(inst):
            return
        if book.crossed:
            # The bad quote goes out on the level-1 stream only, as a delta crossing the book.
            self._delta(inst, sym, "1", [(book.bids[0][0], book.bids[0][1])], [(book.asks[0][0], book.asks[0][1])], ms)
            return
        skip = inst in self.faults.skip_seq
        self.faults.skip_seq.discard(inst)
        self._delta(inst, sym, "1", diff_levels(prev.bids[:1], book.bids[:1]), diff_levels(prev.asks[:1], book.asks[:1]), ms)
        self._delta(inst, sym, "50", diff_levels(prev.bids, book.bids), diff_levels(prev.asks, book.asks), ms, skip)

    def _delta(self, inst: str, sym: str, depth: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]],
               ms: int, skip: bool = False) -> None:
        topic = f"orderbook.{depth}.{sym}"
        market = market_of(inst)
        subs = [c for c in self.connections if c.market == market and topic in c.subs]
        key = (inst, depth)
        self.u[key] = self.u.get(key, 100) + (6 if skip else 1)
        self.cross_seq += 1
        if not subs:
            return
        msg = json.dumps({"topic": topic, "type": "delta", "ts": ms, "data": {"s": sym, "b": _levels(bids), "a": _levels(asks),
                          "u": self.u[key], "seq": self.cross_seq}, "cts": ms}, separators=(",", ":"))
        for conn in subs:
            conn.send(msg)

    def on_funding(self, funding: SimFunding) -> None:
        if not self.trading(funding.instrument):
            return
        sym = native_symbol(funding.instrument)
        topic = f"tickers.{sym}"
        msg = json.dumps({"topic": topic, "type": "delta", "data": {"symbol": sym, **self._funding_fields(funding)},
                          "cs": self.cross_seq, "ts": funding.ts_ns // 1_000_000})
        for conn in self.connections:
            if conn.market == "perp" and topic in conn.subs:
                conn.send(msg)


SERVER = BybitSim
