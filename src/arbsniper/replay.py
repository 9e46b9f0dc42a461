"""Replay a recording through the very parsers, engine and detector of a live run.

Deterministic and as fast as it goes: one thread, file order, and the clock is the receive time
written in the file (the engine's ``clock_ns`` and every staleness check use it). Parsers are
built per (venue, market) as they appear, in *open* mode (every symbol in the file is parsed);
REST snapshot lines go to ``apply_snapshot``; status lines become the same ``VenueStatus``
events the session emitted. Resync and reconnect requests are not acted on: what the live
session fetched, and when it reconnected, is in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import DOWN, UP, MarketEvent, Signal
from arbsniper.record import numbered_records
from arbsniper.venues import venue_class
from arbsniper.venues.base import REJECTED, Venue

EXPIRE_EVERY_NS = 100_000_000


@dataclass
class ReplayStats:
    records: int = 0
    frames: int = 0
    events: int = 0
    bad_frames: int = 0  # frames the parsers rejected, and lines that are not records
    signals: int = 0
    first_ns: int = 0
    last_ns: int = 0
    bad_by_venue: dict[str, int] = field(default_factory=dict)


def replay(path: str | Path, config: Config, emit: Callable[[Signal], None],
           on_bad: Callable[[int, str], None] | None = None) -> ReplayStats:
    """Feed a recording through parsers and engine; signals go to ``emit`` in order.

    A damaged line (not a record) or a frame the parser rejects is counted in ``bad_frames`` and
    reported to ``on_bad`` as (line number, reason); the replay goes on."""
    symbols = SymbolMap()
    stats = ReplayStats()
    now = [0]
    counted: list[Signal] = []

    def on_signal(s: Signal) -> None:
        counted.append(s)
        emit(s)

    engine = Engine(symbols, config, on_signal, clock_ns=lambda: now[0])
    venues: dict[tuple[str, str], Venue] = {}
    shape = (0, 0)
    on_event = engine.on_event
    last_expire = 0

    def feed(events: Sequence[MarketEvent]) -> None:
        nonlocal shape
        if (len(symbols.venues), len(symbols.instruments)) != shape:
            engine.grow()
            shape = (len(symbols.venues), len(symbols.instruments))
        for ev in events:
            on_event(ev)
        stats.events += len(events)

    def bad(n: int, why: str) -> None:
        stats.bad_frames += 1
        if on_bad is not None:
            on_bad(n, why)

    for n, rec in numbered_records(path, bad):
        stats.records += 1
        t = rec.recv_ns
        now[0] = t
        if not stats.first_ns:
            stats.first_ns = t
        stats.last_ns = t
        key = (rec.venue, rec.market)
        venue = venues.get(key)
        if venue is None:
            try:
                cls = venue_class(rec.venue, rec.market)
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: {exc}") from None
            venue = venues[key] = cls(rec.market, symbols)
            venue.max_abs_funding_rate = config.detector.max_abs_funding_rate
            if rec.status is None:  # a foreign recording without connection lines: it was up
                feed([venue.status(UP, "connected", t), *venue.on_connected(t).events])
        if rec.status is not None:
            if rec.status == "up":
                feed([venue.status(UP, rec.reason or "connected", t), *venue.on_connected(t).events])
            else:
                feed([venue.status(DOWN, rec.reason or "down", t)])
            continue
        try:
            if rec.rest is not None:
                iid = snapshot_instrument(venue, rec.rest)
                events = venue.apply_snapshot(iid, rec.frame, t).events if iid is not None else ()
            else:
                stats.frames += 1
                events = venue.parse(rec.frame, t).events
        except REJECTED as exc:
            bad(n, f"{rec.venue} {rec.market}: {exc}")
            stats.bad_by_venue[rec.venue] = stats.bad_by_venue.get(rec.venue, 0) + 1
            continue
        if events:
            feed(events)
        if t - last_expire >= EXPIRE_EVERY_NS:  # as the live app does every 100 ms, on file time
            last_expire = t
            engine.expire(t)
    engine.close_all(now[0])
    stats.signals = len(counted)
    return stats


def snapshot_instrument(venue: Venue, rest_path: str) -> int | None:
    """The instrument a REST snapshot path was fetched for (``symbol=`` / ``instId=`` …)."""
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(rest_path).query)
    for key in ("symbol", "instId", "product_id", "coin"):
        if key in query:
            return venue.instrument_id(query[key][0])
    return None
