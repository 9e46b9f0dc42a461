"""Which instruments to watch, chosen from what the venues list (cold path, at start).

Real cross-venue dislocations live in the hundreds of instruments listed on several venues, so
by default (``universe = "auto"``) the universe is discovered: every base listed and trading on at
least ``min_venues`` venues in a quote currency the conversion layer prices (USD, USDT, USDC),
ranked by its 24 h quote volume summed over venues (each venue's ticker endpoint, read with its
listing), the top ``max_instruments`` bases. ``universe = "bases"`` takes the listings of
``bases`` instead; ``[venues.X] instruments`` narrows one venue either way; the deny list
(``detector.deny``) is left out; the conversion markets are always in.

Asset identity comes only from each venue module's mapping (``InstrumentMeta.instrument``:
KuCoin futures ``XBT`` is BTC there, Hyperliquid spot ``UBTC`` too). Two venues may still give
one ticker to two different assets: at start the listings of a base are grouped by price, the
largest group within ``detector.max_sane_spread_bps`` of each other stays and every other listing
is reported (a log line) and left out, never silently matched.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from arbsniper.config import Config
from arbsniper.instruments import InstrumentError, parse_instrument
from arbsniper.venues.metadata import InstrumentMeta

log = logging.getLogger(__name__)

PRICED_QUOTES = frozenset({"USD", "USDT", "USDC"})  # what the conversion layer prices


@dataclass(slots=True)
class Universe:
    """The chosen listings per venue market, and why the others were left out."""

    selection: dict[tuple[str, str], list[InstrumentMeta]]
    bases: list[str]  # chosen bases, by volume (auto) or as configured
    volume: dict[str, float] = field(default_factory=dict)  # base -> 24 h quote volume over its venues
    excluded: list[str] = field(default_factory=list)  # one line per listing or base left out, and why

    def instruments(self) -> int:
        return sum(len(v) for v in self.selection.values())


def _base(meta: InstrumentMeta, market: str) -> str | None:
    """The base of a listing we can price and trade as unified spot / linear perp, else None."""
    try:
        inst = parse_instrument(meta.instrument)
    except InstrumentError:
        return None
    if inst.is_perp != (market == "perp") or inst.quote not in PRICED_QUOTES:
        return None
    return inst.base


def _agreeing(metas: list[InstrumentMeta], max_bps: float) -> tuple[list[InstrumentMeta], list[InstrumentMeta]]:
    """(kept, left out): the largest group of listings whose prices agree within ``max_bps``.

    Listings without a price are kept (nothing to compare). Ties go to the group with the
    larger volume.
    """
    priced = [m for m in metas if m.last_price > 0.0]
    unpriced = [m for m in metas if m.last_price <= 0.0]
    if len(priced) < 2:
        return metas, []
    limit = max_bps / 1e4
    best: list[InstrumentMeta] = []
    best_key = (-1, -1.0)
    for anchor in priced:
        group = [m for m in priced if abs(m.last_price / anchor.last_price - 1.0) <= limit
                 and abs(anchor.last_price / m.last_price - 1.0) <= limit]
        key = (len(group), sum(m.quote_volume_24h for m in group))
        if key > best_key:
            best, best_key = group, key
    kept = {id(m) for m in best}
    return best + unpriced, [m for m in priced if id(m) not in kept]


def select(config: Config, listings: Mapping[tuple[str, str], Sequence[InstrumentMeta]]) -> Universe:
    """The universe from every venue market's listing (``listings[(venue, market)]``)."""
    deny = set(config.detector.deny)
    conversion = set(config.conversion.sources.values())
    excluded: list[str] = []
    # Candidates: trading, priced, not denied; a venue with explicit instruments keeps only those.
    cands: dict[tuple[str, str], list[tuple[str, InstrumentMeta]]] = {}
    for (venue, market), metas in listings.items():
        explicit = config.venue(venue).instruments
        rows = []
        for m in metas:
            base = _base(m, market)
            if base is None or not m.trading:
                continue
            if m.instrument in deny and m.instrument not in conversion:
                continue
            if explicit is not None and m.instrument not in explicit:
                continue
            rows.append((base, m))
        cands[(venue, market)] = rows
    by_base: dict[str, list[InstrumentMeta]] = {}
    for rows in cands.values():
        for base, m in rows:
            if m.instrument not in conversion:
                by_base.setdefault(base, []).append(m)
    volume = {b: sum(m.quote_volume_24h for m in ms) for b, ms in by_base.items()}

    if config.universe == "bases":
        chosen = [b for b in config.bases if b in by_base]
        keep = {id(m) for b in chosen for m in by_base[b]}
    else:
        agreed_of: dict[str, list[InstrumentMeta]] = {}
        for base, metas in by_base.items():
            agreed, out = _agreeing(metas, config.detector.max_sane_spread_bps)
            for m in out:
                line = (f"{base}: {m.venue} {m.market} {m.native_symbol} at {m.last_price:g} disagrees with the "
                        f"other venues' price beyond max_sane_spread_bps={config.detector.max_sane_spread_bps:g}: left out")
                excluded.append(line)
                log.warning("universe: %s", line)
            if len({m.venue for m in agreed}) >= config.min_venues:
                agreed_of[base] = agreed
        eligible = sorted(agreed_of, key=lambda b: (-volume[b], b))
        chosen = eligible[: config.max_instruments]
        dropped = eligible[config.max_instruments:]
        keep = {id(m) for b in chosen for m in agreed_of[b]}
        if dropped:
            excluded.append(f"{len(dropped)} eligible bases beyond max_instruments={config.max_instruments} "
                            f"(the least traded): {', '.join(dropped[:10])}{' …' if len(dropped) > 10 else ''}")
    selection: dict[tuple[str, str], list[InstrumentMeta]] = {}
    for key, rows in cands.items():
        chosen_here = [m for _, m in rows if id(m) in keep or m.instrument in conversion]
        if chosen_here:
            selection[key] = chosen_here
    return Universe(selection, chosen, {b: volume[b] for b in chosen}, excluded)


__all__ = ["PRICED_QUOTES", "Universe", "select"]
