"""The exchange simulator: one protocol server per venue, driven by the synthetic market.

``Simulator`` starts a ``SimVenueServer`` for each venue in ``SIM_REGISTRY`` that has listings,
steps one ``SyntheticMarket`` on a timer and publishes each update to its venue's server.
``arbsniper simulate`` runs it on its own; ``arbsniper run --demo`` runs it in-process and points
the real connectors at it (``base_url`` / ``rest_url`` per venue, see ``launch.py``).

``SIM_REGISTRY`` follows ``venues.REGISTRY``: the simulator of venue ``<name>`` is the ``SERVER``
class of module ``arbsniper.sim.<name>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import math
import signal
import sys
import time
from collections.abc import Iterable

from arbsniper.config import DemoConfig
from arbsniper.sim.market import demo_market
from arbsniper.sim.server import SimVenueServer
from arbsniper.sim.synthetic import DEMO_LISTINGS, Listing, SyntheticMarket
from arbsniper.venues import REGISTRY


def _server(name: str) -> type[SimVenueServer]:
    server: type[SimVenueServer] = importlib.import_module(f"arbsniper.sim.{name}").SERVER
    if server.venue != name:
        raise ValueError(f"arbsniper.sim.{name}.SERVER serves {server.venue!r}, not {name!r}")
    return server


SIM_REGISTRY: dict[str, type[SimVenueServer]] = {name: _server(name) for name in REGISTRY}


class Simulator:
    """Local venue servers fed by one synthetic market."""

    def __init__(
        self,
        listings: Iterable[Listing] | None = None,
        demo: DemoConfig | None = None,
        seed: int | None = None,
        venues: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        step_s: float = 0.01,
        depth: int = 10,
    ) -> None:
        wanted = set(venues) if venues is not None else set(SIM_REGISTRY)
        unknown = wanted - set(SIM_REGISTRY)
        if unknown:
            raise ValueError(f"no simulator for venue(s): {', '.join(sorted(unknown))}")
        self.listings = [lst for lst in (listings if listings is not None else DEMO_LISTINGS) if lst.venue in wanted]
        self.market = SyntheticMarket(self.listings, demo, seed=seed, depth=depth)
        self.servers: dict[str, SimVenueServer] = {}
        for name in sorted({lst.venue for lst in self.listings}):
            self.servers[name] = SIM_REGISTRY[name](self.listings, host=host)
        self.step_s = step_s
        self.updates = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self, ports: dict[str, int] | None = None) -> None:
        """Open every server (port 0 = any free port) and start publishing."""
        for name, server in self.servers.items():
            await server.start((ports or {}).get(name, 0))
        self.step(time.time_ns())  # every listing has a book before the first client arrives
        self._task = asyncio.create_task(self._drive())

    def step(self, now_ns: int) -> None:
        """Advance the market to ``now_ns`` and publish what changed."""
        servers = self.servers
        for update in self.market.step(now_ns):
            servers[update.venue].publish(update)
            self.updates += 1

    async def _drive(self) -> None:
        while True:
            await asyncio.sleep(self.step_s)
            self.step(time.time_ns())

    async def pause(self) -> None:
        """Stop publishing (servers stay up): tests compare books once the stream is quiet."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def resume(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drive())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for server in self.servers.values():
            await server.stop()

    def urls(self) -> dict[str, tuple[str, str]]:
        """venue -> (WebSocket base URL, REST base URL), both with a ``{market}`` placeholder."""
        return {name: (s.base_url, s.rest_url) for name, s in self.servers.items()}


FAULTS = ("drop", "mute-pongs", "skip-seq", "bad-checksum", "garbage", "delay")


def inject(server: SimVenueServer, fault: str, instrument: str | None) -> None:
    """Apply one named fault to a venue server once."""
    if fault == "drop":
        server.drop_connections(1001, "simulated drop")
    elif fault == "mute-pongs":
        server.faults.mute_pongs = not server.faults.mute_pongs
    elif fault == "skip-seq" and instrument:
        server.skip_sequence(instrument)
    elif fault == "bad-checksum" and instrument:
        server.corrupt_checksum(instrument)
    elif fault == "garbage":
        server.send_garbage()
    elif fault == "delay":
        server.faults.delay_s = 0.0 if server.faults.delay_s else 0.5
    else:
        raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")


def fault_refusal(server: type[SimVenueServer], fault: str) -> str | None:
    """Why ``fault`` cannot apply to this venue's simulator (None: it applies). A fault that would
    silently do nothing is refused instead, so a fault run tests what it says it tests."""
    if fault == "skip-seq" and not server.has_sequence:
        return f"{server.venue} books carry no sequence numbers (each is a full snapshot): nothing to skip"
    if fault == "bad-checksum" and not server.has_checksum:
        return f"{server.venue} books carry no checksum"
    if fault == "mute-pongs" and not server.has_pings:
        return f"{server.venue} clients send no pings (the venue pings, or a heartbeat channel): no pong to mute"
    return None


def parse_fault(spec: str, servers: dict[str, SimVenueServer]) -> tuple[str, str, float]:
    """``VENUE:FAULT[:EVERY_S]`` -> (venue, fault, every); ValueError naming what is wrong."""
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"--fault {spec!r}: expected VENUE:FAULT[:EVERY_S]")
    venue, fault = parts[0], parts[1]
    if venue not in servers:
        raise ValueError(f"--fault {spec!r}: unknown venue {venue!r} (known: {', '.join(servers)})")
    if fault not in FAULTS:
        raise ValueError(f"--fault {spec!r}: unknown fault {fault!r} (known: {', '.join(FAULTS)})")
    every = 10.0
    if len(parts) == 3:
        try:
            every = float(parts[2])
        except ValueError:
            raise ValueError(f"--fault {spec!r}: EVERY_S must be a number of seconds, got {parts[2]!r}") from None
        if not (math.isfinite(every) and every > 0):
            raise ValueError(f"--fault {spec!r}: EVERY_S must be finite and > 0, got {parts[2]!r}")
    why = fault_refusal(type(servers[venue]), fault)
    if why is not None:
        raise ValueError(f"--fault {spec!r} does not apply: {why}")
    return venue, fault, every


async def serve(config: DemoConfig | object, port: int, seed: int | None, duration: float | None, faults: list[str],
                until_stdin_closes: bool = False) -> int:
    """``arbsniper simulate``: serve every venue until stopped, injecting the requested faults.

    ``until_stdin_closes``: also stop when standard input reaches end of file, so a parent that
    started the simulator with a pipe takes it down with it however the parent ends (even SIGKILL).
    """
    demo = getattr(config, "demo", config)
    demo = demo if isinstance(demo, DemoConfig) else DemoConfig()
    sim = Simulator(demo_market(demo.bases), demo=demo, seed=seed)
    try:
        plan = [parse_fault(spec, sim.servers) for spec in faults]
        if port and port + len(sim.servers) - 1 > 65535:
            raise ValueError(f"--port {port}: the {len(sim.servers)} venues take consecutive ports, past 65535")
    except ValueError as exc:
        print(f"arbsniper simulate: {exc}", file=sys.stderr)
        return 2
    ports = {name: port + k for k, name in enumerate(sim.servers)} if port else None
    await sim.start(ports)
    for name, (ws, rest) in sim.urls().items():
        print(f"[venues.{name}]\nbase_url = \"{ws}\"\nrest_url = \"{rest}\"\n", flush=True)

    async def fault_loop(name: str, fault: str, every: float) -> None:
        server = sim.servers[name]
        instruments = [lst.instrument for lst in server.listings]
        k = 0
        while True:
            await asyncio.sleep(every)
            inject(server, fault, instruments[k % len(instruments)] if instruments else None)
            k += 1

    tasks = [asyncio.create_task(fault_loop(*p)) for p in plan]
    stdin_closed = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # a stop signal ends the wait below, never a KeyboardInterrupt
        loop.add_signal_handler(sig, stdin_closed.set)
    if until_stdin_closes:
        # Read stdin on the loop, not in a daemon thread: a thread blocked in read() at interpreter
        # shutdown aborts the process ("Fatal Python error: _enter_buffered_busy").
        stream = asyncio.StreamReader()
        reader: asyncio.StreamReader | None = stream
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), sys.stdin)
        except ValueError:  # a regular file: it ends at once
            reader = None

        async def watch_stdin() -> None:
            with contextlib.suppress(Exception):
                if reader is None:
                    await asyncio.to_thread(sys.stdin.buffer.read)
                else:
                    while await reader.read(4096):
                        pass
            stdin_closed.set()

        tasks.append(asyncio.create_task(watch_stdin(), name="stdin-watch"))
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stdin_closed.wait(), duration if duration else None)
    finally:
        for t in tasks:
            t.cancel()
        await sim.stop()
    return 0
