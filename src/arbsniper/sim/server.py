"""The simulator's server side: local WebSocket (+ REST) servers that speak a venue's protocol.

One ``SimVenueServer`` subclass per venue (``sim/binance.py`` …) serves every market of that
venue on one local WebSocket port and one REST port (aiohttp); the first path segment names the
market, the rest is the venue's own path. Connectors are pointed at it with ``base_url = server.base_url`` (which carries the
``{market}`` placeholder that ``Venue`` fills in) and ``rest_url = server.rest_url``:

    ws://127.0.0.1:PORT/spot/stream?streams=btcusdt@bookTicker   (Binance spot)
    http://127.0.0.1:RESTPORT/perp/fapi/v1/depth?symbol=BTCUSDT  (Binance USD-M REST)

Servers are driven by ``publish(update)`` with the synthetic market's ``SimBook`` /
``SimFunding`` updates and turn them into the venue's own messages (BBO, L2 snapshot + deltas
with sequence ids / checksums, funding). Requests on the REST port go to ``rest``. Sends are synchronous (picows), so one publish costs no task and no await.

Faults are injected on request: ``drop_connections``, ``faults.mute_pongs`` (stop answering
pings), ``faults.silent`` (send nothing: a half-open socket), ``faults.delay_s``,
``skip_sequence``, ``corrupt_checksum``, ``send_garbage``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import picows
from aiohttp import web

from arbsniper.instruments import parse_instrument
from arbsniper.sim.synthetic import Listing, SimBook, SimFunding

Levels = list[tuple[float, float]]


@dataclass(slots=True)
class Faults:
    """Switches a test or ``arbsniper simulate`` flips to misbehave on purpose."""

    mute_pongs: bool = False  # ignore client pings and send no server pings
    silent: bool = False  # send nothing at all (data, pings, pongs): a half-open connection
    delay_s: float = 0.0  # hold every outgoing message this long
    skip_seq: set[str] = field(default_factory=set)  # instruments whose next L2 update skips a sequence id
    bad_checksum: set[str] = field(default_factory=set)  # instruments whose next L2 update has a wrong checksum


class SimConnection:
    """One client connection: its market, request path and query, and its subscriptions."""

    __slots__ = ("server", "market", "path", "query", "transport", "subs", "seq", "state")

    def __init__(self, server: SimVenueServer, market: str, path: str, query: dict[str, list[str]]) -> None:
        self.server = server
        self.market = market
        self.path = path
        self.query = query
        self.transport: picows.WSTransport | None = None
        self.subs: set[str] = set()  # venue-specific channel keys
        self.seq = 0  # per-connection message counter, for venues that number per connection
        self.state: dict[str, object] = {}  # per-venue per-connection extras

    def send(self, text: str | bytes) -> None:
        """Send a text frame, honouring the silent and delay faults."""
        t = self.transport
        if t is None or not writable(t):
            return
        faults = self.server.faults
        if faults.silent:
            return
        data = text.encode() if isinstance(text, str) else text
        self.server.frames_sent += 1
        if faults.delay_s > 0:
            asyncio.get_running_loop().call_later(faults.delay_s, _send_later, t, data)
        else:
            t.send(picows.WSMsgType.TEXT, data)

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Close with a close frame, or cut the TCP connection when ``code`` is None."""
        t = self.transport
        if t is None:
            return
        if code is None or not writable(t):  # no close frame to a client already gone
            t.disconnect(graceful=False)
        else:
            t.send_close(picows.WSCloseCode(code), reason.encode())
            t.disconnect()


def writable(t: picows.WSTransport) -> bool:
    """Still connected: a client that went away (its run stopped) is not written to, which would
    make the socket layer warn "write() called after connection lost". ``is_disconnected`` alone
    is not enough: it turns true only when the loss is delivered (a later loop turn), while the
    socket transport is already closing; a venue streaming frames (Paradex) writes in between."""
    return not t.is_disconnected and not t.underlying_transport.is_closing()


def _send_later(t: picows.WSTransport, data: bytes) -> None:
    if writable(t):
        t.send(picows.WSMsgType.TEXT, data)


class _Listener(picows.WSListener):
    def __init__(self, conn: SimConnection) -> None:
        super().__init__()
        self.conn = conn

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        conn = self.conn
        conn.transport = transport
        server = conn.server
        server.connections.add(conn)
        server.connections_total += 1
        server.on_connect(conn)

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        conn = self.conn
        server = conn.server
        mt = frame.msg_type
        if mt is picows.WSMsgType.TEXT:
            server.messages_received.append(frame.get_payload_as_utf8_text())
            server.on_message(conn, server.messages_received[-1])
        elif mt is picows.WSMsgType.PING:
            server.pings_received += 1
            if not (server.faults.mute_pongs or server.faults.silent) and writable(transport):
                transport.send_pong(frame.get_payload_as_bytes())
        elif mt is picows.WSMsgType.PONG:
            server.pongs_received += 1
        elif mt is picows.WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        self.conn.server.connections.discard(self.conn)


class SimVenueServer:
    """Base of one venue's protocol server; subclasses implement the venue's messages."""

    venue: ClassVar[str]
    markets: ClassVar[tuple[str, ...]]
    server_ping_interval_s: ClassVar[float | None] = None  # protocol pings from the server side
    has_sequence: ClassVar[bool] = True  # L2 messages carry sequence ids (skip_sequence works)
    has_checksum: ClassVar[bool] = False  # L2 messages carry a checksum (corrupt_checksum works)
    has_pings: ClassVar[bool] = True  # the client pings and the venue answers (protocol or JSON): mute_pongs works
    timer_interval_s: ClassVar[float | None] = None  # on_timer() period (venue heartbeat messages)

    def __init__(self, listings: Iterable[Listing], host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.listings = [lst for lst in listings if lst.venue == self.venue]
        self.faults = Faults()
        self.connections: set[SimConnection] = set()
        self.connections_total = 0
        self.pings_received = 0
        self.pongs_received = 0
        self.frames_sent = 0
        self.messages_received: list[str] = []
        self.rest_requests: list[str] = []
        self.books: dict[str, SimBook] = {}  # instrument -> the last book published
        self.fundings: dict[str, SimFunding] = {}
        self._server: asyncio.Server | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self.rest_port = 0
        self._rest_runner: web.AppRunner | None = None

    # ---- life cycle ---------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        self._server = await picows.ws_create_server(self._factory, self.host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        # REST on a port of its own (aiohttp): real HTTP, bodies included (Hyperliquid POSTs /info).
        app = web.Application()
        app.router.add_route("*", "/{market}/{path:.*}", self._http)
        self._rest_runner = web.AppRunner(app, access_log=None)
        await self._rest_runner.setup()
        await web.TCPSite(self._rest_runner, self.host, 0).start()
        self.rest_port = self._rest_runner.addresses[0][1]
        if self.server_ping_interval_s:
            self._pinger = asyncio.create_task(self._ping_loop(self.server_ping_interval_s))
        if self.timer_interval_s:
            self._timer = asyncio.create_task(self._timer_loop(self.timer_interval_s))

    async def stop(self) -> None:
        if self._rest_runner is not None:
            await self._rest_runner.cleanup()
            self._rest_runner = None
        for task in (self._pinger, self._timer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for conn in list(self.connections):
            conn.close(None)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    @property
    def base_url(self) -> str:
        """WebSocket base URL for connectors (``{market}`` is filled in by ``Venue``)."""
        return f"ws://{self.host}:{self.port}/{{market}}"

    @property
    def rest_url(self) -> str:
        """REST base URL for connectors (``{market}`` filled in by ``Venue``)."""
        return f"http://{self.host}:{self.rest_port}/{{market}}"

    async def _http(self, request: web.Request) -> web.Response:
        market = request.match_info["market"]
        self.rest_requests.append(f"{request.method} {request.path_qs}")
        if market not in self.markets:
            return web.Response(status=404, text='{"error":"not found"}', content_type="application/json")
        query = {k: request.query.getall(k) for k in request.query}
        body = await request.read()
        status, text = self.rest(request.method, market, "/" + request.match_info["path"], query, body)
        return web.Response(status=status, text=text, content_type="application/json")

    async def _ping_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self.faults.mute_pongs or self.faults.silent:
                continue
            for conn in list(self.connections):
                if conn.transport is not None and writable(conn.transport):
                    conn.transport.send_ping(b"sim")

    async def _timer_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.on_timer()

    def _factory(self, request: picows.WSUpgradeRequest) -> picows.WSListener | picows.WSUpgradeResponseWithListener | None:
        split = urlsplit(request.path.decode())
        parts = split.path.split("/", 2)  # "", market, rest
        market = parts[1] if len(parts) > 1 else ""
        rest_path = "/" + (parts[2] if len(parts) > 2 else "")
        query = parse_qs(split.query)
        if market not in self.markets:
            return None
        return _Listener(SimConnection(self, market, rest_path, query))

    # ---- what subclasses implement --------------------------------------------------------

    def on_connect(self, conn: SimConnection) -> None:
        """A client connected (welcome messages, URL-borne subscriptions)."""

    def on_message(self, conn: SimConnection, text: str) -> None:
        """A text frame from a client: subscribe, unsubscribe, ping …"""

    def on_timer(self) -> None:
        """Called every ``timer_interval_s`` (e.g. Coinbase's 1/s heartbeats messages)."""

    def rest(self, method: str, market: str, path: str, query: dict[str, list[str]], body: bytes = b"") -> tuple[int, str]:
        """A REST request (on ``rest_port``): method, market, the venue's own path, query, body; (status, JSON body)."""
        return 404, '{"error":"not found"}'

    def on_book(self, book: SimBook, prev: SimBook | None) -> None:
        """Turn a new book of one listing into the venue's BBO and L2 messages."""

    def on_funding(self, funding: SimFunding) -> None:
        """Turn a funding update into the venue's funding message."""

    # ---- driving and faults -------------------------------------------------------------

    def publish(self, update: SimBook | SimFunding) -> None:
        """Feed one synthetic-market update to every subscribed client."""
        if isinstance(update, SimBook):
            prev = self.books.get(update.instrument)
            if not update.crossed:
                self.books[update.instrument] = update
            self.on_book(update, prev)
        else:
            self.fundings[update.instrument] = update
            self.on_funding(update)

    def subscribers(self, key: str) -> list[SimConnection]:
        return [c for c in self.connections if key in c.subs]

    def drop_connections(self, code: int | None = 1001, reason: str = "simulated drop") -> None:
        """Close every client: with a close frame (``code``) or by cutting TCP (``None``)."""
        for conn in list(self.connections):
            conn.close(code, reason)

    def send_garbage(self, data: str = "\x00garbage{not json") -> None:
        for conn in list(self.connections):
            conn.send(data)

    def skip_sequence(self, instrument: str) -> None:
        self.faults.skip_seq.add(instrument)

    def corrupt_checksum(self, instrument: str) -> None:
        self.faults.bad_checksum.add(instrument)


# ---- helpers for venue servers ----------------------------------------------------------------


def market_of(instrument: str) -> str:
    return "perp" if parse_instrument(instrument).is_perp else "spot"


def fmt(x: float) -> str:
    """A decimal string as venues send them: no exponent, no trailing zeros."""
    if not math.isfinite(x):
        return "0"
    s = f"{x:.10f}".rstrip("0").rstrip(".")
    return s or "0"


def fmt_levels(levels: Levels) -> list[tuple[str, str]]:
    """Levels as the (price, size) strings a venue sends: what OKX and Bitget checksum."""
    return [(fmt(p), fmt(s)) for p, s in levels]


def diff_levels(old: Levels, new: Levels) -> Levels:
    """Level changes that turn side ``old`` into ``new``: removed prices get size 0."""
    new_map = dict(new)
    out: Levels = [(p, 0.0) for p, _ in old if p not in new_map]
    old_map = dict(old)
    out.extend((p, s) for p, s in new if old_map.get(p) != s)
    return out
