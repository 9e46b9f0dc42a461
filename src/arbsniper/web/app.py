"""The dashboard's web server: the page, its WebSocket, socket.io, the HTTP API, health and metrics.

Routes:
- ``/`` the page (``static/``, no build step), ``/ws`` its WebSocket (batched snapshot + deltas);
- ``/socket.io/`` emitting ``arbitrage:signal`` (the established JSON) for socket.io clients;
- ``/api/opportunities``, ``/api/history?limit=N``, ``/api/venues``, ``/health``, ``/metrics``.

Embedded mode (``arbsniper run``) mounts it on the app's own signal fan-out; distributed mode
(``arbsniper dashboard``) feeds it from Redis. The server binds 127.0.0.1 by default; when a
token is set every request must present it (``?token=`` once, which sets a cookie;
``Authorization: Bearer``; or the cookie).

Before the token, ``HostGate`` stops what a web page the user visits could do: DNS rebinding
(a request naming another host, ``Host: evil.example``, answered by our loopback server) and a
cross-site WebSocket or socket.io connection reading the live feed. Bound to loopback, only
loopback Host names (plus ``web.allowed_hosts``) are answered; ``/ws`` and ``/socket.io/`` accept
only their own origin (plus ``web.allowed_origins``) on every bind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import orjson
import socketio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from arbsniper.bus.inproc import FanOut, Subscription
from arbsniper.config import Config
from arbsniper.history import read_recent
from arbsniper.httpd import HttpServer, ops_routes
from arbsniper.model import Signal
from arbsniper.runtime import run_until_stopped
from arbsniper.web.hub import EngineView, Hub
from arbsniper.web.status import Status

if TYPE_CHECKING:
    from arbsniper.web.pipeline import Pipeline

log = logging.getLogger("arbsniper.web")

STATIC_DIR = Path(__file__).parent / "static"
TOKEN_COOKIE = "arbsniper_token"
HISTORY_MAX = 1000

HistorySource = Callable[[int], Awaitable[list[dict[str, Any]]]]
"""The newest N signals (as JSON objects), newest first: SQLite, Redis or the hub's memory."""


class WebError(Exception):
    """The dashboard cannot start as asked (a wide bind without a token, a busy port)."""


class _Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Anything but loopback needs a token: the page shows what the process sees."""
    if not is_loopback(host) and not token:
        raise WebError(f"--host {host} exposes the dashboard beyond this machine: set a token "
                       "(--token or ARBSNIPER_WEB_TOKEN)")


def _host_name(host_header: str) -> str:
    """``[::1]:8000`` -> ``::1``, ``Localhost:8000`` -> ``localhost``."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class HostGate:
    """Answers only requests naming an allowed host, and WebSockets / socket.io from an allowed origin.

    ``loopback``: the server is bound to loopback, so Host must be a loopback name (a DNS
    rebinding page names its own host) or one of ``allowed_hosts``; on a wider bind an empty
    ``allowed_hosts`` lets any Host through (the token guards it). ``/ws`` and ``/socket.io/``
    need an ``Origin`` equal to the request's own (scheme aside) or listed in ``allowed_origins``:
    a browser always sends it on a WebSocket, so a cross-site page is refused; a non-browser
    client sending none is let through.
    """

    def __init__(self, app: ASGIApp, loopback: bool, allowed_hosts: list[str], allowed_origins: list[str]) -> None:
        self.app = app
        self.loopback = loopback
        self.hosts = {h.lower() for h in allowed_hosts}
        self.origins = {o.lower().rstrip("/") for o in allowed_origins}

    def _host_ok(self, host: str) -> bool:
        name = _host_name(host)
        if name in self.hosts:
            return True
        if self.loopback:
            return bool(name) and is_loopback(name)
        return not self.hosts

    def _origin_ok(self, origin: str, host: str) -> bool:
        o = origin.lower().rstrip("/")
        return o in self.origins or (o != "null" and urlsplit(o).netloc == host.strip().lower())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host, origin = "", None
        for k, v in scope.get("headers", ()):
            if k == b"host":
                host = v.decode("latin-1")
            elif k == b"origin":
                origin = v.decode("latin-1")
        why = ""
        if not self._host_ok(host):
            why = f"Host {host!r} is not served here (web.allowed_hosts)"
        elif ((scope["type"] == "websocket" or scope.get("path", "").startswith("/socket.io"))
              and origin is not None and not self._origin_ok(origin, host)):
            why = f"Origin {origin!r} is not this dashboard (web.allowed_origins)"
        if not why:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})
            return
        body = orjson.dumps({"error": f"forbidden: {why}"})
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class TokenGate:
    """Lets through only HTTP and WebSocket requests that present the token (when one is set)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    def _presented(self, scope: Scope) -> tuple[bytes | None, bool]:
        headers = dict(scope.get("headers") or ())
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            return auth[7:].strip(), False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            return query["token"][0].encode(), True
        raw = headers.get(b"cookie")
        if raw:
            cookie: SimpleCookie = SimpleCookie()
            with contextlib.suppress(CookieError):
                cookie.load(raw.decode("latin-1"))
            if TOKEN_COOKIE in cookie:
                return cookie[TOKEN_COOKIE].value.encode(), False
        return None, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        presented, via_query = self._presented(scope)
        if presented is not None and hmac.compare_digest(presented, self.token):
            if via_query and scope["type"] == "http":
                cookie = f"{TOKEN_COOKIE}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict".encode()

                async def send_with_cookie(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
                    await send(message)

                await self.app(scope, receive, send_with_cookie)
            else:
                await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b'{"error":"unauthorized: present the token (?token=, Authorization: Bearer, or the cookie)"}'
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})


def memory_history(hub: Hub) -> HistorySource:
    """Recent signals from the hub itself, when nothing stores them."""

    async def recent(limit: int) -> list[dict[str, Any]]:
        rows = list(hub.recent)[-limit:]
        rows.reverse()
        return rows

    return recent


def sqlite_history(path: Path) -> HistorySource:
    """Recent signals from the embedded SQLite history, read in a worker thread."""

    async def recent(limit: int) -> list[dict[str, Any]]:
        try:
            signals = await asyncio.to_thread(read_recent, path, limit)
        except FileNotFoundError:
            return []
        return [msgspec.to_builtins(s) for s in signals]

    return recent


def create_app(hub: Hub, status: Status, history: HistorySource, *, token: str | None = None,
               bind_host: str = "127.0.0.1") -> ASGIApp:
    """The dashboard as one ASGI app (Starlette routes + socket.io), behind the host / origin gate
    and the token gate if set."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"cache-control": "no-cache"})

    async def opportunities(request: Request) -> Response:
        now = time.time_ns() // 1_000_000
        rows = hub.open_rows(now)
        return _Json({"now": now, "count": len(rows), "opportunities": rows})

    async def history_route(request: Request) -> Response:
        raw = request.query_params.get("limit", "100")
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= HISTORY_MAX:
            return _Json({"error": f"limit must be an integer within 1..{HISTORY_MAX}"}, status_code=400)
        rows = await history(limit)
        return _Json({"count": len(rows), "signals": rows})

    async def venues(request: Request) -> Response:
        now_ns = time.time_ns()
        available = hub.market is not None
        return _Json({
            "now": now_ns // 1_000_000,
            "mode": hub.mode,
            "available": available,
            "venues": hub.market.venues(now_ns) if hub.market is not None else [],
        })

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        client = hub.connect()

        async def writer() -> None:
            while True:
                messages = await client.next_messages()
                if not messages:
                    return
                for text in messages:
                    await websocket.send_text(text)

        async def reader() -> None:
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await websocket.receive_text()  # the page sends nothing we need

        tasks = [asyncio.create_task(writer()), asyncio.create_task(reader())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hub.disconnect(client)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if tasks[0] in done:  # the hub closed it (shutdown), or sending failed
            with contextlib.suppress(Exception):
                await websocket.close()

    routes = [
        Route("/", index),
        Route("/api/opportunities", opportunities),
        Route("/api/history", history_route),
        Route("/api/venues", venues),
        *ops_routes(status.health, status.registry),
        WebSocketRoute("/ws", ws),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    starlette = Starlette(routes=routes)

    sio = socketio.AsyncServer(async_mode="asgi", logger=False, engineio_logger=False)
    connected: set[str] = set()

    async def emit(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            await sio.emit("arbitrage:signal", row)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        connected.add(sid)
        hub.signal_listener = emit

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        connected.discard(sid)
        if not connected:
            hub.signal_listener = None

    app: ASGIApp = socketio.ASGIApp(sio, other_asgi_app=starlette, socketio_path="socket.io")
    if token:
        app = TokenGate(app, token)
    web = hub.web
    return HostGate(app, is_loopback(bind_host), list(web.allowed_hosts), list(web.allowed_origins))


class WebServer:
    """The dashboard's ``HttpServer``, bound up front so a busy port or bad host fails at start."""

    def __init__(self, asgi: ASGIApp, host: str, port: int) -> None:
        try:
            self.http = HttpServer(asgi, host, port, timeout_graceful_shutdown=3)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise WebError(f"cannot listen on {host}:{port}: {reason} "
                           "(another port: --port N, any free one: --port 0, none: --no-web)") from None
        self.host = host
        self.port = self.http.port

    @property
    def url(self) -> str:
        return self.http.url

    async def serve(self, hub: Hub, sub: Subscription[Signal]) -> None:
        """Serve while the subscription is open; then push the last changes and stop."""
        await self.http.start()
        flusher = asyncio.create_task(hub.run(), name="web:hub")
        try:
            await hub.consume(sub)
            hub.flush(with_state=True)  # the final closes reach the page
            await asyncio.sleep(0.05)
        finally:
            flusher.cancel()
            hub.close_clients()
            await self.http.stop(10.0)
            with contextlib.suppress(asyncio.CancelledError):
                await flusher


def pipeline_counters(pipeline: Pipeline) -> dict[str, Any]:
    """The embedded pipeline's figures for the page's counter bar."""
    s = pipeline.stats()
    engine: dict[str, Any] = s["engine"]
    market: dict[str, float] = s["market_queue"]
    queues: dict[str, dict[str, float]] = s["signal_queues"]
    return {
        "events": engine["events"],
        "market_dropped": market["dropped"],
        "market_drop_rate": round(market["drop_rate"], 4),
        "signal_dropped": sum(q["dropped"] for q in queues.values()),
        "out_of_order": engine["out_of_order"],
        "crossed": engine["crossed"],
        "suspect": engine["suspect"],
    }


def mount_embedded(pipeline: Pipeline, host: str, port: int, token: str | None) -> WebServer:
    """Serve the dashboard from the embedded pipeline: its own signal queue, its engine's state."""
    check_bind(host, token)
    cfg = pipeline.config

    def pnl() -> Any:
        return pipeline.pnl() if pipeline.pnl is not None else None

    hub = Hub(mode="embedded", web=cfg.web, detector=cfg.detector, market=EngineView(pipeline.engine, cfg.bases),
              stats=lambda: pipeline_counters(pipeline), pnl=pnl)
    status = Status(hub, pipeline=pipeline)
    history = sqlite_history(pipeline.history_file) if pipeline.history_enabled else memory_history(hub)
    server = WebServer(create_app(hub, status, history, token=token, bind_host=host), host, port)
    pipeline.add_consumer("web", lambda sub: server.serve(hub, sub))
    log.info("dashboard at %s", server.url)
    return server


class Dashboard:
    """``arbsniper dashboard``: the page and alerts for signals that distributed engines publish to Redis."""

    def __init__(self, config: Config, *, host: str, port: int, token: str | None, redis_url: str | None = None,
                 prefix: str | None = None) -> None:
        from arbsniper.alerts import Alerter
        from arbsniper.web.redis_source import RedisSignals

        check_bind(host, token)
        redis = config.redis if prefix is None else msgspec.structs.replace(config.redis, prefix=prefix)
        self.source = RedisSignals(redis, url=redis_url)
        self.bus: FanOut[Signal] = FanOut(config.bus.signal_capacity)
        self.hub = Hub(mode="distributed", web=config.web, detector=config.detector)
        self.alerter = Alerter(config.alerts) if config.alerts.urls else None
        self.status = Status(self.hub, source=self.source, alerter=self.alerter)
        self.server = WebServer(create_app(self.hub, self.status, self.source.recent, token=token, bind_host=host),
                                host, port)
        self.url = self.server.url
        self._stop = asyncio.Event()
        log.info("dashboard at %s (signals from %s)", self.url, self.source.stats()["url"])

    def stop(self) -> None:
        """Ask a running ``run()`` to shut down cleanly, as SIGINT would."""
        self._stop.set()

    async def run(self, duration: float | None = None) -> int:
        """Serve until ``duration`` elapses, ``stop()`` or SIGINT/SIGTERM; then shut down cleanly."""
        consumers = [asyncio.create_task(self.server.serve(self.hub, self.bus.subscribe("web")), name="web")]
        if self.alerter is not None:
            consumers.append(asyncio.create_task(self.alerter.consume(self.bus.subscribe("alerts")), name="alerts"))
        reader = asyncio.create_task(self.source.run(self.bus.publish, self.hub.apply_batch), name="redis")
        return await run_until_stopped([reader], consumers, duration=duration, stop=self._stop,
                                       drain=self._drain, close=self.source.close)

    async def _drain(self) -> None:
        self.bus.close()  # the web server and the alerter see the end of their queues
