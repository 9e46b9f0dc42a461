"""Start the exchange simulator and point the real connectors at it (``arbsniper run --demo``,
``arbsniper record --demo``, the parse benchmark).

``SimulatedVenues`` is one ``MarketSource``: the simulator, in this process or as its own
(``arbsniper simulate``), plus a ``ConnectorSource`` of real venue sessions against its URLs.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tomllib
from collections.abc import Iterable

import msgspec

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap
from arbsniper.sim.exchange import SIM_REGISTRY, Simulator
from arbsniper.sim.market import demo_market
from arbsniper.sim.synthetic import Listing
from arbsniper.venues import REGISTRY
from arbsniper.venues.base import EventSink
from arbsniper.venues.catalog import Catalog
from arbsniper.venues.connect import ConnectorSource, Discovery, build_venues, discover, fetch_listings
from arbsniper.venues.session import FrameTap


class SimulatedVenues:
    """The exchange simulator plus the real connectors pointed at it, as one ``MarketSource``."""

    def __init__(self, config: Config, symbols: SymbolMap, seed: int | None = None, tap: FrameTap | None = None,
                 listings: Iterable[Listing] | None = None, separate_process: bool = False) -> None:
        usable = set(REGISTRY) & set(SIM_REGISTRY)
        chosen = [lst for lst in (listings if listings is not None else demo_market(config.demo.bases)) if lst.venue in usable]
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
        self.explicit = listings is not None
        self.connectors: ConnectorSource | None = None
        self.discovery: Discovery | None = None

    async def run(self, sink: EventSink) -> None:
        if self.separate_process:
            await self._run_with_process(sink)
            return
        await self.simulator.start()
        try:
            await self._connect(self.simulator.urls(), sink)
        finally:
            await self.simulator.stop()

    async def _connect(self, urls: dict[str, tuple[str, str]], sink: EventSink) -> None:
        """Read the simulator's listings as the live venues' are read (never cached: they are not
        the venues'), choose the universe from them (explicit listings: exactly those), connect."""
        if self.explicit:
            _, found = await fetch_listings(self.config, urls, Catalog(None))
            metas = {(m.venue, m.instrument): m for lst in found.values() for m in lst.instruments}
            venues = build_venues(self.config, self.symbols, urls, self.listings, metas)
            self.connectors = ConnectorSource(venues, self.tap)
        else:
            self.discovery = await discover(self.config, self.symbols, urls, Catalog(None))
            self.connectors = ConnectorSource(self.discovery.venues, self.tap, self.discovery, self.config.metadata_refresh_s)
        await self.connectors.run(sink)

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
            await self._connect(urls, sink)
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
