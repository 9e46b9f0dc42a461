"""``arbsniper markets``: what each venue lists, in our units, and the universe chosen from it.

The first command to run against live venues: it fetches every enabled venue market's listing
the way ``run`` does (``venues/catalog.py``: live, else the cache, else down), chooses the
universe (``universe.py``) and prints each instrument's units, lot, tick, minimum notional,
funding interval and status, and whether the listing is live or cached and how old. ``--demo``
does the same against the exchange simulator's demo market; ``--json`` prints one object per
instrument and venue market.
"""

from __future__ import annotations

import time
from typing import TextIO

import msgspec

from arbsniper.config import Config
from arbsniper.universe import Universe, select
from arbsniper.venues import REGISTRY
from arbsniper.venues.catalog import DOWN, Catalog, MarketListing
from arbsniper.venues.connect import fetch_listings

_enc = msgspec.json.Encoder()


async def gather(config: Config, demo: bool) -> tuple[dict[tuple[str, str], MarketListing], Universe]:
    """Every enabled venue market's listing (the simulator's with ``demo``) and the universe."""
    if demo:
        from arbsniper.sim.exchange import Simulator
        from arbsniper.sim.market import demo_market

        sim = Simulator(demo_market(config.demo.bases), demo=config.demo, seed=config.demo.seed)
        await sim.start()
        try:
            _, listings = await fetch_listings(config, sim.urls(), Catalog(None))
        finally:
            await sim.stop()
    else:
        _, listings = await fetch_listings(config)
    universe = select(config, {k: lst.instruments for k, lst in listings.items() if lst.source != DOWN})
    return listings, universe


def _g(x: float) -> str:
    return f"{x:.10g}" if x else "-"


def write(listings: dict[tuple[str, str], MarketListing], universe: Universe, config: Config, out: TextIO,
          err: TextIO, venue: str | None = None, as_json: bool = False) -> int:
    """Print the listings (of ``venue`` only, when given); returns how many instruments were printed."""
    now = time.time()
    chosen = {(v, m.native_symbol) for (v, _), ms in universe.selection.items() for m in ms}
    n = 0
    if not as_json:
        how = (f"auto: listed and trading on >= {config.min_venues} venues, top {config.max_instruments} by 24 h volume"
               if config.universe == "auto" else "bases = " + ", ".join(config.bases))
        out.write(f"universe ({how}): {len(universe.bases)} bases, {universe.instruments()} listings\n")
        out.write("  " + " ".join(universe.bases) + "\n")
        for line in universe.excluded:
            out.write(f"  left out: {line}\n")
    for (name, market), lst in sorted(listings.items(), key=lambda kv: (list(REGISTRY).index(kv[0][0]), kv[0][1])):
        if venue is not None and name != venue:
            continue
        if lst.source == DOWN:
            err.write(f"{name} {market}: down: {lst.reason}\n")
            continue
        age = lst.age_s(now)
        if not as_json:
            why = f" ({lst.reason})" if lst.reason else ""
            out.write(f"\n{name} {market}: {lst.source}, {age:.0f} s old{why}, {len(lst.instruments)} instruments\n")
            out.write(f"  {'instrument':<16} {'native':<20} {'status':<9} {'contract':>9} {'lot':>12} {'tick':>12} "
                      f"{'min notional':>12} {'funding h':>9}  universe\n")
        for m in sorted(lst.instruments, key=lambda m: m.instrument):
            n += 1
            inside = (name, m.native_symbol) in chosen
            if as_json:
                row = {**msgspec.structs.asdict(m), "source": lst.source, "age_s": round(age, 1), "in_universe": inside}
                out.write(_enc.encode(row).decode() + "\n")
            else:
                out.write(f"  {m.instrument:<16} {m.native_symbol:<20} {m.status:<9} {m.contract_size:>9.6g} {_g(m.lot_size):>12} "
                          f"{_g(m.tick_size):>12} {_g(m.min_notional):>12} {_g(m.funding_interval_hours):>9}  {'yes' if inside else ''}\n")
    return n


__all__ = ["gather", "write"]
