"""What each venue market lists, fetched from its public REST API, cached, refreshed (cold path).

A feed is meaningless without its listing (OKX swap sizes are contracts, KuCoin futures sizes are
lots), so every venue market's metadata is fetched before its connection starts: the venue
module describes the requests (``metadata_requests``, ``next_page``) and parses the answers
(``parse_metadata``); this module sends them (aiohttp, ``rest.py``) and keeps the result.

The last good listing of each venue market is cached in ``<data_dir>/metadata/<venue>-<market>.json``.
A start without network uses the cache and logs its age; no cache and no network makes that
venue market *down* (``MarketListing.source == "down"``, with the reason) while the others run.
``refresh`` fetches again (every ``metadata_refresh_s``): a halt or delisting it finds is the
caller's to act on (``halted``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import aiohttp
import msgspec

from arbsniper.venues.base import Venue
from arbsniper.venues.metadata import InstrumentMeta, MetadataError, RestRequest
from arbsniper.venues.rest import RestError, client, fetch

log = logging.getLogger(__name__)

LIVE = "live"  # fetched from the venue just now
CACHED = "cache"  # the venue did not answer: the last good copy from the data directory
DOWN = "down"  # neither: the venue market does not run
MAX_PAGES = 100  # a paginated listing longer than this is a venue bug, not a listing


class MarketListing(msgspec.Struct, kw_only=True):
    """One venue market's listing and where it came from."""

    venue: str
    market: str
    instruments: list[InstrumentMeta] = []
    source: str = LIVE  # LIVE / CACHED / DOWN
    fetched_at: float = 0.0  # epoch seconds when the venue gave this listing
    reason: str = ""  # why it is cached or down

    def age_s(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.fetched_at) if self.fetched_at else 0.0

    def by_native(self) -> dict[str, InstrumentMeta]:
        return {m.native_symbol: m for m in self.instruments}


class _CacheFile(msgspec.Struct):
    venue: str
    market: str
    fetched_at: float
    instruments: list[InstrumentMeta]


_cache_decoder = msgspec.json.Decoder(_CacheFile)


async def fetch_listing(cls: type[Venue], market: str, rest_base: str, http: aiohttp.ClientSession) -> list[InstrumentMeta]:
    """Every instrument of one venue market, as its own parser reads its REST answers (all pages)."""
    bodies: dict[str, list[bytes]] = {}
    for first in cls.metadata_requests(market, rest_base.replace("{market}", market).rstrip("/")):
        page: RestRequest | None = first
        pages = 0
        while page is not None:
            body = await fetch(http, page)
            bodies.setdefault(page.name, []).append(body)
            pages += 1
            if pages >= MAX_PAGES:
                raise MetadataError(f"{cls.name} {market}: {page.name} has more than {MAX_PAGES} pages")
            page = cls.next_page(market, page, body)
    return cls.parse_metadata(market, bodies)


class Catalog:
    """Fetches, caches and refreshes the listings of venue markets."""

    def __init__(self, data_dir: str | os.PathLike[str] | None, timeout_s: float = 10.0) -> None:
        self.dir = Path(data_dir).expanduser() / "metadata" if data_dir is not None else None
        self.timeout_s = timeout_s
        self.listings: dict[tuple[str, str], MarketListing] = {}

    def cache_path(self, venue: str, market: str) -> Path | None:
        return self.dir / f"{venue}-{market}.json" if self.dir is not None else None

    def read_cache(self, venue: str, market: str) -> MarketListing | None:
        """The cached listing of a venue market, or None when there is none (or it is unreadable)."""
        path = self.cache_path(venue, market)
        if path is None or not path.is_file():
            return None
        try:
            got = _cache_decoder.decode(path.read_bytes())
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("%s %s: metadata cache %s unreadable: %s", venue, market, path, exc)
            return None
        return MarketListing(venue=venue, market=market, instruments=got.instruments, source=CACHED, fetched_at=got.fetched_at)

    def write_cache(self, listing: MarketListing) -> None:
        path = self.cache_path(listing.venue, listing.market)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(msgspec.json.encode(_CacheFile(listing.venue, listing.market, listing.fetched_at, listing.instruments)))
            os.replace(tmp, path)  # a crash mid-write never leaves a torn cache
        except OSError as exc:
            log.warning("%s %s: cannot write metadata cache %s: %s", listing.venue, listing.market, path, exc)

    async def load(self, cls: type[Venue], market: str, rest_url: str | None, http: aiohttp.ClientSession | None = None) -> MarketListing:
        """Fetch one venue market's listing; the cache when the venue does not answer; else DOWN."""
        name = cls.name
        try:
            base = rest_url or cls.default_rest_base(market)
            if http is None:
                async with client(self.timeout_s) as own:
                    metas = await fetch_listing(cls, market, base, own)
            else:
                metas = await fetch_listing(cls, market, base, http)
        except (OSError, aiohttp.ClientError, TimeoutError, RestError, MetadataError, NotImplementedError) as exc:
            reason = f"metadata fetch failed: {type(exc).__name__}: {exc}" if str(exc) else f"metadata fetch failed: {type(exc).__name__}"
            cached = self.read_cache(name, market)
            if cached is not None:
                cached.reason = reason
                log.warning("%s %s: %s; using the cached listing (%d instruments, %.0f s old)",
                            name, market, reason, len(cached.instruments), cached.age_s())
                listing = cached
            else:
                log.error("%s %s: down: %s, and no cached listing in %s", name, market, reason, self.dir)
                listing = MarketListing(venue=name, market=market, source=DOWN, reason=f"{reason}; no cached listing")
        else:
            listing = MarketListing(venue=name, market=market, instruments=metas, source=LIVE, fetched_at=time.time())
            self.write_cache(listing)
        self.listings[(name, market)] = listing
        return listing

    async def load_all(self, wanted: Iterable[tuple[type[Venue], str, str | None]]) -> dict[tuple[str, str], MarketListing]:
        """Every (class, market, rest_url) at once; one slow venue does not hold up the others."""
        items = list(wanted)
        async with client(self.timeout_s) as http:
            got = await asyncio.gather(*(self.load(cls, market, url, http) for cls, market, url in items))
        return {(g.venue, g.market): g for g in got}


def halted(before: Sequence[InstrumentMeta], after: MarketListing) -> list[InstrumentMeta]:
    """Instruments trading in ``before`` that ``after`` (a live refresh) shows halted, delisted or gone.

    A refresh that failed (cached or down) says nothing new about the venue's instruments.
    """
    if after.source != LIVE:
        return []
    now = after.by_native()
    out = []
    for meta in before:
        if not meta.trading:
            continue
        new = now.get(meta.native_symbol)
        if new is None:
            out.append(msgspec.structs.replace(meta, status="delisted", venue_status="(no longer listed)"))
        elif not new.trading:
            out.append(new)
    return out


__all__ = ["CACHED", "DOWN", "LIVE", "Catalog", "MarketListing", "fetch_listing", "halted"]
