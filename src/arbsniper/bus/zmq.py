"""ZeroMQ transport of market events: ingest → engine shards, on one machine or several.

Socket pattern: **XPUB (ingest, binds) → SUB (engine, connects)**.

- *Sharding.* Messages are ``[topic, payload]`` (see ``codec``); a SUB socket subscribes to topic
  prefixes, and for ``tcp://`` and ``ipc://`` ZeroMQ filters on the *publisher*, so an engine shard
  receives only its instruments and the rest never leaves the ingest host.
- *Several ingest processes feed one engine:* the engine connects its one SUB socket to every
  ingest endpoint and ZeroMQ fair-queues between them; ingest processes never know each other.
- *Never block the venue loop, newest per instrument wins, drops counted.* A plain PUB socket
  silently drops the *newest* message when a subscriber's queue is full. We set
  ``XPUB_NODROP``: a send that would exceed a matching subscriber's high-water mark fails at once
  with ``EAGAIN`` instead (only subscribers *of that topic* count, so a lagging shard slows only
  its own instruments). The event then goes to a conflating backlog (newest per kind, venue and
  instrument; each replaced event counted as a drop for its venue) which a task retries every
  millisecond, oldest first, while new events queue behind it so order is kept. The venue loop
  itself only ever does a non-blocking send or a dict insert.

Settings (``[zmq]`` in the config): ``SNDHWM``/``RCVHWM`` 1000 messages per peer — large enough
for bursts, small enough that a lagging engine works on data at most ~1000 messages old, after
which the ingest conflates; ``LINGER`` 200 ms on the ingest (a closing ingest may flush what is
queued, but a dead peer never holds up shutdown) and 0 on the engine (stale market data is
worthless); ZMTP heartbeats every 1 s with a 3 s time-out, so a dead or half-open peer is noticed
and its queue released (a dead engine cannot hold back its topics' flow), and a dead ingest is
reconnected with back-off 100 ms → 2 s. Sends use ``NOBLOCK`` (no send time-out exists on the
hot path); the engine waits on readability and then drains up to ``batch`` messages without
awaiting per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

from arbsniper.bus.codec import Encoder
from arbsniper.bus.inproc import ConflatingQueue, _key
from arbsniper.config import ZmqConfig
from arbsniper.instruments import SymbolMap
from arbsniper.logs import RateLimited
from arbsniper.metrics import LatencyHistogram
from arbsniper.model import ANY, MarketEvent, VenueStatus

log = logging.getLogger("arbsniper.bus.zmq")

RETRY_S = 0.001  # how soon a blocked backlog is offered to ZeroMQ again


class Backlog(ConflatingQueue):
    """The ingest's conflating backlog; events taken but refused by ZeroMQ go back to its front."""

    __slots__ = ()

    def requeue(self, events: Iterable[MarketEvent]) -> None:
        """Put back events taken but not sent, ahead of what queued since (unless superseded)."""
        items = self._items
        front: dict[object, MarketEvent] = {}
        for ev in events:
            self.popped -= 1
            key = _key(ev)
            if key in items:
                self._drop(ev.venue)  # a newer event for the same key is already waiting
            else:
                front[key] = ev
        if front:
            front.update(items)
            self._items = front


def _apply_common(sock: zmq.Socket, cfg: ZmqConfig) -> None:
    sock.setsockopt(zmq.HEARTBEAT_IVL, cfg.heartbeat_ivl_ms)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, cfg.heartbeat_timeout_ms)
    sock.setsockopt(zmq.HEARTBEAT_TTL, cfg.heartbeat_timeout_ms)


class ZmqPublisher:
    """The ingest side: ``publish`` is an ``EventSink`` for any ``MarketSource``.

    Call ``bind`` once, give ``publish`` to the sources, and run ``run()`` as a task (it retries
    the backlog and tracks subscriptions). Counters are per venue id of the given symbol map.
    """

    def __init__(self, symbols: SymbolMap, config: ZmqConfig, *, endpoints: list[str] | None = None,
                 context: zmq.asyncio.Context | None = None, backlog_capacity: int = 65_536) -> None:
        self.symbols = symbols
        self.config = config
        self.endpoints = list(endpoints or config.bind)
        self.bound: list[str] = []
        self.encoder = Encoder(symbols)
        self.backlog = Backlog(backlog_capacity)
        self.received: dict[int, int] = {}  # events offered by the sources, per venue
        self.sent: dict[int, int] = {}  # events handed to ZeroMQ, per venue
        self.venue_state: dict[int, int] = {}  # latest connection-wide VenueStatus per venue
        self.market_state: dict[tuple[int, int], int] = {}  # ... per (venue, market), market ANY if unsaid
        self.blocked = 0  # sends refused by a full subscriber queue (the event went to the backlog)
        self.subscriptions: dict[bytes, int] = {}
        self.latency = LatencyHistogram()  # receive → handed to ZeroMQ (metrics.STAGE_INGEST_PUBLISH)
        self._ctx = context or zmq.asyncio.Context.instance()
        self._asock: zmq.asyncio.Socket | None = None
        self._sock: zmq.Socket | None = None

    def bind(self) -> list[str]:
        """Create the XPUB socket and bind every endpoint; returns the bound addresses."""
        asock = self._ctx.socket(zmq.XPUB)
        cfg = self.config
        asock.setsockopt(zmq.SNDHWM, cfg.sndhwm)
        asock.setsockopt(zmq.XPUB_NODROP, 1)
        asock.setsockopt(zmq.LINGER, cfg.linger_ms)
        _apply_common(asock, cfg)
        for ep in self.endpoints:
            asock.bind(ep)
            self.bound.append(asock.getsockopt_string(zmq.LAST_ENDPOINT))
        self._asock = asock
        self._sock = zmq.Socket.shadow(asock.underlying)
        return self.bound

    def publish(self, ev: MarketEvent) -> None:
        """Send one event without blocking (hot path); conflate into the backlog when refused."""
        v = ev.venue
        rec = self.received
        rec[v] = rec.get(v, 0) + 1
        if type(ev) is VenueStatus and ev.instrument == ANY:
            self.venue_state[v] = ev.state
            self.market_state[(v, ev.market)] = ev.state
        if self.backlog._items:
            self.backlog.push(ev)  # keep order: older events are still waiting
        elif not self._try_send(ev):
            self.blocked += 1
            self.backlog.push(ev)

    def _try_send(self, ev: MarketEvent) -> bool:
        sock = self._sock
        assert sock is not None, "bind() first"
        now = time.time_ns()
        topic, payload = self.encoder.encode(ev, now)
        try:
            sock.send(topic, zmq.SNDMORE | zmq.NOBLOCK)
        except zmq.Again:
            return False
        sock.send(payload, zmq.NOBLOCK)  # never refused once the first frame went (atomic multipart)
        v = ev.venue
        sent = self.sent
        sent[v] = sent.get(v, 0) + 1
        self.latency.observe(now - ev.recv_ts_ns)
        return True

    async def run(self) -> None:
        """Retry the backlog and track the subscribers' topics, until cancelled."""
        await asyncio.gather(self._flush_loop(), self._subscription_loop())

    async def _flush_loop(self) -> None:
        backlog = self.backlog
        while True:
            batch = await backlog.drain()
            for k, ev in enumerate(batch):
                if not self._try_send(ev):
                    backlog.requeue(batch[k:])
                    await asyncio.sleep(RETRY_S)
                    break

    async def _subscription_loop(self) -> None:
        asock = self._asock
        assert asock is not None
        while True:
            # The time-out is a safety net: sends through the shadow socket share its edge-triggered FD.
            await asock.poll(1000)  # POLLIN
            self._read_subscriptions()

    def _read_subscriptions(self) -> None:
        sock = self._sock
        assert sock is not None
        while True:
            try:
                msg = sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if not msg:
                continue
            topic = bytes(msg[1:])
            if msg[0] == 1:
                self.subscriptions[topic] = self.subscriptions.get(topic, 0) + 1
            elif msg[0] == 0:
                n = self.subscriptions.get(topic, 0) - 1
                if n > 0:
                    self.subscriptions[topic] = n
                else:
                    self.subscriptions.pop(topic, None)

    async def wait_for_subscribers(self, timeout_s: float) -> bool:
        """Wait until some subscriber's subscriptions arrived (before ``run``); False on time-out."""
        asock = self._asock
        assert asock is not None, "bind() first"
        deadline = time.monotonic() + timeout_s
        while not self.subscriptions:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asock.poll(int(min(left, 0.1) * 1000) + 1)  # POLLIN
            self._read_subscriptions()
        return True

    def close(self) -> None:
        if self._asock is not None:
            self._asock.close()
            self._asock = None
            self._sock = None

    def stats(self) -> dict[str, object]:
        names = self.symbols.venues
        return {
            "endpoints": self.bound or self.endpoints,
            "sent": sum(self.sent.values()),
            "received": sum(self.received.values()),
            "dropped": self.backlog.dropped,
            "blocked": self.blocked,
            "backlog": len(self.backlog),
            "subscribed_topics": len(self.subscriptions),
            "by_venue": {
                names[v]: {"received": self.received.get(v, 0), "sent": self.sent.get(v, 0),
                           "dropped": self.backlog.dropped_by_venue.get(v, 0)}
                for v in sorted(self.received)
            },
        }


MessageHandler = Callable[[bytes, bytes, int], object]  # a true result: let the loop run now


class ZmqSubscriber:
    """The engine side: one SUB socket connected to every ingest endpoint, subscribed to ``prefixes``.

    ``run(handle)`` calls ``handle(topic, payload, recv_ns)`` for each message, draining up to
    ``config.batch`` messages per wake-up without awaiting per message. A handler that returns
    true (the engine: "I emitted a signal") ends the drain early and resumes it with
    ``call_soon``: the signal's writer, already woken, runs first instead of waiting behind the
    rest of the batch (up to 1,024 messages, milliseconds when backlogged). A socket monitor keeps
    ``connected`` (the endpoints with a live connection) for ``/health``.
    """

    def __init__(self, config: ZmqConfig, prefixes: Iterable[bytes], *, endpoints: list[str] | None = None,
                 context: zmq.asyncio.Context | None = None) -> None:
        self.config = config
        self.endpoints = list(endpoints or config.connect)
        self.prefixes = list(prefixes)
        self.received = 0
        self.malformed = 0
        self.batches = 0
        self.connected: set[str] = set()
        self.connects = 0
        self.disconnects = 0
        self.yields = 0  # drains ended early so a signal could be written at once
        self._ctx = context or zmq.asyncio.Context.instance()
        self._asock: zmq.asyncio.Socket | None = None
        self._monitor: zmq.asyncio.Socket | None = None
        self._warn = RateLimited(log)

    def connect(self) -> None:
        asock = self._ctx.socket(zmq.SUB)
        cfg = self.config
        asock.setsockopt(zmq.RCVHWM, cfg.rcvhwm)
        asock.setsockopt(zmq.LINGER, 0)
        asock.setsockopt(zmq.RECONNECT_IVL, cfg.reconnect_ivl_ms)
        asock.setsockopt(zmq.RECONNECT_IVL_MAX, cfg.reconnect_ivl_max_ms)
        _apply_common(asock, cfg)
        self._monitor = asock.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED  # type: ignore[attr-defined]
        )
        for p in self.prefixes:
            asock.setsockopt(zmq.SUBSCRIBE, p)
        for ep in self.endpoints:
            asock.connect(ep)
        self._asock = asock

    async def run(self, handle: MessageHandler) -> None:
        """Deliver messages to ``handle`` until cancelled.

        The socket's notification FD is watched with ``loop.add_reader`` and the callback drains
        the socket right there: no future, no task switch per wake-up (measured ~40 µs less per
        hop than awaiting ``poll``). ZeroMQ's FD is edge-like, so the callback drains until
        ``EAGAIN``, or re-schedules itself after a full batch so the cold path gets a turn.
        """
        if self._asock is None:
            self.connect()
        asock = self._asock
        assert asock is not None
        sock: zmq.Socket[Any] = zmq.Socket.shadow(asock.underlying)
        loop = asyncio.get_running_loop()
        stopped: asyncio.Future[None] = loop.create_future()
        recv = sock.recv_multipart
        batch = self.config.batch
        clock = time.time_ns
        Again = zmq.Again

        def on_readable() -> None:
            if stopped.done():
                return
            n = 0
            yielded = self.yields
            try:
                while n < batch:
                    try:
                        frames = recv(zmq.NOBLOCK)
                    except Again:
                        break
                    n += 1
                    if len(frames) != 2:
                        self.malformed += 1
                        self._warn.warning("frames", "dropped a message with the wrong number of frames", frames=len(frames))
                        continue
                    if handle(frames[0], frames[1], clock()):
                        self.yields += 1
                        break
            except BaseException as exc:  # a bug in the handler: fail the task, do not spin
                self.received += n
                stopped.set_exception(exc)
                return
            self.received += n
            self.batches += 1
            if n >= batch or yielded != self.yields:
                loop.call_soon(on_readable)

        def safety_net() -> None:
            # An edge missed (the FD is shared with the monitor's socket operations) would stall us.
            if not stopped.done():
                on_readable()
                timers[0] = loop.call_later(1.0, safety_net)

        fd = sock.FD
        monitor = asyncio.create_task(self._monitor_loop(), name="zmq-monitor")
        timers = [loop.call_later(1.0, safety_net)]
        loop.add_reader(fd, on_readable)
        loop.call_soon(on_readable)
        try:
            await stopped
        finally:
            loop.remove_reader(fd)
            for t in timers:
                t.cancel()
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor

    async def _monitor_loop(self) -> None:
        mon = self._monitor
        assert mon is not None
        while True:
            frames = await mon.recv_multipart()
            try:
                evt = parse_monitor_message(frames)
            except Exception:  # noqa: BLE001 - a monitor message we cannot read is not worth a crash
                continue
            raw = evt.get("endpoint", b"")
            ep = raw.decode() if isinstance(raw, bytes) else str(raw)
            if evt["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:  # type: ignore[attr-defined]
                self.connected.add(ep)
                self.connects += 1
            elif evt["event"] in (zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED):
                if ep in self.connected:
                    self.disconnects += 1
                self.connected.discard(ep)

    def close(self) -> None:
        if self._asock is not None:
            with contextlib.suppress(zmq.ZMQError):
                self._asock.disable_monitor()
            self._asock.close()
            self._asock = None
        if self._monitor is not None:
            self._monitor.close()
            self._monitor = None

    def stats(self) -> dict[str, object]:
        return {
            "endpoints": self.endpoints,
            "connected": sorted(self.connected),
            "received": self.received,
            "malformed": self.malformed,
            "connects": self.connects,
            "disconnects": self.disconnects,
            "yields": self.yields,
            "subscriptions": len(self.prefixes),
        }


__all__ = ["Backlog", "ZmqPublisher", "ZmqSubscriber"]
