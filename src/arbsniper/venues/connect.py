"""From configuration to running connectors: which venue markets, which instruments, which URLs.

``build_venues`` makes one ``Venue`` per enabled venue market (split further when a venue limits
instruments per connection); ``ConnectorSource`` runs their sessions as one ``MarketSource``;
``run_for`` runs a source for a while. The demo's simulator, and the connectors pointed at it,
are started by ``sim/launch.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap, parse_instrument
from arbsniper.model import MARKET_NAMES
from arbsniper.runtime import SHUTDOWN_S
from arbsniper.sim.synthetic import Listing
from arbsniper.venues import REGISTRY
from arbsniper.venues.base import EventSink, MarketSource, Venue
from arbsniper.venues.session import FrameTap, VenueSession

log = logging.getLogger("arbsniper.venues")


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
) -> list[Venue]:
    """One ``Venue`` per enabled venue market and connection, from config (or explicit listings)."""
    wanted: dict[tuple[str, str], list[str]] = {}
    if listings is not None:
        for lst in listings:
            market = MARKET_NAMES[parse_instrument(lst.instrument).kind]
            wanted.setdefault((lst.venue, market), []).append(lst.instrument)
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
                    wanted[(name, market)] = insts
    out: list[Venue] = []
    for (name, market), insts in wanted.items():
        found = REGISTRY.get(name)
        if found is None or market not in found.markets:
            continue
        cls = found.markets[market]
        vc = config.venue(name)
        base_url, rest_url = (urls or {}).get(name, (vc.base_url, vc.rest_url))
        step = cls.max_instruments_per_connection
        for i in range(0, len(insts), step):
            out.append(cls(market, symbols, insts[i : i + step], base_url=base_url, rest_url=rest_url))
    for venue in out:
        venue.max_abs_funding_rate = config.detector.max_abs_funding_rate
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
