"""Replay a recording through the very parsers, engine and detector of a live run.

Deterministic and as fast as it goes: one thread, file order, and the clock is the receive time
written in the file (the engine's ``clock_ns`` and every staleness check use it). Parsers are
built per (venue, market, connection) as they appear (``"market": "spot#1"`` is a venue
market's second connection), in *open* mode (every symbol in the file is parsed);
REST snapshot lines go to ``apply_snapshot``; status lines become the same ``VenueStatus``
events the session emitted. Resync and reconnect requests are not acted on: what the live
session fetched, and when it reconnected, is in the file.

A live session marks every subscribed instrument of a depth-syncing venue RESYNCING ("awaiting
the first book") at each connection, until its parser says the book synced. A replay's parsers
are open (they know no subscription list), so the replay does the same per instrument: after
each recorded ``up``, the first event of an instrument on that venue is preceded by that status.
Without it a replay could trade on a quote whose book had not synced since a recorded reconnect.

A recording made inside a run (``run --record``) also holds *marks* of what the live pipeline
did with the frames: ``pipeline`` (first line), ``books`` (a session passed on the depth it held
for the rest of a socket read), ``drain`` (the stop's last drain), ``expire`` (the 100 ms
staleness sweep, at its time) and ``shutdown``. The live engine takes each event inside the socket
read that carried it (``app.App._on_market``), depth once per read: with the marks the replay
holds depth exactly as long and sweeps at the same times, so it opens and closes the same
opportunities. Without them (``arbsniper record``) every event goes straight in.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from arbsniper.config import Config
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import DOWN, RESYNCING, UP, Book, MarketEvent, Signal, VenueStatus
from arbsniper.record import numbered_records
from arbsniper.venues import venue_class
from arbsniper.venues.base import REJECTED, Venue

EXPIRE_EVERY_NS = 100_000_000
_REPLAY_REJECTED: tuple[type[BaseException], ...] = (*REJECTED, binascii.Error)  # + a bad frame_b64


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


def replay(path: str | Path | Sequence[str | Path], config: Config, emit: Callable[[Signal], None], *,
           before: Callable[[int], None] | None = None,
           on_engine: Callable[[Engine], None] | None = None,
           on_bad: Callable[[int, str], None] | None = None) -> ReplayStats:
    """Feed a recording through parsers and engine; signals go to ``emit`` in order.

    ``path`` may be the parts of one rotated recording, in order: they are read as one stream.

    ``before(t)`` is called ahead of each record received at ``t`` (file time), so a backtest
    can act on the market as it stood just before then; ``on_engine`` receives the engine.
    A damaged line (not a record) or a frame the parser rejects is counted in ``bad_frames`` and
    reported to ``on_bad`` as (line number, reason); the replay goes on.
    """
    symbols = SymbolMap()
    stats = ReplayStats()
    now = [0]
    counted: list[Signal] = []

    def on_signal(s: Signal) -> None:
        counted.append(s)
        emit(s)

    engine = Engine(symbols, config, on_signal, clock_ns=lambda: now[0])
    if on_engine is not None:
        on_engine(engine)
    venues: dict[tuple[str, str], Venue] = {}
    announced: dict[tuple[str, str], set[int]] = {}  # instruments marked awaiting since the last "up"
    shape = (0, 0)
    on_event = engine.on_event
    last_expire = 0
    queue: _Direct | None = None  # the live engine's input, from a "pipeline" mark on
    held: dict[tuple[str, str], dict[int, Book]] = {}  # depth a live session held until its "books" flush

    def process(events: Sequence[MarketEvent]) -> None:
        nonlocal shape
        if (len(symbols.venues), len(symbols.instruments)) != shape:
            engine.grow()
            shape = (len(symbols.venues), len(symbols.instruments))
        for ev in events:
            on_event(ev)
        stats.events += len(events)

    def emit_direct(key: tuple[str, str], events: Sequence[MarketEvent]) -> None:
        # The session's _emit: straight to the queue; a snapshot replaces held depth of its instrument.
        if queue is None:
            process(events)
            return
        pending = held.get(key)
        for ev in events:
            if pending and type(ev) is Book:
                pending.pop(ev.instrument, None)
            queue.push(ev)

    def emit_frame(key: tuple[str, str], events: Sequence[MarketEvent]) -> None:
        # The session's on_data: depth held per instrument until the flush, a status flushes it first.
        if queue is None:
            process(events)
            return
        pending = held.setdefault(key, {})
        for ev in events:
            if type(ev) is Book:
                pending[ev.instrument] = ev
                continue
            if pending and type(ev) is VenueStatus:
                flush(key)
            queue.push(ev)

    def flush(key: tuple[str, str]) -> None:
        pending = held.pop(key, None)
        if pending and queue is not None:
            for b in pending.values():
                queue.push(b)

    paths = [path] if isinstance(path, (str, Path)) else list(path)
    def bad(n: int, why: str) -> None:
        stats.bad_frames += 1
        if on_bad is not None:
            on_bad(n, why)

    for n, rec in itertools.chain.from_iterable(numbered_records(p, bad) for p in paths):
        stats.records += 1
        t = rec.recv_ns
        if before is not None:
            before(t)
        now[0] = t
        if not stats.first_ns:
            stats.first_ns = t
        stats.last_ns = t
        key = (rec.venue, rec.market)
        if rec.mark is not None:
            if rec.mark == "pipeline":
                queue = _Direct(process)
            elif queue is None:
                continue
            elif rec.mark == "drain":
                process(queue.drain_nowait())
            elif rec.mark == "books":
                flush(key)
            elif rec.mark == "expire":
                engine.expire(t)
            elif rec.mark == "shutdown":
                break
            continue
        venue = venues.get(key)
        if venue is None:
            market = rec.market.partition("#")[0]  # "spot#1": the second connection of a venue market
            try:
                cls = venue_class(rec.venue, market)
            except ValueError as exc:
                raise ValueError(f"{paths[0]}:{n}: {exc}") from None
            venue = venues[key] = cls(market, symbols, metadata=rec.meta or ())
            venue.max_abs_funding_rate = config.detector.max_abs_funding_rate
            announced[key] = set()
            if rec.meta is not None:
                continue
            if rec.status is None:  # a foreign recording without connection lines: it was up
                emit_direct(key, [venue.status(UP, "connected", t), *venue.on_connected(t).events])
        if rec.meta is not None:
            venue.metadata.update({m.native_symbol: m for m in rec.meta})
            continue
        if rec.status is not None:
            if rec.status == "up":
                announced[key] = set()
                emit_direct(key, [venue.status(UP, rec.reason or "connected", t), *venue.on_connected(t).events])
            else:
                emit_direct(key, [venue.status(DOWN, rec.reason or "down", t)])
            continue
        events: Sequence[MarketEvent]
        try:
            if rec.rest is not None:
                iid = snapshot_instrument(venue, rec.rest)
                events = venue.apply_snapshot(iid, rec.frame, t).events if iid is not None else ()
            elif rec.frame_b64 is not None:
                stats.frames += 1
                events = venue.parse_binary(base64.b64decode(rec.frame_b64), t).events
            else:
                stats.frames += 1
                events = venue.parse(rec.frame, t).events
            if events and venue.book_sync:
                events = awaiting_first_book(venue, announced[key], events, t)
        except _REPLAY_REJECTED as exc:
            bad(n, f"{rec.venue} {rec.market}: {exc}")
            stats.bad_by_venue[rec.venue] = stats.bad_by_venue.get(rec.venue, 0) + 1
            continue
        if events:
            if rec.rest is not None:
                emit_direct(key, events)
            else:
                emit_frame(key, events)
        if queue is None and t - last_expire >= EXPIRE_EVERY_NS:  # as the live app does every 100 ms, on file time
            last_expire = t
            engine.expire(t)
    if queue is not None:  # what the live run drained at its stop
        for key in list(held):
            flush(key)
        process(queue.drain_nowait())
    engine.close_all(now[0])
    stats.signals = len(counted)
    return stats


class _Direct:
    """The live engine's input after a ``pipeline`` mark: each event processed as it is pushed, as
    the embedded app does inside the socket read (no queue to wait in, nothing left to drain)."""

    __slots__ = ("_process",)

    def __init__(self, process: Callable[[Sequence[MarketEvent]], None]) -> None:
        self._process = process

    def push(self, ev: MarketEvent) -> None:
        self._process((ev,))

    def drain_nowait(self) -> tuple[MarketEvent, ...]:
        return ()


def awaiting_first_book(venue: Venue, announced: set[int], events: Sequence[MarketEvent],
                        t: int) -> Sequence[MarketEvent]:
    """``events``, each instrument new since the connection opened preceded by RESYNCING, as live."""
    new: list[MarketEvent] | None = None
    for ev in events:
        iid = getattr(ev, "instrument", -1)
        if iid >= 0 and iid not in announced:
            announced.add(iid)
            if new is None:
                new = []
            new.append(VenueStatus(venue.venue_id, RESYNCING, "awaiting the first book", t, venue.kind, iid))
    return events if new is None else [*new, *events]


def snapshot_instrument(venue: Venue, rest_path: str) -> int | None:
    """The instrument a REST snapshot path was fetched for (``symbol=`` / ``instId=`` …)."""
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(rest_path).query)
    for key in ("symbol", "instId", "product_id", "coin"):
        if key in query:
            return venue.instrument_id(query[key][0])
    return None
