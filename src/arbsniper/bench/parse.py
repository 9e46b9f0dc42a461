"""Parse cost per venue: ns per frame of each connector's ``parse`` on real protocol frames.

Frames come from a short in-process recording of the exchange simulator through the real
connectors (so they have each venue's real shapes, acks, heartbeats and book snapshots), then
each venue market's frames are parsed again, in order, by a fresh parser, best of ``passes``.
Book snapshots fetched over REST are applied untimed, so depth deltas are timed on a live book.
"""

from __future__ import annotations

import asyncio
import base64
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

    def frame(self, venue: str, market: str, recv_ns: int, text: str | bytes) -> None:
        if isinstance(text, bytes):  # a binary frame (Paradex SBE), kept as a recording keeps it
            self.records.append(Record(venue, market, recv_ns, "", frame_b64=base64.b64encode(text).decode()))
        else:
            self.records.append(Record(venue, market, recv_ns, text))

    def rest(self, venue: str, market: str, recv_ns: int, path: str, body: str) -> None:
        self.records.append(Record(venue, market, recv_ns, body, rest=path))

    def status(self, venue: str, market: str, recv_ns: int, state: str, reason: str) -> None:
        return None


def _wire(r: Record) -> bytes:
    """A recorded frame as the socket delivered it: the text's bytes, or the binary frame's."""
    p = r.payload()
    return p if isinstance(p, bytes) else p.encode()


Metadata = dict[tuple[str, str], list[InstrumentMeta]]  # (venue, market) -> its listing


def _parser(venue: str, tap_market: str, symbols: SymbolMap, metas: Metadata) -> Venue:
    """A fresh parser for one recorded connection ("perp", or "perp#1" for a market's second one)."""
    market = tap_market.partition("#")[0]
    return venue_class(venue, market)(market, symbols, metadata=metas.get((venue, market), ()))


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


def bench_parse(records: list[Record], passes: int = 5, metadata: Metadata | None = None) -> dict[str, dict[str, float | None]]:
    """``{"binance:spot": {"frames": n, "ns_per_frame": x, "bbo_ns_per_frame": y, …}, …}``.

    Each frame is timed in every pass (a fresh parser per pass, same frames in order) and its
    fastest time kept: on a shared machine a pass interrupted by another process only loses that
    frame's sample, not the whole average.

    ``bbo_ns_per_frame`` averages the frames that carried only quotes (the BBO channels); the rest
    are mostly depth deltas, whose cost grows with the levels they change. ``depth_floor_ratio``:
    over the JSON frames that produced a Book, parse time / the time of a plain
    ``msgspec.json.decode`` of the same frames, timed the same way in the same passes.
    """
    by_key: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        by_key.setdefault((r.venue, r.market), []).append(r)
    out: dict[str, dict[str, float | None]] = {}
    decode = msgspec.json.decode
    pc = time.perf_counter_ns
    for (venue, market), recs in sorted(by_key.items()):
        base_market = market.partition("#")[0]  # "perp#1": a venue market's second connection
        cls = venue_class(venue, base_market)
        frames = [(_wire(r), r.recv_ns, r.rest) for r in recs]
        n = len(frames)
        binary = [r.binary for r in recs]
        best = [1 << 62] * n
        floor = [1 << 62] * n
        kinds = [0] * n  # 0 other, 1 BBO only, 2 JSON frame with a Book
        events = 0
        for _ in range(passes):
            parser = cls(base_market, SymbolMap(), metadata=(metadata or {}).get((venue, base_market), ()))
            parse, parse_binary = parser.parse, parser.parse_binary
            events = 0
            for i, (data, recv_ts, rest) in enumerate(frames):
                if rest is not None:
                    iid = snapshot_instrument(parser, rest)
                    if iid is not None:
                        parser.apply_snapshot(iid, data, recv_ts)
                    continue
                evs: tuple[object, ...] = ()
                fn = parse_binary if binary[i] else parse
                t0 = pc()
                try:  # noqa: SIM105 (no context manager inside the timed region)
                    evs = fn(data, recv_ts).events
                except FrameError:
                    pass
                dt = pc() - t0
                if dt < best[i]:
                    best[i] = dt
                events += len(evs)
                if evs and all(type(e) is Quote for e in evs):
                    kinds[i] = 1
                elif any(type(e) is Book for e in evs) and data[:1] in (b"{", b"["):
                    kinds[i] = 2
                    t0 = pc()
                    decode(data)  # the floor: a plain decode of the same frame, nothing else
                    dt = pc() - t0
                    if dt < floor[i]:
                        floor[i] = dt
        timed = [i for i in range(n) if frames[i][2] is None]
        bbo = [best[i] for i in timed if kinds[i] == 1]
        depth = [i for i in timed if kinds[i] == 2 and floor[i] < 1 << 62]
        spent_depth = sum(best[i] for i in depth)
        spent_floor = sum(floor[i] for i in depth)
        out[f"{venue}:{market}"] = {
            "frames": len(timed), "events": events,
            "ns_per_frame": round(sum(best[i] for i in timed) / max(1, len(timed))),
            "bbo_frames": len(bbo), "bbo_ns_per_frame": round(sum(bbo) / max(1, len(bbo))),
            # None for binary venues (Paradex SBE has no JSON floor)
            "depth_frames": len(depth), "depth_ns_per_frame": round(spent_depth / max(1, len(depth))),
            "floor_ns_per_frame": round(spent_floor / max(1, len(depth))),
            "depth_floor_ratio": round(spent_depth / spent_floor, 2) if depth and spent_floor else None,
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
    frames = [(r.venue, r.market, _wire(r), r.recv_ns, r.rest, r.binary) for r in records]

    def run(timed: bool) -> tuple[list[int], int, int]:
        symbols = SymbolMap()
        now = [0]
        signals: list[object] = []
        engine = Engine(symbols, config, signals.append, clock_ns=lambda: now[0])
        parsers: dict[tuple[str, str], Venue] = {}
        for venue, market, _, _, _, _ in frames:
            if (venue, market) not in parsers:
                parsers[(venue, market)] = _parser(venue, market, symbols, metas)
        if timed:
            # sized by the untimed pass: same frames, same symbols in the same order
            for venue, market, data, recv_ns, rest, binary in frames:
                if rest is None:
                    with contextlib.suppress(FrameError):
                        p = parsers[(venue, market)]
                        (p.parse_binary if binary else p.parse)(data, recv_ns)
            parsers = {key: _parser(*key, symbols, metas) for key in parsers}
        engine.grow()
        on_event = engine.on_event
        pc = time.perf_counter_ns
        lat: list[int] = []
        n = 0
        for venue, market, data, recv_ns, rest, binary in frames:
            parser = parsers[(venue, market)]
            fn = parser.parse_binary if binary else parser.parse
            now[0] = recv_ns
            if rest is not None:
                iid = snapshot_instrument(parser, rest)
                if iid is not None:
                    for ev in parser.apply_snapshot(iid, data, recv_ns).events:
                        on_event(ev)
                continue
            t0 = pc()
            try:
                for ev in fn(data, recv_ns).events:
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
