"""The live executor through real ccxt, its HTTP answered by a local server speaking Binance's REST API.

``BinanceRest`` is a small but real HTTP server (aiohttp, on 127.0.0.1) implementing the parts of
Binance's spot REST API the executor uses, as Binance documents them: ``exchangeInfo`` with
PRICE_FILTER / LOT_SIZE filters, ``POST /api/v3/order`` (HMAC-SHA256 signed, LIMIT IOC and
MARKET, ``newOrderRespType=FULL`` with per-level fills, buyer commission in the base asset, IOC
remainders ``EXPIRED``), ``GET /api/v3/order`` by ``origClientOrderId``, ``myTrades``, ``account``,
and its error bodies (``-2010`` insufficient balance, ``-2013`` unknown order). It checks the API
key header and the signature with the secret, and matches orders against its own book. ccxt is
pointed at it through its ``urls`` (``live.point_at``); nothing inside ccxt is replaced.

Two such servers stand in for two venues (the second under the venue name "okx"): only Binance's
REST dialect is exercised here; no other venue's ccxt class is.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from urllib.parse import parse_qsl

import ccxt.async_support as ccxt_async
import pytest
from aiohttp import web

from arbsniper.config import VenueConfig  # noqa: E402
from arbsniper.trading.ledger import Ledger  # noqa: E402
from arbsniper.trading.live import LiveExecutor, point_at  # noqa: E402
from arbsniper.trading.market import EngineMarketView  # noqa: E402
from arbsniper.trading.orders import BUY, DRY_RUN, EXPIRED, FILLED, REJECTED, SELL, OrderRequest  # noqa: E402
from arbsniper.trading.portfolio import CLOSED  # noqa: E402
from arbsniper.trading.risk import KillSwitch  # noqa: E402
from arbsniper.trading.runner import Runner  # noqa: E402
from tests.unit.trading_kit import Clock, Market, make_config, settle, signal

KEY = "test-key-7d1"
SECRET = "test-secret-3f9a0c"
COMMISSION = 0.001  # 10 bps, Binance's base tier


class BinanceRest:
    """A Binance spot REST server for one account, matching orders against its own book."""

    def __init__(self, books: dict[str, dict[str, list[list[float]]]], balances: dict[str, float]) -> None:
        self.books = books  # "BTCUSDT" -> {"bids": [[p, q], ...], "asks": [...]}
        self.balances = dict(balances)
        self.orders: dict[str, dict] = {}  # clientOrderId -> order
        self.trades: list[dict] = []
        self.posted: list[dict[str, str]] = []
        self.fail_after_execute: set[str] = set()  # client ids whose response is lost (HTTP 503)
        self.bad_signatures = 0
        self._ids = 1000
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self.exchange_info)
        app.router.add_get("/fapi/v1/exchangeInfo", self.empty_info)
        app.router.add_get("/dapi/v1/exchangeInfo", self.empty_info)
        app.router.add_post("/api/v3/order", self.new_order)
        app.router.add_get("/api/v3/order", self.query_order)
        app.router.add_get("/api/v3/myTrades", self.my_trades)
        app.router.add_get("/api/v3/account", self.account)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _error(code: int, msg: str, status: int = 400) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=status)

    def _signed(self, request: web.Request, raw: str) -> dict[str, str] | None:
        if request.headers.get("X-MBX-APIKEY") != KEY:
            return None
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            self.bad_signatures += 1
            return None
        return dict(parse_qsl(payload))

    @staticmethod
    def _assets(symbol: str) -> tuple[str, str]:
        return symbol[:-4], symbol[-4:]  # BTCUSDT -> BTC, USDT

    def _order_json(self, o: dict, fills: bool) -> dict:
        out = {k: v for k, v in o.items() if k != "fills"}
        if fills:
            out["fills"] = o["fills"]
        return out

    # -- endpoints ---------------------------------------------------------------------------
    async def exchange_info(self, request: web.Request) -> web.Response:
        symbols = []
        for sym in self.books:
            base, quote = self._assets(sym)
            symbols.append({
                "symbol": sym, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
                "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
                "icebergAllowed": True, "ocoAllowed": True, "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False, "permissions": [], "permissionSets": [["SPOT"]],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00100", "maxQty": "9000.00000", "stepSize": "0.00100"},
                    {"filterType": "NOTIONAL", "minNotional": "5.00", "applyMinToMarket": True,
                     "maxNotional": "9000000.00", "applyMaxToMarket": False, "avgPriceMins": 5},
                ],
            })
        return web.json_response({"timezone": "UTC", "serverTime": int(time.time() * 1000), "rateLimits": [],
                                  "exchangeFilters": [], "symbols": symbols})

    async def empty_info(self, request: web.Request) -> web.Response:
        return web.json_response({"timezone": "UTC", "serverTime": int(time.time() * 1000), "symbols": []})

    async def new_order(self, request: web.Request) -> web.Response:
        p = self._signed(request, await request.text())
        if p is None:
            return self._error(-1022, "Signature for this request is not valid.", 401)
        self.posted.append(p)
        cid = p["newClientOrderId"]
        if cid in self.orders:
            return self._error(-2010, "Duplicate order sent.")
        sym, side, otype = p["symbol"], p["side"], p["type"]
        qty = float(p["quantity"])
        limit = float(p["price"]) if otype == "LIMIT" else None
        base, quote = self._assets(sym)
        levels = self.books[sym]["asks" if side == "BUY" else "bids"]
        worst = limit if limit is not None else (float("inf") if side == "BUY" else 0.0)
        # Balance check for the whole order at its worst acceptable price, as a venue does.
        if side == "BUY":
            need = qty * (worst if limit is not None else max(px for px, _ in levels))
            if self.balances.get(quote, 0.0) < need:
                return self._error(-2010, "Account has insufficient balance for requested action.")
        elif self.balances.get(base, 0.0) < qty:
            return self._error(-2010, "Account has insufficient balance for requested action.")
        fills, left = [], qty
        for level in levels:
            px, avail = level
            if left <= 1e-12 or (px > worst if side == "BUY" else px < worst):
                break
            take = min(avail, left)
            level[1] = avail - take
            left -= take
            self._ids += 1
            commission = take * COMMISSION if side == "BUY" else take * px * COMMISSION
            fills.append({"price": f"{px:.2f}", "qty": f"{take:.5f}", "commission": f"{commission:.8f}",
                          "commissionAsset": base if side == "BUY" else quote, "tradeId": self._ids})
            if side == "BUY":
                self.balances[base] = self.balances.get(base, 0.0) + take - commission
                self.balances[quote] -= take * px
            else:
                self.balances[base] -= take
                self.balances[quote] = self.balances.get(quote, 0.0) + take * px - commission
        self.books[sym]["asks" if side == "BUY" else "bids"] = [lv for lv in levels if lv[1] > 1e-12]
        executed = qty - left
        self._ids += 1
        now = int(time.time() * 1000)
        order = {
            "symbol": sym, "orderId": self._ids, "orderListId": -1, "clientOrderId": cid, "transactTime": now,
            "price": f"{limit or 0:.2f}", "origQty": f"{qty:.5f}", "executedQty": f"{executed:.5f}",
            "cummulativeQuoteQty": f"{sum(float(f['price']) * float(f['qty']) for f in fills):.8f}",
            "status": "FILLED" if left <= 1e-12 else "EXPIRED", "timeInForce": p.get("timeInForce", "GTC"),
            "type": otype, "side": side, "workingTime": now, "selfTradePreventionMode": "NONE", "fills": fills,
        }
        self.orders[cid] = order
        for f in fills:
            self.trades.append({"symbol": sym, "id": f["tradeId"], "orderId": order["orderId"], "orderListId": -1,
                                "price": f["price"], "qty": f["qty"],
                                "quoteQty": f"{float(f['price']) * float(f['qty']):.8f}",
                                "commission": f["commission"], "commissionAsset": f["commissionAsset"], "time": now,
                                "isBuyer": side == "BUY", "isMaker": False, "isBestMatch": True})
        if cid in self.fail_after_execute:
            return web.Response(status=503, text="Service Unavailable")  # executed, but the answer is lost
        return web.json_response(self._order_json(order, fills=True))

    async def query_order(self, request: web.Request) -> web.Response:
        p = self._signed(request, request.query_string)
        if p is None:
            return self._error(-1022, "Signature for this request is not valid.", 401)
        order = self.orders.get(p.get("origClientOrderId", ""))
        if order is None:
            return self._error(-2013, "Order does not exist.")
        return web.json_response(self._order_json(order, fills=False))

    async def my_trades(self, request: web.Request) -> web.Response:
        p = self._signed(request, request.query_string)
        if p is None:
            return self._error(-1022, "Signature for this request is not valid.", 401)
        return web.json_response([t for t in self.trades if t["symbol"] == p["symbol"]
                                  and str(t["orderId"]) == p.get("orderId", str(t["orderId"]))])

    async def account(self, request: web.Request) -> web.Response:
        p = self._signed(request, request.query_string)
        if p is None:
            return self._error(-1022, "Signature for this request is not valid.", 401)
        return web.json_response({"makerCommission": 10, "takerCommission": 10, "canTrade": True,
                                  "accountType": "SPOT", "permissions": ["SPOT"],
                                  "balances": [{"asset": a, "free": f"{x:.8f}", "locked": "0.00000000"}
                                               for a, x in self.balances.items()]})


def _exchange(url: str) -> ccxt_async.binance:
    ex = ccxt_async.binance({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
    ex.options["fetchCurrencies"] = False
    ex.options["fetchMargins"] = False
    ex.options["fetchMarkets"] = {"types": ["spot"]}
    point_at(ex, url)
    return ex


@pytest.fixture
async def venues():
    a = BinanceRest({"BTCUSDT": {"bids": [[99.9, 0.5], [99.5, 2.0]], "asks": [[100.0, 1.0], [100.4, 2.0]]}},
                    {"USDT": 10_000.0, "BTC": 2.0})
    b = BinanceRest({"BTCUSDT": {"bids": [[101.0, 0.5], [100.8, 2.0]], "asks": [[101.1, 2.0]]}},
                    {"USDT": 10_000.0, "BTC": 2.0})
    await a.start()
    await b.start()
    executor = LiveExecutor({"binance": _exchange(a.url), "okx": _exchange(b.url)}, dry_run=False, out=None)
    yield a, b, executor
    await executor.close()
    await a.stop()
    await b.stop()


def _runner(tmp_path, a: BinanceRest, b: BinanceRest, executor: LiveExecutor) -> tuple[Runner, Clock]:
    """A runner whose market view holds the same books the two servers will match against."""
    clock = Clock(time.time_ns())
    config = make_config(tmp_path, inventory={"default": {"USDT": 10_000.0, "BTC": 2.0}})
    m = Market(config, clock)
    for venue, srv in (("binance", a), ("okx", b)):
        book = srv.books["BTCUSDT"]
        m.book(venue, "BTC/USDT", [tuple(x) for x in book["bids"]], [tuple(x) for x in book["asks"]])
    runner = Runner(config, executor, EngineMarketView(m.engine), Ledger(tmp_path / "trading-live.sqlite"),
                    kill=KillSwitch(tmp_path / "trading.halt"), out=None, clock_ns=clock)
    return runner, clock


async def test_both_legs_fill_on_the_venues_and_the_ledger_books_their_fills_and_fees(tmp_path, venues):
    a, b, executor = venues
    runner, clock = _runner(tmp_path, a, b, executor)
    await runner.start()
    trade = await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT", 100.0, 101.0, 1.2))
    await settle(runner)
    assert trade.status == CLOSED and trade.close_reason == "completed"
    # What went over the wire: LIMIT IOC at the signal's price ± 50 bps on the 0.01 tick, never worse:
    # buy 100 × 1.005 = 100.5; sell 101 × 0.995 = 100.495, rounded up to 100.5.
    assert [(p["side"], p["type"], p["timeInForce"], p["quantity"], p["price"]) for p in a.posted + b.posted] == [
        ("BUY", "LIMIT", "IOC", "1.2", "100.5"), ("SELL", "LIMIT", "IOC", "1.2", "100.5")]
    assert a.bad_signatures == b.bad_signatures == 0
    fills = runner.ledger.fills(trade.id)
    # binance: 1 @ 100 + 0.2 @ 100.4, commission in BTC (0.001 and 0.0002); okx: 0.5 @ 101 + 0.7 @ 100.8 in USDT
    assert [(f["venue"], f["price"], f["qty"], f["fee"], f["fee_ccy"]) for f in fills] == [
        ("binance", 100.0, 1.0, pytest.approx(0.001), "BTC"), ("binance", 100.4, 0.2, pytest.approx(0.0002), "BTC"),
        ("okx", 101.0, 0.5, pytest.approx(0.0505), "USDT"), ("okx", 100.8, 0.7, pytest.approx(0.07056), "USDT")]
    # The ledger's balances move exactly as the venues' did.
    for venue, srv in (("binance", a), ("okx", b)):
        for asset in ("BTC", "USDT"):
            assert runner.portfolio.balance(venue, asset) == pytest.approx(srv.balances[asset], abs=1e-9)
    # pnl: 121.06 − 120.08 − fees (0.0012 BTC valued at the fill prices: 0.1 + 0.02008; 0.12106)
    assert trade.realized == pytest.approx(0.98 - 0.12008 - 0.12106)
    await runner.stop()


async def test_live_ledger_starts_from_the_balances_the_venues_report(tmp_path, venues):
    a, b, executor = venues
    b.balances["BTC"] = 0.25
    runner, _ = _runner(tmp_path, a, b, executor)
    await runner.start()
    got = {(x["venue"], x["asset"]): x["start"] for x in runner.ledger.balances()}
    assert got == {("binance", "BTC"): 2.0, ("binance", "USDT"): 10_000.0, ("okx", "BTC"): 0.25,
                   ("okx", "USDT"): 10_000.0}
    await runner.stop()


async def test_partial_fill_on_one_venue_is_unwound_at_market_on_the_other(tmp_path, venues):
    a, b, executor = venues
    b.books["BTCUSDT"]["bids"] = [[101.0, 0.5], [100.0, 2.0]]  # only 0.5 within the sell limit
    runner, clock = _runner(tmp_path, a, b, executor)
    await runner.start()
    trade = await runner.on_signal(signal(clock, "binance", "okx", "BTC/USDT", 100.0, 101.0, 1.2))
    await settle(runner)
    assert trade.status == CLOSED and trade.close_reason == "unwound"
    assert b.orders[b.posted[0]["newClientOrderId"]]["status"] == "EXPIRED"  # IOC remainder cancelled
    unwind = a.posted[1]
    # 1.2 bought, 0.5 sold on okx: the other 0.7 sold back at market. (The 0.0012 BTC commission is
    # a cost, valued at the fill price in the trade's fees, not an exposure to unwind.)
    assert (unwind["side"], unwind["type"], unwind["quantity"]) == ("SELL", "MARKET", "0.7")
    assert trade.leg_pnl < 0
    await runner.stop()


async def test_response_lost_after_execution_is_resolved_by_asking_the_venue(venues):
    a, _, executor = venues
    a.fail_after_execute.add("lost-1")
    r = await executor.execute(OrderRequest("lost-1", 1, "binance", "BTC/USDT", BUY, 0.5, 100.5))
    assert r.status == FILLED
    assert [(f.price, f.qty, f.fee_ccy) for f in r.fills] == [(100.0, 0.5, "BTC")]
    assert len(a.posted) == 1  # asked, not re-sent


async def test_recover_after_a_crash_finds_the_fills_by_client_id_or_expires_the_order(venues):
    _, _, executor = venues
    r = await executor.execute(OrderRequest("c-1", 1, "binance", "BTC/USDT", SELL, 1.0, 99.0))
    assert r.status == FILLED  # 0.5 @ 99.9 and 0.5 @ 99.5, both within the 99.0 limit
    assert [(f.price, f.qty) for f in r.fills] == [(99.9, 0.5), (99.5, 0.5)]
    rec = await executor.recover(OrderRequest("c-1", 1, "binance", "BTC/USDT", SELL, 1.0, 99.0))
    assert [(f.price, f.qty) for f in rec.fills] == [(f.price, f.qty) for f in r.fills]
    missing = await executor.recover(OrderRequest("never-sent", 1, "binance", "BTC/USDT", BUY, 1.0, 100.0))
    assert (missing.status, missing.reason) == (EXPIRED, "not_received")


async def test_insufficient_balance_is_a_rejection_with_the_venues_reason(venues):
    a, _, executor = venues
    r = await executor.execute(OrderRequest("big-1", 1, "binance", "BTC/USDT", SELL, 5.0, 99.0))
    assert r.status == REJECTED and "InsufficientFunds" in r.reason
    assert r.fills == []


async def test_dry_run_prints_the_rounded_orders_and_sends_nothing(tmp_path):
    srv = BinanceRest({"BTCUSDT": {"bids": [[99.9, 1.0]], "asks": [[100.0, 1.0]]}}, {"USDT": 100.0})
    await srv.start()
    out = io.StringIO()
    config = make_config(tmp_path)
    config = type(config)(data_dir=config.data_dir, trading=config.trading,
                          venues={"binance": VenueConfig(rest_url=srv.url)})
    environ = {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}
    executor = LiveExecutor.from_config(config, ["binance"], dry_run=True, environ=environ, out=out)
    try:
        r = await executor.execute(OrderRequest("d-1", 7, "binance", "BTC/USDT", BUY, 0.123456, 100.123456))
    finally:
        await executor.close()
        await srv.stop()
    assert r.status == DRY_RUN and r.fills == []
    line = out.getvalue()
    assert line.startswith("DRY-RUN ORDER ")
    spec = json.loads(line[len("DRY-RUN ORDER "):])
    assert (spec["symbol"], spec["type"], spec["side"], spec["amount"], spec["price"]) == (
        "BTC/USDT", "limit", "buy", 0.123, 100.12)
    assert spec["params"] == {"clientOrderId": "d-1", "timeInForce": "IOC"}
    assert srv.posted == []
    assert KEY not in line and SECRET not in line


def test_live_without_keys_in_the_environment_refuses_to_start(tmp_path):
    with pytest.raises(ValueError, match="BINANCE_API_KEY"):
        LiveExecutor.from_config(make_config(tmp_path), ["binance"], dry_run=False, environ={})
