"""From configuration to running connectors: which venue markets, which instruments, which URLs.

``build_venues`` makes one ``Venue`` per enabled venue market (split further when a venue limits
instruments per connection); ``ConnectorSource`` runs their sessions as one ``MarketSource``;
``SimulatedVenues`` starts the exchange simulator in-process and points the real connectors at
it (``arbsniper run --demo``, ``arbsniper record --demo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tomllib
from collections.abc import Iterable

import msgspec

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap, parse_instrument
from arbsniper.model import MARKET_NAMES
from arbsniper.sim.synthetic import DEMO_LISTINGS, Listing
from arbsniper.venues import REGISTRY
from arbsniper.venues.base import EventSink, Venue
from arbsniper.venues.session import FrameTap, VenueSession


def default_instruments(venue: str, market: str, bases: Iterable[str]) -> list[str]:
    """The venue's usual listings of ``bases`` (its real quote currencies), plus conversion markets."""
    cls = REGISTRY.get(venue)
    listed = cls.listed_instruments(market, sorted(set(bases))) if cls is not None else None
    if listed is not None:
        return listed
    bases = set(bases)
    perp = market == "perp"
    out = []
    for lst in DEMO_LISTINGS:
        if lst.venue != venue:
            continue
        inst = parse_instrument(lst.instrument)
        if inst.is_perp == perp and (inst.base in bases or inst.base in ("USDT", "USDC")):
            out.append(lst.instrument)
    return out


def build_venues(
    config: Config,
    symbols: SymbolMap,
    urls: dict[str, tuple[str, str]] | None = None,
    listings: Iterable[Listing] | None = None,
) -> list[Venue]:
    """One ``Venue`` per enabled venue market and connection, from config (or explicit listings)."""
    wanted: dict[tuple[str, str], list[str]] = {}
    if listings is not None:
        for lst in listings:
            market = MARKET_NAMES[parse_instrument(lst.instrument).kind]
            wanted.setdefault((lst.venue, market), []).append(lst.instrument)
    else:
        for name, cls in REGISTRY.items():
            vc = config.venue(name)
            if not vc.enabled:
                continue
            for market in vc.markets or cls.markets:
                if market not in cls.markets:
                    continue
                if vc.instruments is not None:
                    insts = [i for i in vc.instruments if parse_instrument(i).is_perp == (market == "perp")]
                else:
                    insts = default_instruments(name, market, config.bases)
                if insts:
                    wanted[(name, market)] = insts
    out: list[Venue] = []
    for (name, market), insts in wanted.items():
        found = REGISTRY.get(name)
        if found is None:
            continue
        cls = found
        vc = config.venue(name)
        base_url, rest_url = (urls or {}).get(name, (vc.base_url, vc.rest_url))
        step = cls.max_instruments_per_connection
        for i in range(0, len(insts), step):
            out.append(cls(market, symbols, insts[i : i + step], base_url=base_url, rest_url=rest_url))
    return out


class ConnectorSource:
    """Several venue sessions as one ``MarketSource``."""

    def __init__(self, venues: list[Venue], tap: FrameTap | None = None) -> None:
        self.sessions = [VenueSession(v, tap=tap) for v in venues]

    async def run(self, sink: EventSink) -> None:
        async with asyncio.TaskGroup() as tg:
            for s in self.sessions:
                tg.create_task(s.run(sink), name=f"session:{s.venue.name}:{s.venue.market}")

    def health(self) -> dict[str, dict[str, object]]:
        """Per-venue-market connection state and counters (for /health)."""
        return {
            f"{s.venue.name}:{s.venue.market}": {
                "state": s.stats.state, "frames": s.stats.frames, "bad_frames": s.stats.bad_frames,
                "reconnects": s.stats.reconnects, "resyncs": s.stats.resyncs, "last_down_reason": s.stats.last_down_reason,
            }
            for s in self.sessions
        }


class SimulatedVenues:
    """The exchange simulator plus the real connectors pointed at it, as one ``MarketSource``."""

    def __init__(self, config: Config, symbols: SymbolMap, seed: int | None = None, tap: FrameTap | None = None,
                 listings: Iterable[Listing] | None = None, separate_process: bool = False) -> None:
        from arbsniper.sim.exchange import SIM_REGISTRY, Simulator

        usable = set(REGISTRY) & set(SIM_REGISTRY)
        chosen = [lst for lst in (listings if listings is not None else DEMO_LISTINGS) if lst.venue in usable]
        if separate_process and listings is not None:
            raise ValueError("a simulator in its own process serves the default demo listings only")
        self.separate_process = separate_process
        self.seed = seed
        self.listings = chosen
        self.simulator = Simulator(chosen, demo=config.demo, seed=seed, venues=sorted({lst.venue for lst in chosen}))
        # Intern every name now: the engine sizes its arrays before the sources start.
        for lst in chosen:
            symbols.venue_id(lst.venue)
            symbols.instrument_id(lst.instrument)
        self.config = config
        self.symbols = symbols
        self.tap = tap
        self.connectors: ConnectorSource | None = None

    async def run(self, sink: EventSink) -> None:
        if self.separate_process:
            await self._run_with_process(sink)
            return
        await self.simulator.start()
        try:
            venues = build_venues(self.config, self.symbols, self.simulator.urls(), self.simulator.listings)
            self.connectors = ConnectorSource(venues, self.tap)
            await self.connectors.run(sink)
        finally:
            await self.simulator.stop()

    async def _run_with_process(self, sink: EventSink) -> None:
        """The simulator as its own process (``arbsniper simulate``): it is the exchanges, and it
        should not share our event loop or our core. It stops when our end of its stdin closes."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARBSNIPER_DEMO__")}
        for name, value in msgspec.structs.asdict(self.config.demo).items():
            if value is not None and name != "seed":
                env[f"ARBSNIPER_DEMO__{name.upper()}"] = repr(value)
        cmd = [sys.executable, "-m", "arbsniper.cli", "simulate", "--until-stdin-closes"]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env)
        try:
            urls = await asyncio.wait_for(_read_simulator_urls(proc, {lst.venue for lst in self.listings}), 30.0)
            venues = build_venues(self.config, self.symbols, urls, self.listings)
            self.connectors = ConnectorSource(venues, self.tap)
            await self.connectors.run(sink)
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _read_simulator_urls(proc: asyncio.subprocess.Process, venues: set[str]) -> dict[str, tuple[str, str]]:
    """Read ``arbsniper simulate``'s announcement (a TOML block per venue) until every venue has its URLs."""
    assert proc.stdout is not None
    text = ""
    while True:
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the exchange simulator exited (code {await proc.wait()}) before announcing its URLs")
        text += line.decode()
        table = tomllib.loads(text).get("venues", {}) if line.strip() == b"" else {}
        if venues <= {name for name, v in table.items() if "base_url" in v and "rest_url" in v}:
            return {name: (table[name]["base_url"], table[name]["rest_url"]) for name in venues}


async def run_for(source: ConnectorSource | SimulatedVenues, sink: EventSink, duration: float | None) -> None:
    """Run a source until ``duration`` elapses (or for ever), then cancel it cleanly."""
    task = asyncio.create_task(source.run(sink))
    try:
        await asyncio.wait_for(asyncio.shield(task), duration) if duration else await task
    except TimeoutError:
        pass
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
