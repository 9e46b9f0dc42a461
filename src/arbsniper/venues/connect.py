"""From configuration to running connectors: which venue markets, which instruments, which URLs.

``discover`` fetches every enabled venue market's listing (``catalog.py``: live, else cached, else
that market is down), chooses the universe (``universe.py``) and makes one ``Venue`` per venue
market and connection, with the venue's metadata (sizes in base units need it). ``build_venues``
does the last step alone (explicit instrument lists). ``ConnectorSource`` runs the sessions as one
``MarketSource`` and refreshes the listings every ``metadata_refresh_s``: a halted or delisted
instrument is unsubscribed. ``run_for`` runs a source for a while. The demo's simulator, and the
connectors pointed at it, are started by ``sim/launch.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap, parse_instrument
from arbsniper.model import ANY, MARKET_NAMES, PERP, SPOT, VenueStatus
from arbsniper.model import DOWN as DOWN_STATE
from arbsniper.runtime import SHUTDOWN_S
from arbsniper.sim.synthetic import Listing
from arbsniper.universe import Universe, select
from arbsniper.venues import REGISTRY
from arbsniper.venues.base import EventSink, MarketSource, Venue
from arbsniper.venues.catalog import DOWN, Catalog, MarketListing, halted
from arbsniper.venues.metadata import InstrumentMeta
from arbsniper.venues.session import FrameTap, VenueSession
from arbsniper.venues.subscriptions import plan_connections

log = logging.getLogger(__name__)


def default_instruments(venue: str, market: str, bases: Iterable[str]) -> list[str]:
    """The venue's usual listings of ``bases`` (its real quote currencies), plus conversion markets."""
    info = REGISTRY.get(venue)
    if info is None:
        return []
    if info.listed is not None:
        return info.listed(market, sorted(set(bases)))
    # No listing rule of its own: its demo listings of those bases (and of the stablecoins).
    bases = set(bases)
    perp = market == "perp"
    out = []
    for instrument in info.demo_instruments:
        inst = parse_instrument(instrument)
        if inst.is_perp == perp and (inst.base in bases or inst.base in ("USDT", "USDC")):
            out.append(instrument)
    return out


def build_venues(
    config: Config,
    symbols: SymbolMap,
    urls: dict[str, tuple[str, str]] | None = None,
    listings: Iterable[Listing] | None = None,
    metas: Mapping[tuple[str, str], InstrumentMeta] | None = None,
) -> list[Venue]:
    """One ``Venue`` per enabled venue market and connection, from config (or explicit listings).

    ``metas``: (venue, instrument) -> its metadata, given to the venue instead of the bare name
    (a market whose sizes are contracts parses nothing without it)."""
    wanted: dict[tuple[str, str], list[str | InstrumentMeta]] = {}
    if listings is not None:
        for lst in listings:
            market = MARKET_NAMES[parse_instrument(lst.instrument).kind]
            meta = (metas or {}).get((lst.venue, lst.instrument))
            wanted.setdefault((lst.venue, market), []).append(meta or lst.instrument)
    else:
        for name, info in REGISTRY.items():
            vc = config.venue(name)
            if not vc.enabled:
                continue
            for market in vc.markets or info.markets:
                if market not in info.markets:
                    continue
                if vc.instruments is not None:
                    insts = [i for i in vc.instruments if parse_instrument(i).is_perp == (market == "perp")]
                else:
                    insts = default_instruments(name, market, config.bases)
                if insts:
                    wanted[(name, market)] = [(metas or {}).get((name, i)) or i for i in insts]
    return _split(config, symbols, wanted, urls)


def _split(config: Config, symbols: SymbolMap, wanted: Mapping[tuple[str, str], Sequence[str | InstrumentMeta]],
           urls: dict[str, tuple[str, str]] | None) -> list[Venue]:
    """One ``Venue`` per venue market and connection (``subscriptions.plan_connections``)."""
    out: list[Venue] = []
    used: dict[str, tuple[int, int]] = {}  # venue -> (streams, connections) planned so far
    for (name, market), insts in wanted.items():
        found = REGISTRY.get(name)
        if found is None or market not in found.markets:
            continue
        cls = found.markets[market]
        vc = config.venue(name)
        base_url, rest_url = (urls or {}).get(name, (vc.base_url, vc.rest_url))
        limits = cls.subscription_limits
        streams, conns = used.get(name, (0, 0))  # per-IP caps are shared by the venue's markets
        chunks = plan_connections(limits, insts, cap=cls.max_instruments_per_connection, label=f"{name} {market}",
                                  streams_used=streams, connections_used=conns)
        used[name] = (streams + sum(map(len, chunks)) * limits.streams_per_instrument, conns + len(chunks))
        for chunk in chunks:
            out.append(cls(market, symbols, chunk, base_url=base_url, rest_url=rest_url))
    for venue in out:
        venue.max_abs_funding_rate = config.detector.max_abs_funding_rate
    return out


def enabled_markets(config: Config, venues: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """Every (venue, market) the config enables (of ``venues`` only, when given)."""
    out: list[tuple[str, str]] = []
    for name, info in REGISTRY.items():
        vc = config.venue(name)
        if not vc.enabled or (venues is not None and name not in venues):
            continue
        out.extend((name, m) for m in (vc.markets or info.markets) if m in info.markets)
    return out


@dataclass(slots=True)
class Discovery:
    """What ``discover`` found: each venue market's listing, the universe, the venues to run."""

    listings: dict[tuple[str, str], MarketListing]
    universe: Universe
    venues: list[Venue]
    catalog: Catalog
    symbols: SymbolMap

    def down(self) -> dict[str, str]:
        """Venue markets that cannot run (no listing, live or cached) -> why."""
        return {f"{v}:{m}": lst.reason for (v, m), lst in self.listings.items() if lst.source == DOWN}


async def fetch_listings(config: Config, urls: dict[str, tuple[str, str]] | None = None,
                         catalog: Catalog | None = None) -> tuple[Catalog, dict[tuple[str, str], MarketListing]]:
    """Every enabled venue market's listing (of the venues in ``urls`` only, when given)."""
    catalog = catalog or Catalog(config.data_dir)
    wanted = []
    for name, market in enabled_markets(config, urls.keys() if urls is not None else None):
        rest_url = (urls or {}).get(name, (None, config.venue(name).rest_url))[1]
        wanted.append((REGISTRY[name].markets[market], market, rest_url))
    return catalog, await catalog.load_all(wanted)


async def discover(config: Config, symbols: SymbolMap, urls: dict[str, tuple[str, str]] | None = None,
                   catalog: Catalog | None = None) -> Discovery:
    """Listings, universe and venues (cold path, before the sessions start)."""
    catalog, listings = await fetch_listings(config, urls, catalog)
    universe = select(config, {k: lst.instruments for k, lst in listings.items() if lst.source != DOWN})
    for metas in universe.selection.values():  # intern every name now: the engine sizes its arrays at start
        for m in metas:
            symbols.venue_id(m.venue)
            symbols.instrument_id(m.instrument)
    venues = _split(config, symbols, universe.selection, urls)
    for name, _ in listings:
        symbols.venue_id(name)  # a venue down at start is reported under its own id
    found = Discovery(listings, universe, venues, catalog, symbols)
    down = found.down()
    log.info("universe: %d bases, %d listings on %d venue markets%s", len(universe.bases), universe.instruments(),
             len(universe.selection), f"; down: {', '.join(sorted(down))}" if down else "")
    return found


class ConnectorSource:
    """Several venue sessions as one ``MarketSource``."""

    def __init__(self, venues: list[Venue], tap: FrameTap | None = None, discovery: Discovery | None = None,
                 refresh_s: float = 3600.0) -> None:
        self.sessions = [VenueSession(v, tap=tap) for v in venues]
        self.discovery = discovery
        self.refresh_s = refresh_s
        self.halts = 0
        # Told each refreshed listing of the running instruments (the app re-sizes the engine and trader).
        self.on_metadata: Callable[[list[InstrumentMeta]], None] | None = None
        seen: dict[tuple[str, str], int] = {}
        for s in self.sessions:  # a recording keeps a venue market's connections apart: spot, spot#1, …
            k = seen[(s.venue.name, s.venue.market)] = seen.get((s.venue.name, s.venue.market), -1) + 1
            if k:
                s.tap_market = f"{s.venue.market}#{k}"

    async def run(self, sink: EventSink) -> None:
        async with asyncio.TaskGroup() as tg:
            for s in self.sessions:
                tg.create_task(s.run(sink), name=f"session:{s.venue.name}:{s.venue.market}")
            if self.discovery is not None:
                now = time.time_ns()
                for (name, market), lst in self.discovery.listings.items():
                    if lst.source == DOWN:  # the engine, /health and the dashboard see it down, and why
                        sink(VenueStatus(self.discovery.symbols.venue_id(name), DOWN_STATE, lst.reason, now,
                                         PERP if market == "perp" else SPOT, ANY))
                tg.create_task(self._refresh_loop(), name="metadata-refresh")

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception as exc:  # a refresh must never take the sessions down
                log.warning("metadata refresh failed: %s: %s", type(exc).__name__, exc)

    async def refresh(self) -> int:
        """Fetch every running venue market's listing again; unsubscribe what stopped trading.

        Returns how many instruments were unsubscribed. A venue that does not answer keeps its
        listing (nothing is concluded from silence)."""
        d = self.discovery
        if d is None:
            return 0
        running = {(s.venue.name, s.venue.market): s.venue for s in self.sessions}
        wanted = [(type(v), market, v.rest_url) for (_, market), v in sorted(running.items())]
        fresh = await d.catalog.load_all(wanted)
        n = 0
        listed: list[InstrumentMeta] = []
        for s in self.sessions:
            key = (s.venue.name, s.venue.market)
            after = fresh.get(key)
            if after is None:
                continue
            if after.source != DOWN:
                listed += [m for m in after.instruments if m.instrument in s.venue.instruments and m.trading]
            before = [m for m in d.universe.selection.get(key, []) if m.instrument in s.venue.instruments]
            for meta in halted(before, after):
                word = f" ({meta.venue_status})" if meta.venue_status else ""
                if s.unsubscribe(meta.instrument, f"instrument_halted: {meta.status}{word}") is not None:
                    n += 1
            if after.source != DOWN:
                d.listings[key] = after
        self.halts += n
        if listed and self.on_metadata is not None:
            self.on_metadata(listed)
        return n

    def health(self) -> dict[str, dict[str, object]]:
        """Per-venue-market connection state and counters (for /health)."""
        return {
            f"{s.venue.name}:{s.venue.market}": {
                "state": s.stats.state, "frames": s.stats.frames, "bad_frames": s.stats.bad_frames,
                "reconnects": s.stats.reconnects, "resyncs": s.stats.resyncs, "last_down_reason": s.stats.last_down_reason,
            }
            for s in self.sessions
        } | {
            name: {"state": "down", "frames": 0, "bad_frames": 0, "reconnects": 0, "resyncs": 0, "last_down_reason": reason}
            for name, reason in (self.discovery.down() if self.discovery is not None else {}).items()
        }


class NothingToWatch(RuntimeError):
    """No venue market has a listing (live or cached), or the universe chosen from them is empty."""


def live_source(config: Config, symbols: SymbolMap, tap: FrameTap | None = None) -> ConnectorSource:
    """The live venues as one source: listings fetched (or cached), universe chosen, before the
    event loop of the run starts (its engine sizes its arrays from the names interned here).
    ``NothingToWatch`` when there is nothing to connect to."""
    found = asyncio.run(discover(config, symbols))
    if not found.venues:
        down = found.down()
        why = f"{len(down)} of {len(found.listings)} venue markets down (no network and no cached listing?)" if down \
            else "the universe is empty (universe, bases, min_venues, [venues.X] instruments?)"
        raise NothingToWatch(f"nothing to watch: {why}; `arbsniper markets` shows each venue's listing")
    return ConnectorSource(found.venues, tap, found, config.metadata_refresh_s)


async def run_for(source: MarketSource, sink: EventSink, duration: float | None) -> None:
    """Run a source until ``duration`` elapses (or for ever), then cancel it cleanly."""
    task = asyncio.create_task(source.run(sink))
    try:
        await asyncio.wait([task], timeout=duration)
    finally:
        task.cancel()
        # Bounded: a source that does not end when cancelled must not hang the command.
        done, _ = await asyncio.wait([task], timeout=SHUTDOWN_S)
        if not done:
            log.error("source did not stop within %.0f s of being cancelled; leaving it", SHUTDOWN_S)
        elif not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
