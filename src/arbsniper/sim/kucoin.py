"""Simulated KuCoin spot + futures: listings, bullet-public tokens, welcome/ack/pong, ticker,
level-2, snapshots, funding, and KuCoin's subscription limits.

Speaks what ``venues/kucoin/`` reads:
- REST listings in KuCoin's format, built from the ``Listing``s: spot ``GET /api/v2/symbols``
  (numbers as strings, ``enableTrading``) and ``GET /api/v1/market/allTickers`` (``volValue``,
  ``last``), futures ``GET /api/v1/contracts/active`` (numbers as JSON numbers, base ``XBT`` for
  BTC, ``multiplier`` = the listing's contract size, ``lotSize`` 1 contract, ``status``
  Open / Paused / Init, ``fundingRateGranularity`` in ms). A delisted listing is not listed; a
  halted or pre-launch one is listed with its status word, accepts subscriptions and sends no data;
- ``POST /api/v1/bullet-public`` issues a token and names this server as the endpoint; a
  WebSocket without a valid ``token`` gets ``{"type":"error","code":401}`` and is closed, a good one
  ``{"id":<connectId>,"type":"welcome"}``;
- ``{"type":"ping"}`` → ``{"type":"pong"}``; subscribe/unsubscribe with ``response`` → ``ack``;
  topics carry up to 100 comma-separated symbols on spot and futures;
- spot ``/market/ticker`` and ``/market/level2`` (each level change takes the next number of one
  sequence per symbol; ``sequenceStart``/``sequenceEnd`` span a message), REST
  ``/api/v1/market/orderbook/level2_100`` whose ``sequence`` is that counter;
- futures ``/contractMarket/tickerV2`` (ns ``ts``), ``/contractMarket/level2`` (one change per
  message, ``sequence`` + 1 each), REST ``/api/v1/level2/snapshot``, ``/contract/instrument``
  ``funding.rate`` (``granularity`` = the listing's funding period). Futures sizes are whole
  contracts of the listing's ``contract_size``, so the server rounds each synthetic book to whole
  contracts before publishing it: that rounded book, in base units, is the venue's reference book.

Limits, refused as the real venue refuses (an error frame, the connection stays open, the
request is not carried out; see ``venues/kucoin/common.py`` for the sources): more than 100
symbols in one subscribe (``509 exceed max subscription count limitation of 100 per time``), more
than 400 topics on one spot connection (``509 … of 400 per session``), more than 100 client
messages in 10 s, pings included (``509 exceed max permits per second``).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import time

from arbsniper.instruments import parse_instrument
from arbsniper.sim.contracts import whole_contracts
from arbsniper.sim.server import SimConnection, SimVenueServer, diff_levels, fmt, market_of
from arbsniper.sim.synthetic import BASE_PRICES, BASE_SIZES, Listing, SimBook, SimFunding
from arbsniper.venues.kucoin import futures, spot
from arbsniper.venues.kucoin.common import BASE_ALIASES, MAX_TOPICS_PER_REQUEST
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING

SPOT_TOPICS = spot.CHANNELS
PERP_TOPICS = futures.CHANNELS
PING_INTERVAL_MS = 18_000
PING_TIMEOUT_MS = 10_000
MESSAGES_PER_WINDOW = 100  # client messages per WINDOW_S, pings included
WINDOW_S = 10.0
SPOT_TOPICS_PER_CONNECTION = spot.TOPICS_PER_CONNECTION
FUTURES_STATUS = {TRADING: "Open", HALTED: "Paused", PRELAUNCH: "Init"}
# Base units per contract of KuCoin's USDT perpetuals we know (XBTUSDTM 0.001 from the venue's
# sample); other bases get 1, 10 or 100 by price (``listing``).
MULTIPLIERS = {"BTC": 0.001, "ETH": 0.01, "SOL": 0.1}
_VENUE_CODES = {unified: code for code, unified in BASE_ALIASES.items()}


def native_symbol(instrument: str) -> str:
    """The venue's symbol of a spot or perpetual instrument."""
    return (futures.native_symbol if market_of(instrument) == "perp" else spot.native_symbol)(instrument)


def _power_of_ten(x: float) -> float:
    return float(10 ** math.floor(math.log10(x)))


def listing(instrument: str, price: float, funding_interval_hours: float = 8.0, status: str = TRADING) -> Listing:
    """KuCoin's listing of ``instrument`` at reference ``price``, with the venue's conventions.

    Spot (BTC-USDT in the venue's sample: step 0.00000001, min 0.00001, tick 0.1, minFunds 0.1):
    a tick of about 1 ppm of the price as a power of ten, a size step worth about 0.001 quote,
    a smallest order worth about 1 quote, 0.1 quote minimum value. Futures: ``multiplier`` BTC
    0.001, ETH 0.01, SOL 0.1, otherwise 1, 10 or 100 (a contract worth about 10 quote), lots of
    one contract, no minimum value.
    """
    if not price > 0.0:
        raise ValueError(f"kucoin listing {instrument}: price must be positive, got {price}")
    inst = parse_instrument(instrument)
    tick = _power_of_ten(price) / 1e5
    if inst.is_perp:
        mult = MULTIPLIERS.get(inst.base) or min(100.0, max(1.0, float(10 ** round(math.log10(10.0 / price)))))
        return Listing("kucoin", instrument, contract_size=mult, lot_size=mult, tick=tick, min_size=mult,
                       funding_interval_hours=funding_interval_hours, status=status)
    return Listing("kucoin", instrument, lot_size=_power_of_ten(1.0 / price) / 1e3, tick=tick,
                   min_size=_power_of_ten(1.0 / price), min_notional=0.1, status=status)


def filled(lst: Listing) -> Listing:
    """``lst`` with the steps it leaves at 0 ("the simulator picks") taken from ``listing`` at the
    synthetic market's reference price; a perpetual's lot and minimum default to one contract."""
    if lst.lot_size and lst.tick and lst.min_size:
        return lst
    base = parse_instrument(lst.instrument).base
    picked = listing(lst.instrument, BASE_PRICES.get(base, 100.0), lst.funding_interval_hours, lst.status)
    one = lst.contract_size if parse_instrument(lst.instrument).is_perp else 0.0
    return dataclasses.replace(lst, lot_size=lst.lot_size or one or picked.lot_size, tick=lst.tick or picked.tick,
                               min_size=lst.min_size or one or picked.min_size,
                               min_notional=lst.min_notional or (0.0 if one else picked.min_notional))


class KuCoinSim(SimVenueServer):
    venue = "kucoin"
    markets = ("spot", "perp")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.listings = [filled(lst) for lst in self.listings]
        self.by_instrument: dict[str, Listing] = {lst.instrument: lst for lst in self.listings}
        listed = [lst for lst in self.listings if lst.status != DELISTED]
        self.native = {native_symbol(lst.instrument): lst.instrument for lst in listed}
        self.sym = {inst: native for native, inst in self.native.items()}
        self.live = {lst.instrument for lst in listed if lst.status == TRADING}  # the listings that send data
        self.seq: dict[str, int] = {lst.instrument: 1_000_000 for lst in self.listings}
        self.contracts: dict[str, tuple[list[int], list[int]]] = {}  # perp -> its last book in contracts
        self.tokens: set[str] = set()
        self.tokens_used: list[str] = []  # the token of each WebSocket connection, in order
        self.ping_interval_ms = PING_INTERVAL_MS  # what bullet-public tells clients
        self.refusals: list[str] = []  # every error frame sent for a limit, in order

    # ---- REST -----------------------------------------------------------------------------

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        if path == "/api/v1/bullet-public":
            if method != "POST":
                return 405, '{"code":"400000","msg":"POST only"}'
            token = f"sim-{market}-{len(self.tokens) + 1}"
            self.tokens.add(token)
            server = {"endpoint": f"ws://{self.host}:{self.port}/{market}/", "encrypt": False, "protocol": "websocket",
                      "pingInterval": self.ping_interval_ms, "pingTimeout": PING_TIMEOUT_MS}
            return 200, json.dumps({"code": "200000", "data": {"token": token, "instanceServers": [server]}})
        if market == "spot" and path == spot.SYMBOLS_PATH:
            return 200, json.dumps({"code": "200000", "data": [self._spot_symbol(lst) for lst in self._listed("spot")]})
        if market == "spot" and path == spot.TICKERS_PATH:
            tickers = [self._spot_ticker(lst) for lst in self._listed("spot")]
            return 200, json.dumps({"code": "200000", "data": {"time": self._now_ms(), "ticker": tickers}})
        if market == "perp" and path == futures.CONTRACTS_PATH:
            return 200, json.dumps({"code": "200000", "data": [self._contract(lst) for lst in self._listed("perp")]})
        want = "/api/v1/market/orderbook/level2_100" if market == "spot" else "/api/v1/level2/snapshot"
        if path != want:
            return 404, '{"code":"404000","msg":"Not Found"}'
        native = query.get("symbol", [""])[0]
        inst = self.native.get(native)
        book = self.books.get(inst) if inst is not None else None
        if inst is None or book is None or market_of(inst) != market:
            return 400, '{"code":"400100","msg":"symbol not exists"}'
        if market == "spot":
            data: dict[str, object] = {"time": book.ts_ns // 1_000_000, "sequence": str(self.seq[inst]),
                                       "bids": [[fmt(p), fmt(s)] for p, s in book.bids],
                                       "asks": [[fmt(p), fmt(s)] for p, s in book.asks]}
        else:
            bids, asks = self.contracts[inst]
            data = {"symbol": native, "sequence": self.seq[inst], "ts": book.ts_ns,
                    "bids": [[p, n] for (p, _), n in zip(book.bids, bids, strict=True)],
                    "asks": [[p, n] for (p, _), n in zip(book.asks, asks, strict=True)]}
        return 200, json.dumps({"code": "200000", "data": data})

    def _listed(self, market: str) -> list[Listing]:
        return [self.by_instrument[inst] for inst in self.native.values() if market_of(inst) == market]

    def _now_ms(self) -> int:
        return max((b.ts_ns for b in self.books.values()), default=0) // 1_000_000

    def _mid(self, instrument: str) -> float:
        book = self.books.get(instrument)
        return (book.bids[0][0] + book.asks[0][0]) / 2 if book is not None else 0.0

    def _day_volume(self, instrument: str) -> float:
        """A 24 h base volume that ranks like the synthetic market's depth (10 000 × a level's size)."""
        return BASE_SIZES.get(parse_instrument(instrument).base, 10.0) * 10_000

    def _spot_symbol(self, lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        native = self.sym[lst.instrument]
        return {
            "symbol": native, "name": native, "baseCurrency": inst.base, "quoteCurrency": inst.quote, "feeCurrency": inst.quote,
            "market": "USDS", "baseMinSize": fmt(lst.min_size), "quoteMinSize": fmt(lst.min_notional), "baseMaxSize": "10000000000",
            "quoteMaxSize": "99999999", "baseIncrement": fmt(lst.lot_size), "quoteIncrement": "0.000001",
            "priceIncrement": fmt(lst.tick), "priceLimitRate": "0.1", "minFunds": fmt(lst.min_notional),
            "isMarginEnabled": True, "enableTrading": lst.status != HALTED, "feeCategory": 1, "makerFeeCoefficient": "1.00",
            "takerFeeCoefficient": "1.00", "st": False, "callauctionIsEnabled": lst.status == PRELAUNCH,
            "callauctionPriceFloor": None, "callauctionPriceCeiling": None, "callauctionFirstStageStartTime": None,
            "callauctionSecondStageStartTime": None, "callauctionThirdStageStartTime": None, "tradingStartTime": None,
        }

    def _spot_ticker(self, lst: Listing) -> dict[str, object]:
        native = self.sym[lst.instrument]
        mid = self._mid(lst.instrument)
        vol = self._day_volume(lst.instrument)
        return {"symbol": native, "symbolName": native, "buy": fmt(mid), "sell": fmt(mid), "changeRate": "0.001",
                "changePrice": fmt(mid * 0.001), "high": fmt(mid * 1.02), "low": fmt(mid * 0.98), "vol": fmt(vol),
                "volValue": fmt(vol * mid), "last": fmt(mid), "averagePrice": fmt(mid), "takerFeeRate": "0.001",
                "makerFeeRate": "0.001", "takerCoefficient": "1", "makerCoefficient": "1"}

    def _contract(self, lst: Listing) -> dict[str, object]:
        inst = parse_instrument(lst.instrument)
        mid = self._mid(lst.instrument)
        vol = self._day_volume(lst.instrument)
        period_ms = int(lst.funding_interval_hours * 3_600_000)
        return {
            "symbol": self.sym[lst.instrument], "rootSymbol": inst.settle, "type": futures.PERPETUAL_TYPE,
            "firstOpenDate": 1585555200000, "expireDate": None, "settleDate": None,
            "baseCurrency": _VENUE_CODES.get(inst.base, inst.base), "quoteCurrency": inst.quote, "settleCurrency": inst.settle,
            "maxOrderQty": 1000000, "maxPrice": 1000000, "lotSize": round(lst.lot_size / lst.contract_size) or 1,
            "tickSize": lst.tick, "indexPriceTickSize": lst.tick, "multiplier": lst.contract_size,
            "initialMargin": 0.008, "maintainMargin": 0.004, "makerFeeRate": 0.0002, "takerFeeRate": 0.0006,
            "isDeleverage": True, "isQuanto": False, "isInverse": False, "markMethod": "FairPrice", "fairMethod": "FundingRate",
            "status": FUTURES_STATUS.get(lst.status, "Paused"), "fundingFeeRate": 0.0001, "predictedFundingFeeRate": 0.0001,
            "fundingRateGranularity": period_ms, "openInterest": "6748176", "turnoverOf24h": vol * mid,
            "volumeOf24h": vol, "markPrice": mid, "indexPrice": mid, "lastTradePrice": mid,
            "nextFundingRateTime": period_ms - self._now_ms() % period_ms if period_ms else 0, "maxLeverage": 100,
            "lowPrice": mid * 0.98, "highPrice": mid * 1.02, "priceChgPct": 0.001, "priceChg": mid * 0.001,
            "supportCross": True,
        }

    # ---- handshake and control -------------------------------------------------------------

    def on_connect(self, conn: SimConnection) -> None:
        token = conn.query.get("token", [""])[0]
        connect_id = conn.query.get("connectId", ["sim"])[0]
        self.tokens_used.append(token)
        if token not in self.tokens:
            conn.send(json.dumps({"id": connect_id, "type": "error", "code": 401, "data": "token is invalid"}))
            conn.close(1008, "token is invalid")
            return
        conn.state["sent"] = collections.deque()
        conn.send(json.dumps({"id": connect_id, "type": "welcome"}))

    def _refuse(self, conn: SimConnection, rid: object, code: int, why: str) -> None:
        self.refusals.append(why)
        conn.send(json.dumps({"id": str(rid), "type": "error", "code": code, "data": why}))

    def _over_rate(self, conn: SimConnection) -> bool:
        """One more client message; True when it is beyond 100 in the last 10 s."""
        sent = conn.state.setdefault("sent", collections.deque())
        assert isinstance(sent, collections.deque)
        now = time.monotonic()
        while sent and sent[0] <= now - WINDOW_S:
            sent.popleft()
        sent.append(now)
        return len(sent) > MESSAGES_PER_WINDOW

    def on_message(self, conn: SimConnection, text: str) -> None:
        try:
            req = json.loads(text)
            kind, rid = req["type"], req.get("id")
        except (ValueError, KeyError, TypeError):
            conn.send(json.dumps({"id": "", "type": "error", "code": 400, "data": "bad request"}))
            return
        if self._over_rate(conn):
            self._refuse(conn, rid, 509, "exceed max permits per second")
            return
        if kind == "ping":
            if not self.faults.mute_pongs:
                conn.send(json.dumps({"id": str(rid), "type": "pong"}))
            return
        if kind not in ("subscribe", "unsubscribe"):
            conn.send(json.dumps({"id": str(rid), "type": "error", "code": 400, "data": f"unknown type {kind}"}))
            return
        prefix, _, symbols = str(req.get("topic", "")).partition(":")
        allowed = SPOT_TOPICS if conn.market == "spot" else PERP_TOPICS
        natives = symbols.split(",")
        if prefix not in allowed or not all(self.native.get(n) in self.sym and market_of(self.native[n]) == conn.market for n in natives):
            conn.send(json.dumps({"id": str(rid), "type": "error", "code": 404, "data": f"topic {req.get('topic')} is not found"}))
            return
        keys = {f"{prefix}:{n}" for n in natives}
        if kind == "subscribe":
            if len(natives) > MAX_TOPICS_PER_REQUEST:
                self._refuse(conn, rid, 509, f"exceed max subscription count limitation of {MAX_TOPICS_PER_REQUEST} per time")
                return
            if conn.market == "spot" and len(conn.subs | keys) > SPOT_TOPICS_PER_CONNECTION:
                self._refuse(conn, rid, 509, f"exceed max subscription count limitation of {SPOT_TOPICS_PER_CONNECTION} per session")
                return
            conn.subs |= keys
        else:
            conn.subs -= keys
        if req.get("response"):
            conn.send(json.dumps({"id": str(rid), "type": "ack"}))

    # ---- market data ---------------------------------------------------------------------

    def publish(self, update: SimBook | SimFunding) -> None:
        if isinstance(update, SimBook) and market_of(update.instrument) == "perp" and update.instrument in self.by_instrument:
            # The venue's book holds whole contracts; this is the book it shows (in base units).
            size = self.by_instrument[update.instrument].contract_size
            bids, bid_counts = whole_contracts(update.bids, size)
            asks, ask_counts = whole_contracts(update.asks, size)
            if not update.crossed:
                self.contracts[update.instrument] = (bid_counts, ask_counts)
            update = SimBook(update.venue, update.instrument, update.ts_ns, bids, asks, update.crossed)
        super().publish(update)

    def _send(self, key: str, topic: str, subject: str, data: dict[str, object]) -> None:
        conns = self.subscribers(key)
        if conns:
            text = json.dumps({"type": "message", "topic": topic, "subject": subject, "data": data}, separators=(",", ":"))
            for conn in conns:
                conn.send(text)

    def _next_seq(self, inst: str, n: int) -> int:
        """First number of ``n`` new sequence numbers (five skipped when a gap is injected)."""
        first = self.seq[inst] + 1
        if inst in self.faults.skip_seq:
            self.faults.skip_seq.discard(inst)
            first += 5
        self.seq[inst] = first + n - 1
        return first

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        inst = book.instrument
        if inst not in self.live:
            return  # halted, pre-launch or delisted: no data
        native = self.sym[inst]
        ms = book.ts_ns // 1_000_000
        (bp, bs), (ap, as_) = book.bids[0], book.asks[0]
        if market_of(inst) == "spot":
            if prev is not None and not book.crossed:
                bids, asks = diff_levels(prev.bids, book.bids), diff_levels(prev.asks, book.asks)
                n = len(bids) + len(asks)
                if n:
                    first = self._next_seq(inst, n)
                    seqs = iter(range(first, first + n))
                    changes = {"asks": [[fmt(p), fmt(s), str(next(seqs))] for p, s in asks],
                               "bids": [[fmt(p), fmt(s), str(next(seqs))] for p, s in bids]}
                    self._send(f"/market/level2:{native}", f"/market/level2:{native}", "trade.l2update", {
                        "changes": changes, "sequenceEnd": first + n - 1, "sequenceStart": first, "symbol": native, "time": ms})
            self._send(f"/market/ticker:{native}", f"/market/ticker:{native}", "trade.ticker", {
                "bestAsk": fmt(ap), "bestAskSize": fmt(as_), "bestBid": fmt(bp), "bestBidSize": fmt(bs),
                "price": fmt(bp), "sequence": str(self.seq[inst]), "size": "0.001", "time": ms})
            return
        size = self.by_instrument[inst].contract_size
        if prev is not None and not book.crossed:
            level_changes = [(p, s, "buy") for p, s in diff_levels(prev.bids, book.bids)] + [
                (p, s, "sell") for p, s in diff_levels(prev.asks, book.asks)]
            # One change per message, so every intermediate book is visible: removals go first,
            # then every book on the way holds only levels of the new (uncrossed) book.
            level_changes.sort(key=lambda c: c[1] != 0.0)
            key = f"/contractMarket/level2:{native}"
            for p, s, side in level_changes:
                seq = self._next_seq(inst, 1)
                self._send(key, key, "level2", {"sequence": seq, "change": f"{fmt(p)},{side},{round(s / size)}", "timestamp": ms})
        self._send(f"/contractMarket/tickerV2:{native}", f"/contractMarket/tickerV2:{native}", "tickerV2", {
            "symbol": native, "sequence": self.seq[inst], "bestBidSize": round(bs / size), "bestBidPrice": fmt(bp),
            "bestAskPrice": fmt(ap), "bestAskSize": round(as_ / size), "ts": book.ts_ns})

    def on_funding(self, funding: SimFunding) -> None:
        if funding.instrument not in self.live:
            return
        native = self.sym[funding.instrument]
        key = f"/contract/instrument:{native}"
        period_ms = int(self.by_instrument[funding.instrument].funding_interval_hours * 3_600_000)
        self._send(key, key, "funding.rate", {"granularity": period_ms, "fundingRate": round(funding.rate, 10),
                                              "timestamp": funding.ts_ns // 1_000_000})


SERVER = KuCoinSim
