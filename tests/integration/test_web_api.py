"""The dashboard server end to end: a real uvicorn serving the embedded app, real HTTP/WebSocket/socket.io
clients, and (for ``arbsniper dashboard``) a real redis-server.

The market is two hand-made quotes, so every number is checked against arithmetic done here:
binance BTC/USDT 100 / 101 (1.0 each side), okx 102 / 103 (2.0 each side). Buy binance at 101,
sell okx at 102: spread (102 − 101) / 101 × 10⁴ = 99.0099 bps; fees 10 + 10 (spot base tiers);
no L2 book, so slippage is the configured 3 bps; net 76.0099 bps; size min(1.0 ask, 2.0 bid) = 1.0;
profit 76.0099e-4 × 1.0 × 101 = 0.767700 USDT; confidence 20 + 50 × min(99.0/50, 1) = 70.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis
import socketio

from arbsniper.app import App
from arbsniper.cli import main
from arbsniper.config import Config
from arbsniper.instruments import SymbolMap
from arbsniper.model import MarketEvent, Quote, Signal, signal_to_json
from arbsniper.venues.base import EventSink
from arbsniper.web.app import Dashboard, WebError, check_bind

SPREAD = (102.0 - 101.0) / 101.0 * 1e4
NET = SPREAD - 20.0 - 3.0


class ScriptedSource:
    """Market events handed over by the test, pushed the way a venue connector pushes them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[MarketEvent] = asyncio.Queue()

    async def run(self, sink: EventSink) -> None:
        while True:
            sink(await self.queue.get())


@dataclass
class Embedded:
    app: App
    source: ScriptedSource
    url: str
    binance: int
    okx: int
    btc: int

    def quote(self, venue: int, bid: float, ask: float, size: float, seq: int) -> None:
        now = time.time_ns()
        self.source.queue.put_nowait(Quote(venue, self.btc, bid, size, ask, size, now, now, seq))


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 10.0) -> Any:
    """Poll ``check`` until it returns something truthy (a wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def start_embedded(tmp_path: Path, token: str | None = None) -> tuple[Embedded, asyncio.Task[int]]:
    symbols = SymbolMap()
    binance, okx = symbols.venue_id("binance"), symbols.venue_id("okx")
    btc = symbols.instrument_id("BTC/USDT")
    source = ScriptedSource()
    app = App(Config(data_dir=str(tmp_path)), [source], symbols, human_out=None)
    url = app.add_dashboard("127.0.0.1", 0, token)
    task = asyncio.create_task(app.run())
    return Embedded(app, source, url, binance, okx, btc), task


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Embedded]:
    env, task = await start_embedded(tmp_path)
    try:
        yield env
    finally:
        env.app.stop()
        assert await asyncio.wait_for(task, 15) == 0


async def get_json(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_api_reports_open_opportunity_venues_history_health_and_metrics(embedded: Embedded) -> None:
    e = embedded
    e.quote(e.binance, 100.0, 101.0, 1.0, 1)
    e.quote(e.okx, 102.0, 103.0, 2.0, 1)
    async with aiohttp.ClientSession() as http:

        async def one_open() -> Any:
            _, body = await get_json(http, e.url + "api/opportunities")
            return body if body["count"] == 1 else None

        body = await until(one_open, "the opportunity in /api/opportunities")
        [opp] = body["opportunities"]
        assert (opp["type"], opp["event"], opp["action"]) == ("ARBITRAGE_OPPORTUNITY", "open", "BUY_BINANCE_SELL_OKX")
        assert (opp["symbol"], opp["buy_exchange"], opp["sell_exchange"]) == ("BTC/USDT", "binance", "okx")
        assert (opp["buy_price"], opp["sell_price"], opp["profit_estimate"]) == (101.0, 102.0, 1.0)
        assert opp["spread_bps"] == pytest.approx(99.00990099)
        assert opp["spread_pct"] == 0.9901
        assert (opp["fees_bps"], opp["slippage_bps"], opp["funding_bps"]) == (20.0, 3.0, 0.0)
        assert opp["net_bps"] == pytest.approx(76.00990099)
        assert opp["size"] == 1.0
        assert opp["profit_quote"] == pytest.approx(0.76770000)
        assert opp["confidence"] == 70.0
        assert opp["opened_at"] == opp["timestamp"]
        assert 0 <= opp["age_ms"] <= body["now"] - opp["timestamp"]

        status, venues = await get_json(http, e.url + "api/venues")
        assert status == 200 and venues["mode"] == "embedded" and venues["available"] is True
        by_name = {v["venue"]: v for v in venues["venues"]}
        assert sorted(by_name) == ["binance", "okx"]
        for v in by_name.values():
            assert (v["state"], v["markets"], v["listings"], v["fresh"], v["open_legs"]) == ("up", {"spot": True}, 1, 1, 1)

        async def history_row() -> Any:
            _, h = await get_json(http, e.url + "api/history?limit=5")
            return h if h["count"] >= 1 else None

        hist = await until(history_row, "the open signal in the SQLite history")
        assert [(s["id"], s["event"]) for s in hist["signals"]] == [(opp["id"], "open")]
        for bad in ("0", "1001", "ten"):
            status, err = await get_json(http, e.url + f"api/history?limit={bad}")
            assert status == 400 and "1..1000" in err["error"]

        status, health = await get_json(http, e.url + "health")
        assert status == 200 and health["status"] == "ok" and health["mode"] == "embedded"
        assert health["messages"]["quotes"] == 2
        assert health["signals"] == {"opened": 1, "updated": 0, "closed": 0}
        assert health["engine"]["open"] == 1
        assert health["venues"]["okx"]["state"] == "up"
        assert set(health["queues"]["signals"]) == {"history", "web"}

        async with http.get(e.url + "metrics") as resp:
            assert resp.status == 200 and resp.headers["content-type"].startswith("text/plain")
            text = await resp.text()
        assert 'arbsniper_signals_total{event="open"} 1.0' in text
        assert 'arbsniper_market_events_total{kind="quotes"} 2.0' in text
        assert 'arbsniper_venue_up{market="spot",venue="binance"} 1.0' in text
        assert "arbsniper_open_opportunities 1.0" in text

        async with http.get(e.url) as resp:
            page = await resp.text()
            assert resp.status == 200 and 'id="open"' in page and 'id="matrix"' in page
        async with http.get(e.url + "static/dashboard.js") as resp:
            assert resp.status == 200 and "WebSocket" in await resp.text()


async def test_websocket_sends_snapshot_then_the_close_with_its_reason(embedded: Embedded) -> None:
    e = embedded
    e.quote(e.binance, 100.0, 101.0, 1.0, 1)
    e.quote(e.okx, 102.0, 103.0, 2.0, 1)
    async with aiohttp.ClientSession() as http:
        await until(lambda: _count(http, e.url), "the opportunity to open")
        async with http.ws_connect(e.url.replace("http", "ws") + "ws") as ws:
            snap = orjson.loads(await ws.receive_str())
            assert snap["type"] == "snapshot" and snap["config"]["mode"] == "embedded"
            [row] = snap["open"]
            assert (row["buy_exchange"], row["sell_exchange"], row["net_bps"]) == ("binance", "okx", pytest.approx(NET))
            assert snap["state"]["matrix"]["instruments"] == ["BTC/USDT"]
            assert snap["state"]["matrix"]["venues"] == ["binance", "okx"]
            # okx's bid falls to 101.05: (101.05 − 101) / 101 = 4.95 bps < min_spread_bps 10
            e.quote(e.okx, 101.05, 102.0, 2.0, 2)
            while True:
                msg = orjson.loads(await asyncio.wait_for(ws.receive_str(), 10))
                if msg.get("closed"):
                    break
            [closed] = msg["closed"]
            assert (closed["id"], closed["event"], closed["close_reason"]) == (row["id"], "close", "spread_gone")
            assert closed["duration_ms"] >= 0 and closed["opened_at"] == row["opened_at"]
            assert msg["remove"] == [row["id"]]


async def _count(http: aiohttp.ClientSession, url: str) -> int:
    _, body = await get_json(http, url + "api/opportunities")
    return int(body["count"])


async def test_socketio_clients_receive_arbitrage_signal_in_the_established_format(embedded: Embedded) -> None:
    e = embedded
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sio = socketio.AsyncClient()
    sio.on("arbitrage:signal", received.put_nowait)
    await sio.connect(e.url.rstrip("/"), transports=["websocket"])
    try:
        e.quote(e.binance, 100.0, 101.0, 1.0, 1)
        e.quote(e.okx, 102.0, 103.0, 2.0, 1)
        sig = await asyncio.wait_for(received.get(), 10)
    finally:
        await sio.disconnect()
    assert (sig["type"], sig["event"], sig["action"], sig["symbol"]) == (
        "ARBITRAGE_OPPORTUNITY", "open", "BUY_BINANCE_SELL_OKX", "BTC/USDT")
    assert (sig["buy_price"], sig["sell_price"], sig["spread_pct"]) == (101.0, 102.0, 0.9901)
    assert isinstance(sig["timestamp"], int) and isinstance(sig["detected_at"], int)


async def test_token_guards_http_websocket_and_sets_a_cookie(tmp_path: Path) -> None:
    e, task = await start_embedded(tmp_path, token="s3cret-token")
    try:
        # unsafe=True: keep cookies set by an IP-address host, as browsers do
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            status, err = await get_json(http, e.url + "api/opportunities")
            assert status == 401 and "token" in err["error"]
            async with http.get(e.url + "health", headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
            async with http.get(e.url + "health", headers={"Authorization": "Bearer s3cret-token"}) as resp:
                assert resp.status == 200
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(e.url.replace("http", "ws") + "ws")
            async with http.get(e.url + "?token=s3cret-token") as resp:
                assert resp.status == 200
                assert "HttpOnly" in resp.headers["set-cookie"]
            # the page's own requests now carry the cookie
            status, _ = await get_json(http, e.url + "api/venues")
            assert status == 200
            async with http.ws_connect(e.url.replace("http", "ws") + "ws") as ws:
                assert orjson.loads(await ws.receive_str())["type"] == "snapshot"
    finally:
        e.app.stop()
        assert await asyncio.wait_for(task, 15) == 0


def test_binding_beyond_loopback_needs_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("localhost", None)
    check_bind("0.0.0.0", "tok")
    with pytest.raises(WebError, match="set a token"):
        check_bind("0.0.0.0", None)
    monkeypatch.delenv("ARBSNIPER_WEB_TOKEN", raising=False)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # the CLI installs its own; put ours back after
    monkeypatch.setattr(root, "level", root.level)
    assert main(["run", "--demo", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path)]) == 2
    assert "--host 0.0.0.0 exposes the dashboard" in capsys.readouterr().err


# -- distributed mode: arbsniper dashboard reading a real redis-server ----------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A real redis-server on a fixed free port, which a test may stop and start again."""

    def __init__(self, exe: str, port: int, workdir: Path) -> None:
        self.exe, self.port, self.workdir = exe, port, workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(exe, _free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_signal(event: str, oid: str, ts: int, net: float, reason: str | None = None) -> Signal:
    return Signal(
        action="BUY_BYBIT_SELL_OKX", symbol="ETH/USDT:USDT", spread_pct=round((net + 15.0) / 100, 4),
        buy_price=3400.0, sell_price=3410.0, profit_estimate=10.0, timestamp=ts, detected_at=ts - 2, id=oid,
        event=event, buy_exchange="bybit", sell_exchange="okx", spread_bps=net + 15.0, fees_bps=10.5,
        slippage_bps=4.5, funding_bps=0.0, net_bps=net, size=1.5, profit_quote=net / 1e4 * 1.5 * 3400.0,
        confidence=60.0, latency_us=7.0, close_reason=reason, duration_ms=900 if reason else 0,
        buy_instrument="ETH/USDT:USDT", sell_instrument="ETH/USDT:USDT", quote_currency="USDT",
    )


@pytest.mark.redis
async def test_dashboard_shows_redis_history_and_published_signals(redis_server: RedisServer, tmp_path: Path) -> None:
    redis_url = redis_server.url
    r = aioredis.Redis.from_url(redis_url)
    now = time.time_ns() // 1_000_000
    # what an engine left in the history before the dashboard started: one finished, one still open
    history = [make_signal("open", "done", now - 5000, 30.0), make_signal("close", "done", now - 4100, 30.0, "spread_gone"),
               make_signal("open", "still", now - 3000, 25.0)]
    await r.zadd("{signals}:history", {signal_to_json(s): s.timestamp for s in history})
    dash = Dashboard(Config(data_dir=str(tmp_path)), host="127.0.0.1", port=0, token=None, redis_url=redis_url)
    task = asyncio.create_task(dash.run())
    try:
        async with aiohttp.ClientSession() as http:

            async def open_ids() -> list[str]:
                _, body = await get_json(http, dash.url + "api/opportunities")
                return [o["id"] for o in body["opportunities"]]

            assert await until(open_ids, "the history's open opportunity") == ["still"]
            assert [(c["id"], c["close_reason"]) for c in dash.hub.closed] == [("done", "spread_gone")]

            live = make_signal("open", "live", now, 41.0)
            await until(lambda: _publish(r, live), "a subscriber on arbitrage:signals")
            assert sorted(await until(lambda: _two(open_ids), "the published signal")) == ["live", "still"]
            _, body = await get_json(http, dash.url + "api/opportunities")
            assert [o["id"] for o in body["opportunities"]] == ["live", "still"]  # best net first: 41 > 25

            _, hist = await get_json(http, dash.url + "api/history?limit=2")
            assert [(s["id"], s["event"]) for s in hist["signals"]] == [("still", "open"), ("done", "close")]

            _, health = await get_json(http, dash.url + "health")
            assert health["mode"] == "distributed" and health["status"] == "ok"
            assert health["redis"]["connected"] is True
            assert (health["redis"]["seeded"], health["redis"]["received"]) == (3, 1)
            _, venues = await get_json(http, dash.url + "api/venues")
            assert (venues["available"], venues["venues"]) == (False, [])
    finally:
        dash.stop()
        assert await asyncio.wait_for(task, 15) == 0
        await r.aclose()


async def _publish(r: aioredis.Redis, s: Signal) -> int:
    return int(await r.publish("arbitrage:signals", signal_to_json(s)))


async def _two(open_ids: Callable[[], Awaitable[list[str]]]) -> list[str] | None:
    ids = await open_ids()
    return ids if len(ids) == 2 else None


@pytest.mark.redis
async def test_dashboard_survives_a_redis_restart_and_resumes(redis_server: RedisServer, tmp_path: Path) -> None:
    dash = Dashboard(Config(data_dir=str(tmp_path)), host="127.0.0.1", port=0, token=None, redis_url=redis_server.url)
    task = asyncio.create_task(dash.run())
    now = time.time_ns() // 1_000_000
    try:
        async with aiohttp.ClientSession() as http:

            async def redis_state(connected: bool) -> bool:
                _, health = await get_json(http, dash.url + "health")
                return health["redis"]["connected"] is connected and health["status"] == ("ok" if connected else "degraded")

            await until(lambda: redis_state(True), "the first subscription")
            redis_server.stop()
            await until(lambda: redis_state(False), "the dashboard to notice Redis is gone")
            redis_server.start()  # empty: no history survives (--save "")
            await until(lambda: redis_state(True), "the resubscription", timeout=20)
            r = aioredis.Redis.from_url(redis_server.url)
            try:
                await until(lambda: _publish(r, make_signal("open", "after", now, 33.0)), "a subscriber again")
            finally:
                await r.aclose()

            async def open_ids() -> list[str]:
                _, body = await get_json(http, dash.url + "api/opportunities")
                return [o["id"] for o in body["opportunities"]]

            assert await until(open_ids, "the signal published after the restart") == ["after"]
            assert dash.source.reconnects >= 1
    finally:
        dash.stop()
        assert await asyncio.wait_for(task, 15) == 0
