"""``arbsniper bench --scale``: the cost of the real receive path as the universe grows.

Per size (8 venues × N instruments each): the exchange simulator runs in its own process (so
its CPU is not counted) and this process runs every venue's real connector and session,
feeding one engine synchronously, as ``arbsniper run`` does. Instrument i has the same
synthetic base (``Z0001`` …) on every venue, in the quote forms each venue lists in the demo,
so cross-venue opportunities exist.

Load: the simulator's market moves ``RATE_PER_INSTRUMENT`` times a second per listing, and each
move is published on the venue's own channels (BBO and depth as the venue has them, so roughly
one BBO frame and one depth frame per move on most venues): a liquid alt on a major venue
changes its top of book a few times a second; steadier books would only lower the load.

Each size runs in a fresh process so peak RSS is that size's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import resource
import time
from typing import Any

RATE_PER_INSTRUMENT = 4.0  # market moves per listing per second (see the module docstring)
SIZES = (25, 100, 300)
WARMUP_S = 2.0


def _listings(n: int) -> list[Any]:
    from arbsniper.sim.exchange import SIM_REGISTRY
    from arbsniper.sim.synthetic import DEMO_LISTINGS, Listing
    from arbsniper.venues import REGISTRY

    if n == 0:  # the demo's own listings
        return [lst for lst in DEMO_LISTINGS if lst.venue in set(REGISTRY) & set(SIM_REGISTRY)]
    out: list[Listing] = []
    for venue in sorted(set(REGISTRY) & set(SIM_REGISTRY)):
        forms: list[str] = []
        for lst in DEMO_LISTINGS:
            if lst.venue == venue and lst.instrument.startswith("BTC/"):
                forms.append(lst.instrument[3:])  # "/USDT", "/USDC:USDC", …
        forms = forms or ["/USDT"]
        out += [Listing(venue, f"Z{i:04d}{forms[i % len(forms)]}") for i in range(n)]
    return out


def listing_metadata(listings: list[Any]) -> dict[tuple[str, str], list[Any]]:
    """Per (venue, market): the ``InstrumentMeta`` of each simulated listing, as the venue's REST
    listing would give it (contract size included); listings named only by the venue's own
    listing (Coinbase futures) are left out."""
    from arbsniper.instruments import SymbolMap, parse_instrument
    from arbsniper.venues import REGISTRY
    from arbsniper.venues.metadata import TRADING, InstrumentMeta

    wanted: dict[tuple[str, str], list[Any]] = {}
    for lst in listings:
        market = "perp" if parse_instrument(lst.instrument).is_perp else "spot"
        info = REGISTRY.get(lst.venue)
        cls = info.markets.get(market) if info is not None else None
        if cls is None:
            continue
        try:
            native = cls(market, SymbolMap()).native_symbol(lst.instrument)
        except ValueError:
            continue
        wanted.setdefault((lst.venue, market), []).append(InstrumentMeta(
            venue=lst.venue, market=market, native_symbol=native, instrument=lst.instrument, status=TRADING,
            contract_size=lst.contract_size, funding_interval_hours=lst.funding_interval_hours if market == "perp" else 0.0))
    return wanted


def _venues(symbols: Any, urls: dict[str, tuple[str, str]], listings: list[Any]) -> list[Any]:
    """The real connectors of ``listings``, each instrument with its listing's metadata."""
    from arbsniper.venues import REGISTRY

    out = []
    for (name, market), metas in listing_metadata(listings).items():
        cls = REGISTRY[name].markets[market]
        base_url, rest_url = urls[name]
        step = cls.max_instruments_per_connection
        for i in range(0, len(metas), step):
            out.append(cls(market, symbols, metas[i : i + step], base_url=base_url, rest_url=rest_url, metadata=metas))
    return out


def _sim_child(n: int, rate: float, conn: Any) -> None:
    """The simulator of ``n`` instruments per venue; sends its URLs, then its frame count when told to stop."""
    from arbsniper.config import DemoConfig
    from arbsniper.sim.exchange import Simulator

    async def main() -> None:
        listings = _listings(n)
        sim = Simulator(listings, demo=DemoConfig(updates_per_s=rate * len(listings), dislocation_every_s=0.5), seed=3,
                        venues=sorted({lst.venue for lst in listings}))
        await sim.start()
        conn.send(sim.urls())
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, conn.recv) == "count":
            conn.send(sum(s.frames_sent for s in sim.servers.values()))
        await sim.stop()

    asyncio.run(main())


def _client_child(n: int, seconds: float, rate: float, conn: Any) -> None:
    conn.send(asyncio.run(_measure(n, seconds, rate)))


async def _measure(n: int, seconds: float, rate: float) -> dict[str, Any]:
    from arbsniper.config import Config
    from arbsniper.engine import Engine
    from arbsniper.instruments import SymbolMap
    from arbsniper.venues.connect import ConnectorSource

    ctx = mp.get_context("spawn")
    sim_conn, child_conn = ctx.Pipe()
    sim = ctx.Process(target=_sim_child, args=(n, rate, child_conn), daemon=True)
    sim.start()
    loop = asyncio.get_running_loop()
    try:
        urls = await loop.run_in_executor(None, sim_conn.recv)
        config = Config()
        symbols = SymbolMap()
        listings = _listings(n)
        for lst in listings:
            symbols.venue_id(lst.venue)
            symbols.instrument_id(lst.instrument)
        lat: list[float] = []
        keep = [False]

        def on_signal(s: Any) -> None:
            if keep[0]:
                lat.append(s.latency_us)

        engine = Engine(symbols, config, on_signal)
        engine.grow()
        received = [0]
        on_event = engine.on_event

        def sink(ev: Any) -> None:
            received[0] += 1
            on_event(ev)

        source = ConnectorSource(_venues(symbols, urls, listings))
        task = asyncio.create_task(source.run(sink))
        await asyncio.sleep(WARMUP_S)

        def counts() -> tuple[int, int]:
            return sum(s.stats.frames for s in source.sessions), sum(s.stats.events for s in source.sessions)

        sim_conn.send("count")
        sent0 = await loop.run_in_executor(None, sim_conn.recv)
        frames0, events0 = counts()
        recv0 = received[0]
        cpu0, t0 = time.process_time(), time.monotonic()
        keep[0] = True
        await asyncio.sleep(seconds)
        keep[0] = False
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
        frames1, events1 = counts()
        recv1 = received[0]
        sim_conn.send("count")
        sent1 = await loop.run_in_executor(None, sim_conn.recv)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # the measured sessions shutting down
            await task
    finally:
        sim_conn.send("stop")
        sim.join(10)
        if sim.is_alive():
            sim.kill()
    frames = frames1 - frames0
    lat.sort()
    return {
        "venues": len({lst.venue for lst in listings}), "instruments_per_venue": n, "listings": len(listings),
        "seconds": round(wall, 2),
        "frames_offered_per_s": round((sent1 - sent0) / wall), "frames_handled_per_s": round(frames / wall),
        "cpu_s_per_10k_frames": round(cpu / max(1, frames) * 10_000, 3),
        "cpu_share": round(cpu / wall, 3),
        "signals": len(lat),
        "receive_signal_p50_us": round(lat[len(lat) // 2], 1) if lat else None,
        "receive_signal_p99_us": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None,
        # depth the sessions coalesced (a newer book of the same instrument in the same socket read)
        "conflation_drops": (events1 - events0) - (recv1 - recv0),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def bench_scale(sizes: tuple[int, ...] = SIZES, seconds: float = 8.0, rate: float = RATE_PER_INSTRUMENT,
                demo: bool = True) -> list[dict[str, Any]]:
    """One row per size, each measured in a fresh process; first, with ``demo``, the demo's own
    listings at the demo's rate (``instruments_per_venue`` 0)."""
    from arbsniper.config import DemoConfig

    ctx = mp.get_context("spawn")
    rows = []
    runs = [(n, rate) for n in sizes]
    if demo:
        runs.insert(0, (0, DemoConfig().updates_per_s / len(_listings(0))))
    for n, r in runs:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_client_child, args=(n, seconds, r, child), daemon=False)
        proc.start()
        if not parent.poll(seconds + 120):
            proc.kill()
            raise RuntimeError(f"scale run of {n} instruments did not finish")
        rows.append(parent.recv())
        proc.join(10)
    return rows
