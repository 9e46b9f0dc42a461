"""The fault matrix: every venue × every simulator fault, through the real sessions and engine.

One short run per fault, every venue's cells in parallel within one simulator (the BTC listings
of every venue market, plus the conversion markets): the real connectors against the exchange
simulator, the real engine behind them, and the fault injected on each venue it applies to. A
fault that cannot apply to a venue (no checksum, no sequence, no client ping) is refused by
``simulate``, saying why; that is asserted here too, so no cell is silently skipped.

Asserted per cell: the venue recovers within ``RECOVERY_S`` (reconnect after ``drop`` /
``mute-pongs``, book resynced after ``skip-seq`` / ``bad-checksum``, still streaming after
``garbage`` / ``delay``); no ``open`` or ``update`` ever names a leg whose venue is down or
whose book is resyncing at that instant (checked synchronously as the engine emits); and every
session stops within ``SHUTDOWN_S`` of being cancelled. Heartbeats run on a short clock (the
venues' real rule, shorter intervals) so a muted pong is noticed within the run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest

from arbsniper.config import Config, DemoConfig, HistoryConfig
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import ANY, DOWN, PERP, RESYNCING, SPOT, UP, MarketEvent, Quote, Signal, VenueStatus
from arbsniper.runtime import SHUTDOWN_S
from arbsniper.sim.exchange import FAULTS, SIM_REGISTRY, Simulator, fault_refusal, inject, parse_fault
from arbsniper.sim.synthetic import DEMO_LISTINGS
from arbsniper.venues import REGISTRY
from arbsniper.venues.base import Heartbeat
from arbsniper.venues.connect import build_venues
from arbsniper.venues.session import ReconnectPolicy, VenueSession

RUN_S = 6.0  # each fault's run, all venues at once
RECOVERY_S = 5.0  # from a fault's effect (down, resyncing) back to up
LISTINGS = [lst for lst in DEMO_LISTINGS if lst.instrument.startswith("BTC/") or lst.instrument in ("USDT/USD", "USDC/USDT")]
DEMO = DemoConfig(updates_per_s=400.0, dislocation_every_s=0.4, stale_every_s=1e6, crossed_every_s=1e6)


@dataclass
class Cell:
    venue: str
    fault: str
    injected: int = 0
    downs: list[str] = field(default_factory=list)
    resyncs: int = 0
    recoveries_s: list[float] = field(default_factory=list)
    quotes_after_fault: int = 0


@dataclass
class Run:
    symbols: SymbolMap
    cells: dict[str, Cell]
    conn: dict[tuple[int, int], int] = field(default_factory=dict)  # (venue, market) -> state
    book: dict[tuple[int, int], int] = field(default_factory=dict)  # (venue, instrument) -> state
    since: dict[tuple[int, int, int], float] = field(default_factory=dict)  # when it left UP
    violations: list[str] = field(default_factory=list)
    signals: int = 0
    opens: int = 0
    bad_frames: dict[str, int] = field(default_factory=dict)  # per venue, counted by its sessions

    def on_status(self, ev: VenueStatus) -> None:
        name = self.symbols.venue_name(ev.venue)
        cell = self.cells.get(name)
        now = time.monotonic()
        if ev.instrument == ANY:
            markets = (SPOT, PERP) if ev.market == ANY else (ev.market,)
            for m in markets:
                key = (ev.venue, m)
                prev = self.conn.get(key)
                self.conn[key] = ev.state
                self._timed(cell, (ev.venue, m, -1), prev, ev.state, now)
            if ev.state == DOWN and cell is not None:
                cell.downs.append(ev.reason)
        else:
            key2 = (ev.venue, ev.instrument)
            prev = self.book.get(key2)
            self.book[key2] = ev.state
            if ev.state == RESYNCING and prev == UP and cell is not None:
                cell.resyncs += 1
            self._timed(cell, (ev.venue, ev.instrument, 1), prev, ev.state, now)

    def _timed(self, cell: Cell | None, key: tuple[int, int, int], prev: int | None, state: int, now: float) -> None:
        if prev == UP and state != UP:
            self.since[key] = now
        elif state == UP and key in self.since and cell is not None and cell.injected:
            cell.recoveries_s.append(now - self.since.pop(key))

    def leg_problem(self, venue: str, instrument: str) -> str | None:
        v = self.symbols.venue_id(venue)
        i = self.symbols.instrument_id(instrument)
        kind = PERP if ":" in instrument else SPOT
        if self.conn.get((v, kind)) != UP:
            return f"{venue} {'perp' if kind == PERP else 'spot'} connection not up"
        if self.book.get((v, i)) in (DOWN, RESYNCING):
            return f"{venue} {instrument} book resyncing"
        return None

    def on_signal(self, s: Signal) -> None:
        self.signals += 1
        if s.event == "open":
            self.opens += 1
        if s.event not in ("open", "update"):
            return
        for venue, inst in ((s.buy_exchange, s.buy_instrument), (s.sell_exchange, s.sell_instrument)):
            why = self.leg_problem(venue, inst)
            if why is not None:
                self.violations.append(f"{s.event} {s.id}: {why}")


def _short(hb: Heartbeat) -> Heartbeat:
    return Heartbeat(hb.mode, 0.2 if hb.interval_s else 0.0, 1.5, hb.payload)


async def _inject_loop(sim: Simulator, run: Run, cell: Cell) -> None:
    server = sim.servers[cell.venue]
    instruments = [lst.instrument for lst in server.listings]
    await asyncio.sleep(1.5)  # books synced first
    k = 0
    while True:
        inst = instruments[k % len(instruments)]
        k += 1
        cell.injected += 1
        inject(server, cell.fault, inst)
        if cell.fault in ("mute-pongs", "delay"):  # toggles: on until noticed (or a while), then off
            await asyncio.sleep(2.0)
            inject(server, cell.fault, inst)
            await asyncio.sleep(1.5)
        else:
            await asyncio.sleep(1.2)


async def _run_fault(fault: str) -> Run:
    config = Config(demo=DEMO, history=HistoryConfig(enabled=False))
    symbols = SymbolMap()
    sim = Simulator(LISTINGS, demo=DEMO, seed=11)
    applicable = [name for name in sim.servers if fault_refusal(SIM_REGISTRY[name], fault) is None]
    run = Run(symbols, {name: Cell(name, fault) for name in applicable})
    await sim.start()
    tasks: list[asyncio.Task[None]] = []
    sessions: list[VenueSession] = []
    try:
        venues = build_venues(config, symbols, sim.urls(), sim.listings)
        engine = Engine(symbols, config, run.on_signal)
        engine.grow()
        shape = [len(symbols.venues), len(symbols.instruments)]

        def sink(ev: MarketEvent) -> None:
            if type(ev) is VenueStatus:
                run.on_status(ev)
            elif type(ev) is Quote:
                cell = run.cells.get(symbols.venue_name(ev.venue))
                if cell is not None and cell.injected:
                    cell.quotes_after_fault += 1
            if [len(symbols.venues), len(symbols.instruments)] != shape:
                engine.grow()
                shape[:] = [len(symbols.venues), len(symbols.instruments)]
            engine.on_event(ev)

        for v in venues:
            s = VenueSession(v, policy=ReconnectPolicy(initial_s=0.05, max_s=0.3), heartbeat=_short(v.heartbeat()), seed=1)
            sessions.append(s)
            tasks.append(asyncio.create_task(s.run(sink), name=f"{v.name}-{v.market}"))

        async def expire() -> None:
            while True:
                await asyncio.sleep(0.1)
                engine.expire(time.time_ns())

        tasks.append(asyncio.create_task(expire()))
        tasks.extend(asyncio.create_task(_inject_loop(sim, run, cell)) for cell in run.cells.values())
        await asyncio.sleep(RUN_S)
        # Let a fault injected at the end recover before judging.
        await asyncio.sleep(1.0)
    finally:
        for t in tasks:
            t.cancel()
        t0 = time.monotonic()
        done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_S) if tasks else (set(), set())
        stop_s = time.monotonic() - t0
        await sim.stop()
    assert not pending, f"{fault}: {[t.get_name() for t in pending]} still running {SHUTDOWN_S} s after cancel"
    assert stop_s < SHUTDOWN_S
    for s in sessions:  # every fault's bad frames are counted, never raised
        assert s.stats.frames > 0, f"{s.venue.name} {s.venue.market} received nothing"
        run.bad_frames[s.venue.name] = run.bad_frames.get(s.venue.name, 0) + s.stats.bad_frames
    return run


def test_every_fault_either_applies_to_a_venue_or_simulate_refuses_it_saying_why() -> None:
    servers = {name: SIM_REGISTRY[name]([]) for name in REGISTRY}
    for name in REGISTRY:
        for fault in FAULTS:
            why = fault_refusal(SIM_REGISTRY[name], fault)
            if why is None:
                assert parse_fault(f"{name}:{fault}:1", servers) == (name, fault, 1.0)  # type: ignore[arg-type]
            else:
                with pytest.raises(ValueError, match="does not apply"):
                    parse_fault(f"{name}:{fault}", servers)  # type: ignore[arg-type]
        # mute-pongs applies exactly where the client pings and waits for the venue's answer.
        market = next(iter(REGISTRY[name].markets))
        mode = REGISTRY[name].venue_class(market)(market, SymbolMap()).heartbeat().mode
        assert (fault_refusal(SIM_REGISTRY[name], "mute-pongs") is None) == (mode in ("client-ping", "text", "json")), name


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_matrix(fault: str) -> None:
    run = asyncio.run(_run_fault(fault))
    assert run.cells, f"{fault} applies to no venue"
    assert run.violations == [], f"{len(run.violations)} signals on a down or resyncing leg: {run.violations[:5]}"
    assert run.opens > 0, "no opportunity opened at all: the run proves nothing"
    problems: dict[str, str] = {}
    for name, cell in run.cells.items():
        if not cell.injected:
            problems[name] = "never injected"
        elif fault in ("drop", "mute-pongs") and not cell.downs:
            problems[name] = "never went down"
        elif fault == "mute-pongs" and not any("pong" in r or "frame" in r for r in cell.downs):
            problems[name] = f"down for another reason: {cell.downs}"
        elif fault in ("skip-seq", "bad-checksum") and not cell.resyncs:
            problems[name] = "book never resynced"
        elif fault in ("drop", "mute-pongs", "skip-seq", "bad-checksum") and not cell.recoveries_s:
            problems[name] = f"never recovered (downs {cell.downs[:3]})"
        elif cell.recoveries_s and max(cell.recoveries_s) > RECOVERY_S:
            problems[name] = f"recovered in {max(cell.recoveries_s):.2f} s > {RECOVERY_S} s"
        elif fault == "garbage" and not run.bad_frames.get(name):
            problems[name] = "garbage never counted as a bad frame"
        elif cell.quotes_after_fault == 0:
            problems[name] = "no quote after the fault"
    summary = {n: (c.injected, len(c.downs), c.resyncs, round(max(c.recoveries_s), 3) if c.recoveries_s else None)
               for n, c in run.cells.items()}
    print(f"\n{fault}: signals {run.signals} opens {run.opens}; venue: (injected, downs, resyncs, worst recovery s) {summary}")
    assert problems == {}, problems
