"""The one WebSocket session every venue runs on: connect, subscribe, keep alive, resync, reconnect.

A ``VenueSession`` wraps one ``Venue`` (one venue market, one connection) and is a
``MarketSource``: ``await session.run(sink)`` pushes normalized events until cancelled.

- Client: ``picows``. Measured with ``tools/ws_client_bench.py`` on this machine (200k
  Binance-sized frames from a local server): picows ~220-250k frames/s, ``websockets`` ~18k
  frames/s end to end. picows also calls us back per frame synchronously, which is what the hot
  path wants (no await, no task per message), and hands us control frames so heartbeats are
  ours to answer exactly as each venue requires.
- Frames are parsed inside the picows callback and the events go straight into the sink; bad
  frames are counted and skipped, and a warning naming the last one goes out at most every
  ``warn_interval_s`` from the watchdog, never from the frame path.
- A watchdog task per connection sends heartbeats, notices a silent connection or a missing pong
  (reconnect), rolls the connection before the venue's lifetime limit, and logs.
- Each frame's ``Parsed`` says what to do besides passing events on: resync some books (tasks:
  a REST snapshot when the venue has one, else the venue's resubscribe frames, else a
  reconnect), reconnect now, or note a pong. The session keeps its own last-pong time and reads
  nothing of a venue but its public methods.
- HTTP (REST snapshots, KuCoin's token handshake before each connection) goes through
  ``rest.py``: the venue describes the request and parses the answer.
- Subscribe requests go out through a ``Pacer``: spaced under the venue's messages per second
  (one pacer shared by every connection of a venue whose rate counts per IP: Coinbase,
  Hyperliquid) and counted against its per-connection hourly budget (OKX 480, Bitget 240); a
  spent budget means a new connection (a fresh budget) rather than a refused request.
- Reconnects back off exponentially with jitter; the back-off resets once a connection has
  stayed up ``stable_after_s``. Status events: UP on connect, DOWN with the reason on loss, so
  the engine stops counting a down venue's quotes at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
import picows

from arbsniper.logs import RateLimited
from arbsniper.model import DOWN, HALTED, RESYNCING, UP, Book, MarketEvent, VenueStatus
from arbsniper.venues import rest
from arbsniper.venues.base import EventSink, FrameError, Heartbeat, RestRequest, Venue

log = logging.getLogger("arbsniper.venues")
logging.getLogger("picows").setLevel(logging.WARNING)  # per-connection INFO lines are noise here


class FrameTap(Protocol):
    """Receives everything a session receives, as received (``arbsniper record``)."""

    def frame(self, venue: str, market: str, recv_ns: int, text: str | bytes) -> None:
        """A text frame as ``str``; a binary frame (Paradex SBE) as the ``bytes`` received."""
        ...

    def rest(self, venue: str, market: str, recv_ns: int, path: str, body: str) -> None: ...

    def status(self, venue: str, market: str, recv_ns: int, state: str, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential back-off with jitter between connection attempts."""

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5  # each delay is scaled by uniform(1 - jitter, 1)
    stable_after_s: float = 30.0  # a connection that lived this long resets the back-off

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt number ``attempt`` (1-based) of a run of failures."""
        base = min(self.max_s, self.initial_s * self.factor ** max(0, attempt - 1))
        return base * rng.uniform(1.0 - self.jitter, 1.0)


class Pacer:
    """Spaces client requests under a venue's limits: ``per_s`` a second, ``per_hour`` an hour.

    ``reserve`` hands out send slots in order, so several coroutines (or several connections
    sharing a per-IP pacer) never send closer than ``1 / per_s`` apart. The hourly budget is per
    connection on the venues that have one: ``reset`` on each new connection.
    """

    def __init__(self, per_s: float, per_hour: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.gap = 1.0 / per_s if per_s > 0 else 0.0
        self.per_hour = per_hour
        self.clock = clock
        self._next = 0.0
        self._hour: deque[float] = deque()

    def reset(self) -> None:
        """A new connection: a whole hourly budget again."""
        self._hour.clear()

    def hour_left(self) -> int | None:
        """Requests left in the last hour's budget (None: the venue has no hourly budget)."""
        if not self.per_hour:
            return None
        now = self.clock()
        while self._hour and now - self._hour[0] >= 3600.0:
            self._hour.popleft()
        return self.per_hour - len(self._hour)

    def reserve(self) -> float | None:
        """Claim the next send slot: seconds to wait before sending, or None when the hour's budget is spent."""
        left = self.hour_left()
        if left is not None and left <= 0:
            return None
        now = self.clock()
        at = max(now, self._next)
        self._next = at + self.gap
        if self.per_hour:
            self._hour.append(at)
        return at - now


_IP_PACERS: dict[str, Pacer] = {}  # per-IP message rates, by venue name (every connection of the process)


def ip_pacer(venue: Venue) -> Pacer | None:
    """The pacer shared by every connection of ``venue`` when its rate limit counts per IP, else None."""
    limits = getattr(type(venue), "subscription_limits", None)
    if limits is None or not limits.rate_per_ip:
        return None
    pacer = _IP_PACERS.get(venue.name)
    if pacer is None:
        pacer = _IP_PACERS[venue.name] = Pacer(venue.max_messages_per_s)
    return pacer


@dataclass(slots=True)
class SessionStats:
    """Counters of one session, for /health, metrics and tests."""

    frames: int = 0
    bytes: int = 0
    events: int = 0
    bad_frames: int = 0
    connects: int = 0
    reconnects: int = 0
    resyncs: int = 0
    pings_sent: int = 0
    pongs_sent: int = 0
    state: str = "down"
    last_down_reason: str = ""
    last_bad_frame: str = ""
    down_reasons: list[str] = field(default_factory=list)


class _Listener(picows.WSListener):
    """picows callbacks: everything that happens per frame happens here, synchronously."""

    __slots__ = ("session", "parts", "binary")

    def __init__(self, session: VenueSession) -> None:
        super().__init__()
        self.session = session
        self.parts: list[bytes] | None = None
        self.binary = False  # the message being reassembled from continuation frames is binary

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        s = self.session
        mt = frame.msg_type
        now = time.time_ns()
        s.last_frame_ns = now
        if mt is picows.WSMsgType.TEXT or mt is picows.WSMsgType.BINARY:
            binary = mt is picows.WSMsgType.BINARY
            if not frame.fin:
                self.parts = [frame.get_payload_as_bytes()]
                self.binary = binary
                return
            s.on_data(frame.get_payload_as_bytes(), now, binary)
            if frame.last_in_buffer and s._books:
                s._flush_books()  # the end of this socket read: coalesced depth goes to the engine now
        elif mt is picows.WSMsgType.CONTINUATION:
            if self.parts is None:
                return
            self.parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                data, self.parts = b"".join(self.parts), None
                s.on_data(data, now, self.binary)
                if frame.last_in_buffer and s._books:
                    s._flush_books()
        elif mt is picows.WSMsgType.PING:
            # Answer with a copy of the payload, as Binance and Paradex require (not on a closing socket).
            if not transport.underlying_transport.is_closing():
                transport.send_pong(frame.get_payload_as_bytes())
                s.stats.pongs_sent += 1
        elif mt is picows.WSMsgType.PONG:
            s.last_pong_ns = now
        elif mt is picows.WSMsgType.CLOSE:
            s.close_reason = f"closed by server (code {frame.get_close_code().value} {frame.get_close_reason()!r})"
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if self.session.close_reason is None:
            self.session.close_reason = "connection lost"


class VenueSession:
    """One venue market over one WebSocket connection, reconnected for ever until cancelled."""

    def __init__(
        self,
        venue: Venue,
        *,
        policy: ReconnectPolicy | None = None,
        tap: FrameTap | None = None,
        seed: int | None = None,
        warn_interval_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.venue = venue
        self.policy = policy or ReconnectPolicy()
        self.tap = tap
        # What the tap calls this connection's market: "spot", or "spot#1", "spot#2" … for the
        # further connections of one venue market (set by ConnectorSource), so a replay keeps them apart.
        self.tap_market = venue.market
        self.rng = random.Random(seed)
        self.warn_interval_s = warn_interval_s
        self.connect_timeout_s = connect_timeout_s
        self.heartbeat = heartbeat or venue.heartbeat()  # tests shorten the venue's intervals
        self._heartbeat_fixed = heartbeat is not None
        self.stats = SessionStats()
        self.last_frame_ns = 0
        self.last_pong_ns = 0  # the venue's last answer to our heartbeat, this connection
        self.close_reason: str | None = None
        self._sink: EventSink = _discard
        self._books: dict[int, Book] = {}  # depth waiting for the end of the current socket read
        self._flush_scheduled = False
        self._transport: picows.WSTransport | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._resync_inflight: set[int] = set()
        self._resync_last: dict[int, float] = {}
        self._resync_reason: dict[int, str] = {}  # why each pending resync was asked for (logged)
        self._warned_bad = 0
        self._warned_at = 0.0
        self._connect_warn = RateLimited(log, 60.0)  # failed connection attempts, at most once a minute
        self._label = f"{venue.name} {venue.market}"
        limits = getattr(type(venue), "subscription_limits", None)
        # Per connection: the venue's messages per second (unless counted per IP) and hourly budget.
        self._ip_pacer = ip_pacer(venue)
        self.pacer = Pacer(0.0 if self._ip_pacer else venue.max_messages_per_s,
                           limits.max_requests_per_hour if limits is not None else 0)

    # ---- the frame path ------------------------------------------------------------------

    def on_data(self, data: bytes, recv_ns: int, binary: bool = False) -> None:
        """Parse one complete frame (text, or binary: ``parse_binary``) and push its events; never raises."""
        st = self.stats
        st.frames += 1
        st.bytes += len(data)
        venue = self.venue
        try:
            parsed = venue.parse_binary(data, recv_ns) if binary else venue.parse(data, recv_ns)
        except FrameError as exc:
            st.bad_frames += 1
            st.last_bad_frame = str(exc)
            return
        except Exception as exc:  # a parser bug must not stop the loop either
            st.bad_frames += 1
            st.last_bad_frame = f"{type(exc).__name__}: {exc}"
            return
        finally:
            if self.tap is not None:
                self.tap.frame(venue.name, self.tap_market, recv_ns, data if binary else data.decode("utf-8", "replace"))
        events = parsed.events
        if events:
            st.events += len(events)
            sink = self._sink
            for ev in events:
                if type(ev) is Book:
                    # Depth coalesces per socket read: a venue that sends one message per level
                    # change (KuCoin) yields one book per instrument, not one per message. The
                    # listener flushes at the read's last frame; call_soon is the fallback.
                    self._books[ev.instrument] = ev
                    if not self._flush_scheduled:
                        self._flush_scheduled = True
                        asyncio.get_running_loop().call_soon(self._flush_books)
                else:
                    if type(ev) is VenueStatus:
                        if self._books:
                            self._flush_books()  # a status never overtakes the depth that preceded it
                        if ev.state == RESYNCING:
                            self._resync_reason[ev.instrument] = ev.reason
                    sink(ev)
        if parsed.pong:
            self.last_pong_ns = recv_ns
        if parsed.resyncs:
            self._start_resyncs(parsed.resyncs)
        if parsed.reconnect and self._transport is not None:
            self.close_reason = parsed.reconnect
            self._transport.disconnect()

    def _flush_books(self) -> None:
        self._flush_scheduled = False
        books, self._books = self._books, {}
        if books and self.tap is not None:
            mark = getattr(self.tap, "mark", None)  # a replay holds depth exactly as long
            if mark is not None:
                mark("books", time.time_ns(), self.venue.name, self.tap_market)
        sink = self._sink
        for book in books.values():
            sink(book)

    def _emit(self, events: Sequence[MarketEvent]) -> None:
        for ev in events:
            if type(ev) is Book:
                self._books.pop(ev.instrument, None)  # this one (a snapshot) is newer than any pending
            self._sink(ev)
        self.stats.events += len(events)

    # ---- the connection loop ---------------------------------------------------------------

    async def run(self, sink: EventSink) -> None:
        """Connect, stream and reconnect until cancelled."""
        self._sink = sink
        failures = 0
        try:
            while True:
                started = time.monotonic()
                reason, rolled = await self._connect_once()
                self._set_down(reason)
                if rolled:
                    failures = 0
                    continue
                lived = time.monotonic() - started
                failures = 1 if lived >= self.policy.stable_after_s else failures + 1
                delay = self.policy.delay(failures, self.rng)
                if self.stats.state == "down" and reason.startswith("connect failed"):
                    # Never connected, or failing again: say so (a firewall must not look like a quiet market).
                    self._connect_warn.warning("connect", f"{self._label}: cannot connect",
                                               reason=reason, attempts=failures, retry_in_s=f"{delay:.1f}")
                await asyncio.sleep(delay)
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # a cancellation some await swallowed
                    raise asyncio.CancelledError
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._transport is not None:
                self._transport.disconnect(graceful=False)
                self._transport = None
            if self._http is not None:
                await self._http.close()
                self._http = None

    def _set_down(self, reason: str) -> None:
        st = self.stats
        st.last_down_reason = reason
        st.down_reasons.append(reason)
        del st.down_reasons[:-50]
        if st.state != "down":
            st.state = "down"
            now_ns = time.time_ns()
            if self.tap is not None:
                self.tap.status(self.venue.name, self.tap_market, now_ns, "down", reason)
            self._emit([self.venue.status(DOWN, reason, now_ns)])
            log.warning("%s: down: %s", self._label, reason)

    async def _connect_once(self) -> tuple[str, bool]:
        """One connection from attempt to loss; returns (why it ended, was it a lifetime roll)."""
        venue = self.venue
        self.close_reason = None
        try:
            handshake = venue.handshake()
            if handshake is not None:
                venue.on_handshake(await self._fetch(handshake))
            if not self._heartbeat_fixed:
                self.heartbeat = venue.heartbeat()  # KuCoin's ping rule comes with each token
            url = venue.ws_url()
            # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancellation that arrives
            # as the connect completes, and the cancelled session would go on reconnecting.
            async with asyncio.timeout(self.connect_timeout_s):
                transport, _ = await picows.ws_connect(
                    lambda: _Listener(self),
                    url,
                    enable_auto_pong=False,
                    websocket_handshake_timeout=self.connect_timeout_s,
                    max_frame_size=64 * 1024 * 1024,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return f"connect failed: {type(exc).__name__}: {exc}", False
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # cancelled while a library call swallowed it
            transport.disconnect(graceful=False)
            raise asyncio.CancelledError
        self._transport = transport
        st = self.stats
        st.connects += 1
        if st.connects > 1:
            st.reconnects += 1
        now_ns = time.time_ns()
        self.last_frame_ns = now_ns
        self.last_pong_ns = 0
        self._resync_inflight.clear()
        self.pacer.reset()
        if self.tap is not None:
            record_meta = getattr(self.tap, "metadata", None)  # a recording keeps the units its frames are in
            if record_meta is not None and st.connects == 1 and venue.metadata:
                record_meta(venue.name, self.tap_market, now_ns, list(venue.metadata.values()))
            self.tap.status(venue.name, self.tap_market, now_ns, "up", "connected")
        st.state = "up"
        # The connection first, then what the venue says of each instrument (awaiting its book).
        started = venue.on_connected(now_ns)
        self._emit([venue.status(UP, "connected", now_ns), *started.events])
        if started.resyncs:
            self._start_resyncs(started.resyncs)
        log.info("%s: connected to %s", self._label, url)
        sub = asyncio.create_task(self._send_paced(venue.subscribe_messages()))
        self._tasks.add(sub)
        sub.add_done_callback(self._tasks.discard)
        try:
            return await self._watch(transport)
        finally:
            sub.cancel()
            for task in list(self._tasks):
                task.cancel()
            transport.disconnect(graceful=False)
            self._transport = None

    async def _send_paced(self, messages: list[str]) -> None:
        """Send requests through the pacers; a spent hourly budget rolls the connection (a new budget)."""
        for msg in messages:
            wait = self.pacer.reserve()
            if wait is None:
                if self._transport is not None:
                    self.close_reason = f"hourly request budget spent ({self.pacer.per_hour}/h): new connection"
                    self._transport.disconnect()
                return
            if self._ip_pacer is not None:
                wait = max(wait, self._ip_pacer.reserve() or 0.0)
            if wait > 0:
                await asyncio.sleep(wait)
            self.send(msg)

    def unsubscribe(self, instrument: str, reason: str) -> int | None:
        """Stop watching one instrument the venue halted or delisted (cold path): unsubscribe it on
        the live connection where the venue has the messages, drop it from later connections, and
        tell the engine (``VenueStatus(HALTED)``) so what is open on it closes. Its id, or None."""
        venue = self.venue
        if instrument not in venue.instruments:
            return None
        iid = venue.symbols.instrument_id(instrument)
        messages = venue.unsubscribe_messages(iid)
        if messages and self._transport is not None:
            # Through the pacers: unsubscribes count against the same rate and hourly budget.
            task = asyncio.get_running_loop().create_task(self._send_paced(messages))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        venue.remove_instrument(instrument)
        self._books.pop(iid, None)
        log.warning("%s: %s unsubscribed: %s", self._label, instrument, reason)
        self._emit([VenueStatus(venue.venue_id, HALTED, reason, time.time_ns(), venue.kind, iid)])
        return iid

    def send(self, text: str) -> None:
        """Send one text frame on the current connection (dropped when there is none, or when it is
        closing: its loss reaches ``is_disconnected`` a loop turn after the socket closed)."""
        t = self._transport
        if t is not None and not t.is_disconnected and not t.underlying_transport.is_closing():
            t.send(picows.WSMsgType.TEXT, text.encode())

    async def _watch(self, transport: picows.WSTransport) -> tuple[str, bool]:
        venue = self.venue
        hb = self.heartbeat
        timeout_ns = int(hb.timeout_s * 1e9)
        interval_ns = int(hb.interval_s * 1e9) if hb.interval_s > 0 else 0
        tick = max(0.02, min(1.0, (hb.interval_s or hb.timeout_s) / 5, hb.timeout_s / 5))
        connected_ns = time.time_ns()
        lifetime_ns = int(venue.lifetime_s * 1e9)
        sends_pings = hb.mode in ("client-ping", "text", "json")
        last_ping_ns = connected_ns
        ping_pending_since = 0
        disconnected = asyncio.ensure_future(transport.wait_disconnected())
        try:
            while True:
                done, _ = await asyncio.wait((disconnected,), timeout=tick)
                if done:
                    return self.close_reason or "connection lost", False
                now = time.time_ns()
                self._maybe_warn()
                if now - connected_ns >= lifetime_ns:
                    return f"lifetime roll after {venue.lifetime_s:.0f}s", True
                if now - self.last_frame_ns > timeout_ns:
                    return f"no frame for {hb.timeout_s:g}s", False
                if sends_pings:
                    if ping_pending_since and self.last_pong_ns >= ping_pending_since:
                        ping_pending_since = 0
                    if ping_pending_since and now - ping_pending_since > timeout_ns:
                        return f"no pong within {hb.timeout_s:g}s", False
                    # A closing socket gets no ping: its loss reaches ``disconnected`` next turn.
                    if now - last_ping_ns >= interval_ns and not transport.underlying_transport.is_closing():
                        last_ping_ns = now
                        if not ping_pending_since:
                            ping_pending_since = now
                        if hb.mode == "client-ping":
                            transport.send_ping(hb.payload.encode() if hb.payload else None)
                        else:
                            transport.send(picows.WSMsgType.TEXT, hb.payload.encode())
                        self.stats.pings_sent += 1
        finally:
            disconnected.cancel()

    def _maybe_warn(self) -> None:
        st = self.stats
        if st.bad_frames == self._warned_bad:
            return
        now = time.monotonic()
        if now - self._warned_at < self.warn_interval_s:
            return
        log.warning(
            "%s: %d bad frame(s) skipped since last report (total %d); last: %s",
            self._label, st.bad_frames - self._warned_bad, st.bad_frames, st.last_bad_frame,
        )
        self._warned_bad = st.bad_frames
        self._warned_at = now

    # ---- resync ----------------------------------------------------------------------------

    def _start_resyncs(self, instrument_ids: Iterable[int]) -> None:
        for iid in instrument_ids:
            if iid in self._resync_inflight:
                continue
            self._resync_inflight.add(iid)
            task = asyncio.get_running_loop().create_task(self._resync(iid))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _resync(self, iid: int) -> None:
        venue = self.venue
        self.stats.resyncs += 1
        try:
            # At most one resync of an instrument per second: a book that keeps breaking must
            # not turn into a request storm (venues ban for that).
            last = self._resync_last.get(iid, 0.0)
            wait = last + 1.0 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._resync_last[iid] = time.monotonic()
            log.info("%s: resyncing %s (%s)", self._label, venue.native_of(iid), self._resync_reason.pop(iid, "requested"))
            path = venue.snapshot_path(iid)
            if path is not None:
                await self._rest_snapshot(iid, path)
                return
            messages = venue.resubscribe_messages(iid)
            if messages:
                await self._send_paced(messages)
            elif self._transport is not None:
                self.close_reason = f"resync of {venue.native_of(iid)} by reconnect"
                self._transport.disconnect()
        finally:
            self._resync_inflight.discard(iid)

    async def _fetch(self, request: RestRequest) -> bytes:
        """One HTTP request through the session's client (opened on first use)."""
        if self._http is None:
            self._http = rest.client()
        return await rest.fetch(self._http, request)

    async def _rest_snapshot(self, iid: int, path: str) -> None:
        venue = self.venue
        url = venue.rest_endpoint() + path
        for attempt in range(1, 6):
            try:
                body = await self._fetch(RestRequest("GET", url))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s: snapshot %s failed (%s), retrying", self._label, url, exc)
                await asyncio.sleep(self.policy.delay(attempt, self.rng))
                continue
            recv_ns = time.time_ns()
            if self.tap is not None:
                self.tap.rest(venue.name, self.tap_market, recv_ns, path, body.decode("utf-8", "replace"))
            try:
                parsed = venue.apply_snapshot(iid, body, recv_ns)
            except Exception as exc:  # a rejected body (FrameError, nesting, bad UTF-8) is a failed fetch: retry
                self.stats.bad_frames += 1
                self.stats.last_bad_frame = f"snapshot: {type(exc).__name__}: {exc}"
                log.warning("%s: snapshot %s rejected (%s), retrying", self._label, url, exc)
                await asyncio.sleep(self.policy.delay(attempt, self.rng))
                continue
            self._emit(parsed.events)
            if parsed.resyncs:
                # This fetch is over: a snapshot too old for the buffered deltas must be fetched again.
                self._resync_inflight.discard(iid)
                self._start_resyncs(parsed.resyncs)
            return
        if self._transport is not None:
            self.close_reason = f"snapshot of {venue.native_of(iid)} failed 5 times"
            self._transport.disconnect()


def _discard(_event: MarketEvent) -> None:
    return None


async def run_sessions(sessions: list[VenueSession], sink: EventSink) -> None:
    """Run several sessions into one sink until cancelled."""
    async with asyncio.TaskGroup() as tg:
        for s in sessions:
            tg.create_task(s.run(sink))


__all__ = ["FrameTap", "Pacer", "ReconnectPolicy", "SessionStats", "VenueSession", "run_sessions"]
