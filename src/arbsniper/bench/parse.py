"""Parse cost per venue: ns per frame of each connector's ``parse`` on real protocol frames.

Frames come from a short in-process recording of the exchange simulator through the real
connectors (so they have each venue's real shapes, acks, heartbeats and book snapshots), then
each venue market's frames are parsed again, in order, by a fresh parser, best of ``passes``.
Book snapshots fetched over REST are applied untimed, so depth deltas are timed on a live book.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import msgspec

from arbsniper.config import Config, DemoConfig
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Quote
from arbsniper.record import Record
from arbsniper.replay import snapshot_instrument
from arbsniper.sim.launch import SimulatedVenues
from arbsniper.venues import venue_class
from arbsniper.venues.base import FrameError, Venue
from arbsniper.venues.connect import run_for
from arbsniper.venues.metadata import InstrumentMeta


class _Collect:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def frame(self, venue: str, market: str, recv_ns: int, text: str) -> None:
        self.records.append(Record(venue, market, recv_ns, text))

    def rest(self, venue: str, market: str, recv_ns: int, path: str, body: str) -> None:
        self.records.append(Record(venue, market, recv_ns, body, rest=path))

    def status(self, venue: str, market: str, recv_ns: int, state: str, reason: str) -> None:
        return None


Metadata = dict[tuple[str, str], list[InstrumentMeta]]  # (venue, market) -> its listing


def collect_frames(seconds: float = 3.0, seed: int = 11) -> tuple[list[Record], Metadata]:
    """Record ``seconds`` of simulated traffic through the real connectors, and the simulator's
    listings (the parsers need them: OKX, KuCoin and Coinbase futures sizes are contracts)."""
    demo = DemoConfig(updates_per_s=3000.0, dislocation_every_s=0.4)  # lively: opportunities to emit
    config = Config(demo=demo)
    tap = _Collect()
    source = SimulatedVenues(config, SymbolMap(), seed=seed, tap=tap)
    asyncio.run(run_for(source, lambda _e: None, seconds))
    found = source.discovery
    return tap.records, ({k: lst.instruments for k, lst in found.listings.items()} if found is not None else {})


def bench_parse(records: list[Record], passes: int = 3, metadata: Metadata | None = None) -> dict[str, dict[str, float | None]]:
    """``{"binance:spot": {"frames": n, "ns_per_frame": x, "bbo_ns_per_frame": y, …}, …}``.

        ``bbo_ns_per_frame`` averages the frames that carried only quotes (the BBO channels);
        the rest are mostly depth deltas, whose cost grows with the levels they change.
        ``depth_floor_ratio``: the JSON frames that produced a Book, parse time over the time of a
        plain ``msgspec.json.decode`` of the same frames, both measured in the same pass.
        """
    by_key: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        by_key.setdefault((r.venue, r.market), []).append(r)
    out: dict[str, dict[str, float | None]] = {}
    for (venue, market), recs in sorted(by_key.items()):
        cls = venue_class(venue, market)
        frames = [(r.frame.encode(), r.recv_ns, r.rest) for r in recs]
        n_frames = sum(1 for f in frames if f[2] is None)
        best = best_bbo = best_depth = best_floor = float("inf")
        events = n_bbo = n_depth = 0
        decode = msgspec.json.decode
        for _ in range(passes):
            parser = cls(market, SymbolMap(), metadata=(metadata or {}).get((venue, market), ()))
            parse = parser.parse
            spent = spent_bbo = spent_depth = spent_floor = 0
            events = n_bbo = n_depth = 0
            for data, recv_ns, rest in frames:
                if rest is not None:
                    iid = snapshot_instrument(parser, rest)
                    if iid is not None:
                        parser.apply_snapshot(iid, data, recv_ns)
                    continue
                evs: tuple[object, ...] = ()
                t0 = time.perf_counter_ns()
                try:  # noqa: SIM105 (no context manager inside the timed region)
                    evs = parse(data, recv_ns).events
                except FrameError:
                    pass
                dt = time.perf_counter_ns() - t0
                spent += dt
                events += len(evs)
                if evs and all(type(e) is Quote for e in evs):
                    spent_bbo += dt
                    n_bbo += 1
                elif any(type(e) is Book for e in evs) and data[:1] in (b"{", b"["):
                    spent_depth += dt
                    n_depth += 1
                    t0 = time.perf_counter_ns()
                    decode(data)  # the floor: a plain decode of the same frame, nothing else
                    spent_floor += time.perf_counter_ns() - t0
            best = min(best, spent)
            best_bbo = min(best_bbo, spent_bbo)
            best_depth = min(best_depth, spent_depth)
            best_floor = min(best_floor, spent_floor)
        out[f"{venue}:{market}"] = {
            "frames": n_frames, "events": events, "ns_per_frame": round(best / max(1, n_frames)),
            "bbo_frames": n_bbo, "bbo_ns_per_frame": round(best_bbo / max(1, n_bbo)),
            # JSON depth frames: parse time over a plain msgspec.json.decode of the same frames
            # (None for binary venues: Paradex SBE has no JSON floor)
            "depth_frames": n_depth, "depth_ns_per_frame": round(best_depth / max(1, n_depth)),
            "floor_ns_per_frame": round(best_floor / max(1, n_depth)),
            "depth_floor_ratio": round(best_depth / best_floor, 2) if n_depth and best_floor else None,
        }
    return out


def bench_pipeline(records: list[Record], config: Config | None = None, metadata: Metadata | None = None) -> dict[str, float]:
    """The whole hot path, frame bytes → opportunity: every venue's frames, in receive order,
    through its parser and into one engine. Per-frame latency includes parsing, the engine and
    any signal emitted; the engine's clock is the frame's receive time (as in a replay).

    A first pass registers every symbol (the engine's arrays are sized before timing starts);
    the timed pass uses fresh parsers and a fresh engine on the same frames.
    """
    config = config or Config()
    metas = metadata or {}
    frames = [(r.venue, r.market, r.frame.encode(), r.recv_ns, r.rest) for r in records]

    def run(timed: bool) -> tuple[list[int], int, int]:
        symbols = SymbolMap()
        now = [0]
        signals: list[object] = []
        engine = Engine(symbols, config, signals.append, clock_ns=lambda: now[0])
        parsers: dict[tuple[str, str], Venue] = {}
        for venue, market, _, _, _ in frames:
            if (venue, market) not in parsers:
                parsers[(venue, market)] = venue_class(venue, market)(market, symbols, metadata=metas.get((venue, market), ()))
        if timed:
            # sized by the untimed pass: same frames, same symbols in the same order
            for venue, market, data, recv_ns, rest in frames:
                if rest is None:
                    with contextlib.suppress(FrameError):
                        parsers[(venue, market)].parse(data, recv_ns)
            parsers = {key: venue_class(*key)(key[1], symbols, metadata=metas.get(key, ())) for key in parsers}
        engine.grow()
        on_event = engine.on_event
        pc = time.perf_counter_ns
        lat: list[int] = []
        n = 0
        for venue, market, data, recv_ns, rest in frames:
            parser = parsers[(venue, market)]
            now[0] = recv_ns
            if rest is not None:
                iid = snapshot_instrument(parser, rest)
                if iid is not None:
                    for ev in parser.apply_snapshot(iid, data, recv_ns).events:
                        on_event(ev)
                continue
            t0 = pc()
            try:
                for ev in parser.parse(data, recv_ns).events:
                    on_event(ev)
            except FrameError:
                pass
            lat.append(pc() - t0)
            n += 1
        return lat, n, len(signals)

    lat, n, n_signals = run(timed=True)
    lat.sort()
    total = sum(lat)
    return {
        "frames": n,
        "signals": n_signals,
        "ns_per_frame": round(total / max(1, n)),
        "frames_per_s": round(n / (total / 1e9)) if total else 0,
        "p50_us": round(lat[len(lat) // 2] / 1000, 3) if lat else 0.0,
        "p99_us": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1000, 3) if lat else 0.0,
    }
