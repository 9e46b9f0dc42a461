"""Shutdown finishes within a bound whatever each session is doing (issue 12, defect 1).

A session is cancelled at every stage of its life: while the WebSocket handshake hangs, in the
back-off before a reconnect, just as its connect completes (from the sink, as the UP status is
emitted), while subscribing, and while a REST book snapshot hangs. Each must end within
``SHUTDOWN_S`` and never connect again. The endpoints are real: the exchange simulator, and a
TCP listener that accepts and never answers (a stuck venue). ``run_until_stopped`` itself is
bounded even for a producer that swallows its cancellation, as Python 3.11's ``wait_for`` can.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import UP, MarketEvent, VenueStatus
from arbsniper.runtime import SHUTDOWN_S, run_until_stopped
from arbsniper.sim.exchange import Simulator
from arbsniper.venues import venue_class
from arbsniper.venues.session import ReconnectPolicy, VenueSession
from tests.contract.test_venues import CALM, _listing


class Stuck:
    """A TCP server that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.append(writer)
        await reader.read()  # until the client gives up

    async def __aenter__(self) -> Stuck:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        for w in self.writers:
            w.close()
        self.server.close()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator([_listing("binance", "spot")], demo=CALM, seed=3, venues=["binance"])
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def _session(ws: str, rest: str, **kw: object) -> tuple[VenueSession, list[MarketEvent]]:
    cls = venue_class("binance", "spot")
    venue = cls("spot", SymbolMap(), [_listing("binance", "spot").instrument], base_url=ws, rest_url=rest)
    policy = kw.pop("policy", ReconnectPolicy(initial_s=0.05, max_s=0.2))
    return VenueSession(venue, policy=policy, seed=1, **kw), []  # type: ignore[arg-type]


async def _until(cond: object, what: str, deadline_s: float = 15.0) -> None:
    end = time.monotonic() + deadline_s
    while not cond():  # type: ignore[operator]
        if time.monotonic() > end:
            raise AssertionError(f"never saw {what}")
        await asyncio.sleep(0.01)


async def _cancel_within_bound(task: asyncio.Task[None], session: VenueSession) -> float:
    connects = session.stats.connects
    t0 = time.monotonic()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=SHUTDOWN_S)
    took = time.monotonic() - t0
    assert done, f"session still running {SHUTDOWN_S} s after cancel (stage: {session.stats.state})"
    assert task.cancelled()
    await asyncio.sleep(0.3)  # a session that swallowed the cancel would reconnect in this time
    assert session.stats.connects == connects
    return took


async def test_cancel_while_the_websocket_handshake_hangs() -> None:
    async with Stuck() as stuck:
        session, events = _session(f"ws://127.0.0.1:{stuck.port}", f"http://127.0.0.1:{stuck.port}", connect_timeout_s=60.0)
        task = asyncio.create_task(session.run(events.append))
        await _until(lambda: stuck.accepted >= 1, "the connection attempt")
        await _cancel_within_bound(task, session)


async def test_cancel_during_the_reconnect_back_off() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    session, events = _session(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}",
                               policy=ReconnectPolicy(initial_s=60.0, max_s=60.0, jitter=0.0))
    task = asyncio.create_task(session.run(events.append))
    await _until(lambda: session.stats.down_reasons, "a failed connect")
    await _cancel_within_bound(task, session)


async def test_cancel_as_the_connect_completes(sim: Simulator) -> None:
    ws, rest = sim.urls()["binance"]
    session, events = _session(ws, rest)
    task: asyncio.Task[None] | None = None

    def sink(ev: MarketEvent) -> None:
        events.append(ev)
        if isinstance(ev, VenueStatus) and ev.state == UP and ev.instrument < 0 and task is not None:
            task.cancel()  # inside _connect_once, between the connect and the subscribe

    task = asyncio.create_task(session.run(sink))
    await _until(lambda: task.done(), "the session ending after its cancel", SHUTDOWN_S)
    assert task.cancelled() and session.stats.connects == 1
    await asyncio.sleep(0.3)
    assert session.stats.connects == 1


async def test_cancel_while_subscribing_and_streaming(sim: Simulator) -> None:
    ws, rest = sim.urls()["binance"]
    session, events = _session(ws, rest)
    task = asyncio.create_task(session.run(events.append))
    await _until(lambda: session.stats.connects >= 1, "the connect")
    await _cancel_within_bound(task, session)


async def test_cancel_while_the_book_snapshot_fetch_hangs(sim: Simulator) -> None:
    ws, _ = sim.urls()["binance"]
    async with Stuck() as stuck:  # REST answers nothing: the depth snapshot never arrives
        session, events = _session(ws, f"http://127.0.0.1:{stuck.port}/{{market}}")
        task = asyncio.create_task(session.run(events.append))
        await _until(lambda: stuck.accepted >= 1, "the snapshot request")
        await _cancel_within_bound(task, session)


async def test_shutdown_is_bounded_for_a_producer_that_swallows_its_cancellation() -> None:
    swallowed = []

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.append(1)  # as 3.11's wait_for does when the inner call completes
        await asyncio.sleep(3600)  # the second cancellation ends it

    t0 = time.monotonic()
    code = await asyncio.wait_for(run_until_stopped([asyncio.create_task(stubborn())], duration=0.05, shutdown_s=0.3),
                                  SHUTDOWN_S)
    assert code == 1 and swallowed == [1]
    assert time.monotonic() - t0 < SHUTDOWN_S


async def test_a_hostile_snapshot_body_is_a_failed_fetch_retried_until_the_book_syncs(sim: Simulator) -> None:
    """A REST snapshot body nested 3,000 deep (RecursionError in the decoder) is counted and the
    fetch retried, instead of killing the resync and leaving the book resyncing for ever."""
    import aiohttp
    from aiohttp import web

    from arbsniper.model import RESYNCING

    ws, rest = sim.urls()["binance"]
    served: list[str] = []

    async def relay(request: web.Request) -> web.Response:
        served.append(request.path_qs)
        if len(served) == 1:
            return web.Response(body=b'{"a":' * 3000 + b"1" + b"}" * 3000, content_type="application/json")
        async with aiohttp.ClientSession() as http, http.get(rest.replace("/{market}", "") + request.path_qs) as resp:
            return web.Response(body=await resp.read(), status=resp.status, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", relay)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        session, events = _session(ws, f"http://127.0.0.1:{port}/{{market}}")
        task = asyncio.create_task(session.run(events.append))

        def synced() -> bool:
            states = [e.state for e in events if isinstance(e, VenueStatus) and e.instrument >= 0]
            return RESYNCING in states and states[-1] == UP

        await _until(synced, "the book synced after the hostile snapshot")
        assert len(served) >= 2 and "RecursionError" in session.stats.last_bad_frame
        await _cancel_within_bound(task, session)
    finally:
        await runner.cleanup()
