"""Simulated Bitget v2: symbols / contracts / tickers REST, text ping/pong, op acks, books1,
books (2026 shape: ``seq`` / ``pseq``, a CRC32 ``checksum`` on most messages), ticker.

REST (the real paths and shapes, every number a string): ``/api/v2/spot/public/symbols``,
``/api/v2/spot/market/tickers``, ``/api/v2/mix/market/contracts?productType=USDT-FUTURES``,
``/api/v2/mix/market/tickers?productType=USDT-FUTURES``; steps given as decimal places
(``quantityPrecision`` / ``pricePrecision``, ``volumePlace`` / ``pricePlace``), sizes in base
coins (``sizeMultiplier``, ``minTradeNum``), ``fundInterval`` in hours; status words ``online`` /
``halt`` / ``gray`` / ``offline`` (spot) and ``normal`` / ``maintain`` / ``listed`` / ``off``
(futures). Listings that are not trading are listed with their word and send no data.

WebSocket, on ``/v2/ws/public`` (``/{market}`` first picks spot or futures):
``{"op":"subscribe","args":[{"instType","channel","instId"}]}`` → one ``{"event":"subscribe","arg":…}``
per arg (``{"event":"error",…,"code":30001}`` for an unknown one); subscribing ``books`` sends a
``snapshot`` (checksum 0, ``pseq`` 0) and then ``update``s numbered ``seq`` with ``pseq`` the
previous ``seq``; the checksum (signed CRC32 of the top 25 levels, interleaved, in the strings
sent) is left out of every third update, as some 2026 messages leave it out. ``books1`` on every
change; futures ``ticker`` with ``fundingRate`` / ``nextFundingTime``. Sizes are base coins,
kept on each listing's size grid.

Limits, refused as Bitget does: more than 10 messages in a second (the text ``ping`` counts) →
``{"event":"error","code":30007,"msg":"request over limit,connection close"}`` and the connection
is closed ("the connection will be disconnected"); more than 240 subscribe/unsubscribe requests
per connection in an hour, or more than 1000 channels on one connection → ``30006`` "request too
many" (the code Bitget answers throttled requests with; for the channel cap the code is not
documented); args longer than 4096 bytes in one request → ``30002`` "illegal request" (limit
documented, code not); no ``ping`` for 2 minutes → the server closes the connection.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from decimal import Decimal

from arbsniper.instruments import parse_instrument
from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, fmt_levels, market_of
from arbsniper.sim.synthetic import BASE_PRICES, Listing, SimBook, SimFunding
from arbsniper.venues.bitget import (
    MAX_ARGS_BYTES,
    MAX_CHANNELS,
    MESSAGES_PER_S,
    PRODUCT_TYPE,
    REQUESTS_PER_HOUR,
    inst_type,
    native_symbol,
)
from arbsniper.venues.book import checksum_crc32
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING

CHANNELS = ("books1", "books", "ticker")
SPOT_WORDS = {TRADING: "online", HALTED: "halt", PRELAUNCH: "gray", DELISTED: "offline"}
FUTURES_WORDS = {TRADING: "normal", HALTED: "maintain", PRELAUNCH: "listed", DELISTED: "off"}
PING_TIMEOUT_S = 120.0  # "Websocket server will disconnect the connection if there is no string 'ping' received for 2 min"

Levels = list[tuple[float, float]]


def _levels(levels: Levels) -> list[list[str]]:
    return [[fmt(p), fmt(s)] for p, s in levels]


def _decimals(price: float) -> tuple[int, int]:
    """(price decimals, size decimals of spot) for a price: the tick about 0.1 bps of the price,
    the size step worth about a cent to a dime (BTC 6, as Bitget lists BTCUSDT)."""
    magnitude = math.floor(math.log10(price))
    return max(0, 5 - magnitude), max(0, magnitude + 2)


def _step(places: int) -> float:
    return float(Decimal(1).scaleb(-places))


def listing(instrument: str, price: float, funding_interval_hours: float = 8.0, status: str = "trading") -> Listing:
    """A Bitget listing of ``instrument`` at reference ``price``, with Bitget-like metadata.

    Steps are decimal places, as Bitget gives them: prices on the synthetic market's tick (a
    power of ten about 0.1 bps of the price). Spot: ``quantityPrecision`` = magnitude + 2 (BTC
    6), minimum order 1 USDT. Futures: ``volumePlace`` = magnitude − 1 (BTC 3: 0.001 BTC, ETH
    0.01, SOL 0.1, at least 1 coin), ``minTradeNum`` one step, ``minTradeUSDT`` 5. Sizes in base
    coins (contract size 1).
    """
    if price <= 0:
        raise ValueError(f"bitget listing {instrument}: price must be positive, got {price}")
    price_places, spot_places = _decimals(price)
    tick = _step(price_places)
    if not parse_instrument(instrument).is_perp:
        return Listing("bitget", instrument, 1.0, _step(spot_places), tick, 0.0, 1.0, 0.0, status)
    step = _step(max(0, math.floor(math.log10(price)) - 1))
    return Listing("bitget", instrument, 1.0, step, tick, step, 5.0, funding_interval_hours, status)


class _Spec:
    """What the server serves of one listing, the defaults filled in."""

    __slots__ = ("listing", "market", "native", "size_places", "price_places", "price_end_step")

    def __init__(self, lst: Listing) -> None:
        if not lst.lot_size:  # a listing without metadata (the pre-metadata demo): Bitget's, for its price
            base = parse_instrument(lst.instrument).base
            filled = listing(lst.instrument, BASE_PRICES.get(base, 100.0), lst.funding_interval_hours, lst.status)
            lst = Listing(lst.venue, lst.instrument, 1.0, filled.lot_size, lst.tick or filled.tick, lst.min_size or filled.min_size,
                          lst.min_notional or filled.min_notional, lst.funding_interval_hours, lst.status)
        self.listing = lst
        self.market = market_of(lst.instrument)
        self.native = native_symbol(self.market, lst.instrument)
        self.size_places = _places(lst.lot_size)
        tick = lst.tick or _step(_decimals(BASE_PRICES.get(parse_instrument(lst.instrument).base, 100.0))[0])
        self.price_places = _places(tick)
        self.price_end_step = fmt(float(Decimal(fmt(tick)).scaleb(self.price_places)))  # tick = endStep × 10^-places

    @property
    def live(self) -> bool:
        return self.listing.status == TRADING

    def on_grid(self, size: float) -> float:
        step = self.listing.lot_size
        return max(step, round(round(size / step) * step, self.size_places))


def _places(step: float) -> int:
    """Decimal places of a step (0.001 → 3, 0.05 → 2; 1 or more → 0)."""
    exponent = Decimal(fmt(step)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class BitgetSim(SimVenueServer):
    venue = "bitget"
    markets = ("spot", "perp")
    has_sequence = True  # 2026 books carry seq / pseq
    has_checksum = True
    timer_interval_s = 5.0  # the ping watchdog
    max_messages_per_s = int(MESSAGES_PER_S)
    max_requests_per_hour = REQUESTS_PER_HOUR
    max_channels = MAX_CHANNELS
    max_args_bytes = MAX_ARGS_BYTES
    ping_timeout_s = PING_TIMEOUT_S

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.specs = {lst.instrument: _Spec(lst) for lst in self.listings}
        self.native = {(spec.market, spec.native): inst for inst, spec in self.specs.items()}
        self.seq: dict[str, int] = {inst: 5_000_000 + 1_000 * k for k, inst in enumerate(sorted(self.specs))}
        self.updates: dict[str, int] = {inst: 0 for inst in self.specs}

    # ---- REST ---------------------------------------------------------------------------------

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        if path in ("/api/v2/spot/public/symbols", "/api/v2/spot/market/tickers"):
            specs = [s for s in self.specs.values() if s.market == "spot"]
            rows = [self._symbol(s) for s in specs] if path.endswith("symbols") else [t for s in specs if (t := self._ticker(s))]
            return 200, _ok(rows)
        if path in ("/api/v2/mix/market/contracts", "/api/v2/mix/market/tickers"):
            product = query.get("productType", [""])[0]
            if not product:
                return 400, _error("40019", "Parameter productType cannot be empty")
            specs = [s for s in self.specs.values() if s.market == "perp" and product.upper() == PRODUCT_TYPE]
            rows = [self._contract(s) for s in specs] if path.endswith("contracts") else [t for s in specs if (t := self._ticker(s))]
            return 200, _ok(rows)
        return 404, _error("40404", "Request URL NOT FOUND")

    @staticmethod
    def _symbol(spec: _Spec) -> dict[str, object]:
        inst = parse_instrument(spec.listing.instrument)
        return {
            "symbol": spec.native, "baseCoin": inst.base, "quoteCoin": inst.quote, "minTradeAmount": fmt(spec.listing.min_size),
            "maxTradeAmount": "10000000000", "takerFeeRate": "0.001", "makerFeeRate": "0.001", "pricePrecision": str(spec.price_places),
            "quantityPrecision": str(spec.size_places), "quotePrecision": "6", "status": SPOT_WORDS.get(spec.listing.status, "halt"),
            "minTradeUSDT": fmt(spec.listing.min_notional), "buyLimitPriceRatio": "0.05", "sellLimitPriceRatio": "0.05",
            "areaSymbol": "no", "orderQuantity": "200", "openTime": "1532454360000", "offTime": "",
        }

    @staticmethod
    def _contract(spec: _Spec) -> dict[str, object]:
        inst = parse_instrument(spec.listing.instrument)
        lst = spec.listing
        return {
            "symbol": spec.native, "baseCoin": inst.base, "quoteCoin": inst.quote, "buyLimitPriceRatio": "0.01",
            "sellLimitPriceRatio": "0.01", "feeRateUpRatio": "0.005", "makerFeeRate": "0.0002", "takerFeeRate": "0.0006",
            "openCostUpRatio": "0.01", "supportMarginCoins": [inst.quote], "minTradeNum": fmt(lst.min_size or lst.lot_size),
            "priceEndStep": spec.price_end_step, "volumePlace": str(spec.size_places), "pricePlace": str(spec.price_places),
            "sizeMultiplier": fmt(lst.lot_size), "symbolType": "perpetual", "minTradeUSDT": fmt(lst.min_notional),
            "maxSymbolOrderNum": "200", "maxProductOrderNum": "400", "maxPositionNum": "150",
            "symbolStatus": FUTURES_WORDS.get(lst.status, "maintain"), "offTime": "-1", "limitOpenTime": "-1", "deliveryTime": "",
            "deliveryStartTime": "", "deliveryPeriod": "", "launchTime": "", "fundInterval": fmt(lst.funding_interval_hours),
            "minLever": "1", "maxLever": "125", "posLimit": "0.05", "maintainTime": "",
        }

    def _ticker(self, spec: _Spec) -> dict[str, object] | None:
        book = self.books.get(spec.listing.instrument)
        if book is None:
            return None
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        last = (bp + ap) / 2
        base_volume = 400.0 * sum(s for _, s in book.bids + book.asks)  # a day's turnover, about
        row: dict[str, object] = {
            "symbol": spec.native, "high24h": fmt(ap), "open": fmt(last), "low24h": fmt(bp), "lastPr": fmt(last),
            "quoteVolume": fmt(round(base_volume * last, 4)), "baseVolume": fmt(base_volume),
            "usdtVolume": fmt(round(base_volume * last, 4)), "bidPr": fmt(bp), "askPr": fmt(ap), "bidSz": fmt(bs), "askSz": fmt(as_),
            "openUtc": fmt(last), "ts": str(book.ts_ns // 1_000_000), "changeUtc24h": "0", "change24h": "0",
        }
        if spec.market == "perp":
            funding = self.fundings.get(spec.listing.instrument)
            row |= {"indexPrice": fmt(last), "fundingRate": f"{funding.rate:.6f}" if funding else "0.0001",
                    "holdingAmount": fmt(base_volume / 10), "deliveryStartTime": None, "deliveryTime": None,
                    "deliveryStatus": "", "open24h": fmt(last), "markPrice": fmt(last)}
        return row

    # ---- WebSocket ----------------------------------------------------------------------------

    def on_connect(self, conn: SimConnection) -> None:
        if conn.path != "/v2/ws/public":
            conn.close(1008, "bad path")
            return
        conn.state["last_ping"] = time.monotonic()
        conn.state["messages"] = deque()
        conn.state["requests"] = deque()

    def on_timer(self) -> None:
        now = time.monotonic()
        for conn in list(self.connections):
            last = conn.state.get("last_ping")
            if isinstance(last, float) and now - last > self.ping_timeout_s:
                conn.close(1000, "no ping for 2 minutes")

    def on_message(self, conn: SimConnection, text: str) -> None:
        now = time.monotonic()
        sent: deque[float] = conn.state.setdefault("messages", deque())  # type: ignore[assignment]
        sent.append(now)
        while sent and now - sent[0] >= 1.0:
            sent.popleft()
        if len(sent) > self.max_messages_per_s:
            conn.send('{"event":"error","code":30007,"msg":"request over limit,connection close"}')
            conn.close(1008, "request over limit")
            return
        if text == "ping":
            conn.state["last_ping"] = now
            if not self.faults.mute_pongs:
                conn.send("pong")
            return
        try:
            req = json.loads(text)
            op, args = req["op"], req["args"]
            if not isinstance(args, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            conn.send('{"event":"error","code":30001,"msg":"param error"}')
            return
        if op in ("subscribe", "unsubscribe"):
            refusal = self._refusal(conn, args, now)
            if refusal is not None:
                conn.send(refusal)
                return
        for arg in args:
            channel, inst_id, kind = arg.get("channel"), arg.get("instId"), arg.get("instType")
            inst = self.native.get((conn.market, inst_id))
            if op not in ("subscribe", "unsubscribe") or channel not in CHANNELS or inst is None or kind != inst_type(conn.market, inst_id):
                conn.send(json.dumps({"event": "error", "arg": arg, "code": 30001,
                                      "msg": f"instType:{kind},channel:{channel},instId:{inst_id} doesn't exist"}))
                continue
            key = f"{channel}:{inst_id}"
            if op == "unsubscribe":
                conn.subs.discard(key)
                conn.send(json.dumps({"event": "unsubscribe", "arg": arg}))
                continue
            if key not in conn.subs and len(conn.subs) >= self.max_channels:
                conn.send(json.dumps({"event": "error", "arg": arg, "code": 30006, "msg": "request too many"}))
                continue
            conn.subs.add(key)
            conn.send(json.dumps({"event": "subscribe", "arg": arg}))
            book = self.books.get(inst)
            if channel == "books" and book is not None and self.specs[inst].live:
                self._send_books(conn, "snapshot", kind, inst_id, book.bids, book.asks, 0, book.ts_ns, self.seq[inst], 0)

    def _refusal(self, conn: SimConnection, args: list[object], now: float) -> str | None:
        """The error Bitget answers a subscribe/unsubscribe request beyond its limits with, or None."""
        if len(json.dumps(args, separators=(",", ":"))) > self.max_args_bytes:
            return '{"event":"error","code":30002,"msg":"illegal request"}'
        requests: deque[float] = conn.state.setdefault("requests", deque())  # type: ignore[assignment]
        while requests and now - requests[0] > 3600.0:
            requests.popleft()
        if len(requests) >= self.max_requests_per_hour:
            return '{"event":"error","code":30006,"msg":"request too many"}'
        requests.append(now)
        return None

    @staticmethod
    def _send_books(conn: SimConnection, action: str, kind: str, inst_id: str, bids: Levels, asks: Levels, cs: int | None,
                    ts_ns: int, seq: int, pseq: int) -> None:
        ms = ts_ns // 1_000_000
        data: dict[str, object] = {"asks": _levels(asks), "bids": _levels(bids)}
        if cs is not None:
            data["checksum"] = cs
        data |= {"seq": seq, "pseq": pseq, "ts": str(ms)}
        conn.send(json.dumps({"action": action, "arg": {"instType": kind, "channel": "books", "instId": inst_id},
                              "data": [data], "ts": ms + 1}, separators=(",", ":")))

    def publish(self, update: SimBook | SimFunding) -> None:
        if isinstance(update, SimBook):
            spec = self.specs.get(update.instrument)
            if spec is not None:
                # Book sizes on the listing's size step (decimal places), as the venue shows them.
                def grid(levels: Levels) -> Levels:
                    return [(p, spec.on_grid(s)) for p, s in levels]

                update = SimBook(update.venue, update.instrument, update.ts_ns, grid(update.bids), grid(update.asks), update.crossed)
        super().publish(update)

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        spec = self.specs[inst]
        if not spec.live:
            return  # halted, pre-launch or delisted: listed with its word, silent
        market, inst_id = spec.market, spec.native
        kind = inst_type(market, inst_id)
        ms = book.ts_ns // 1_000_000
        top = json.dumps({"action": "snapshot", "arg": {"instType": kind, "channel": "books1", "instId": inst_id},
                          "data": [{"asks": _levels(book.asks[:1]), "bids": _levels(book.bids[:1]), "checksum": 0, "ts": str(ms)}],
                          "ts": ms + 1}, separators=(",", ":"))
        for conn in self.subscribers(f"books1:{inst_id}"):
            if conn.market == market:
                conn.send(top)
        if book.crossed or prev is None:
            return
        pseq = self.seq[inst]
        seq = self.seq[inst] = pseq + 1
        if inst in self.faults.skip_seq:
            self.faults.skip_seq.discard(inst)
            pseq -= 3  # as if updates the client never saw came between
        self.updates[inst] += 1
        cs: int | None = checksum_crc32(fmt_levels(book.bids), fmt_levels(book.asks))
        if inst in self.faults.bad_checksum:
            self.faults.bad_checksum.discard(inst)
            cs = (cs or 0) + 1
        elif self.updates[inst] % 3 == 0:
            cs = None  # some 2026 messages carry no checksum
        bids, asks = diff_levels(prev.bids, book.bids), diff_levels(prev.asks, book.asks)
        for conn in self.subscribers(f"books:{inst_id}"):
            if conn.market == market:
                self._send_books(conn, "update", kind, inst_id, bids, asks, cs, book.ts_ns, seq, pseq)

    def on_funding(self, funding: SimFunding) -> None:
        inst = funding.instrument
        spec = self.specs.get(inst)
        book = self.books.get(inst)
        if spec is None or book is None or not spec.live:
            return
        inst_id = spec.native
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        ms = funding.ts_ns // 1_000_000
        msg = json.dumps({"action": "snapshot", "arg": {"instType": inst_type("perp", inst_id), "channel": "ticker", "instId": inst_id},
                          "data": [{"instId": inst_id, "lastPr": fmt(bp), "bidPr": fmt(bp), "askPr": fmt(ap), "bidSz": fmt(bs),
                                    "askSz": fmt(as_), "fundingRate": f"{funding.rate:.8f}",
                                    "nextFundingTime": str(funding.next_funding_ts_ns // 1_000_000),
                                    "markPrice": fmt((bp + ap) / 2), "ts": str(ms)}], "ts": ms + 1}, separators=(",", ":"))
        for conn in self.subscribers(f"ticker:{inst_id}"):
            if conn.market == "perp":
                conn.send(msg)


def _ok(data: list[dict[str, object]]) -> str:
    return json.dumps({"code": "00000", "msg": "success", "requestTime": time.time_ns() // 1_000_000, "data": data},
                      separators=(",", ":"))


def _error(code: str, msg: str) -> str:
    return json.dumps({"code": code, "msg": msg, "requestTime": time.time_ns() // 1_000_000, "data": None}, separators=(",", ":"))


SERVER = BitgetSim

__all__ = ["SERVER", "BitgetSim", "listing"]
