"""The engine alone: a generated quote stream through state → detector → lifecycle, and the naive way.

A generated stream of quote updates (≥ 8 venues × ≥ 50 instruments, with random walks, noise and
injected dislocations so opportunities really open, update and close) goes through
state → detector → lifecycle on one core:

- a throughput pass (``updates_per_s``);
- a latency pass timing every update from the engine receiving it to its signals having been
  emitted (``p50_us``/``p99_us``/``p999_us``; the timer's own cost is included);
- the naive first version kept here — nested dicts of strings, every venue pair on every update —
  on the same stream, same rules (``naive_updates_per_s``, ``speedup_vs_naive``). Both count the
  opportunities they open, which must agree.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from typing import Any

from arbsniper.config import Config, load_config
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.model import Quote, Signal

NaiveTick = tuple[str, str, float, float, float, float, int]


def make_stream(n: int, n_venues: int, n_instruments: int, seed: int) -> tuple[SymbolMap, list[Quote], list[NaiveTick]]:
    """A reproducible stream of quotes, and the same ticks as strings for the naive version."""
    rng = random.Random(seed)
    symbols = SymbolMap()
    venues = [f"venue{k}" for k in range(n_venues)]
    names = [f"C{k:03d}/USDT" for k in range(n_instruments)]
    for venue in venues:
        symbols.venue_id(venue)
    for name in names:
        symbols.instrument_id(name)
    mids = [rng.uniform(1.0, 50_000.0) for _ in names]
    offset_bps = [[rng.gauss(0.0, 1.0) for _ in venues] for _ in names]
    seq = [[0] * n_venues for _ in names]
    dislocated: dict[tuple[int, int], tuple[float, int]] = {}
    quotes: list[Quote] = []
    naive: list[NaiveTick] = []
    t = 1_800_000_000_000_000_000
    gauss = rng.gauss
    randrange = rng.randrange
    for k in range(n):
        t += 20_000  # 20 µs between updates: 50,000 updates per simulated second
        if k % 4000 == 0:  # a genuine dislocation every 80 ms of simulated time, living 10-80 ms
            key = (randrange(n_instruments), randrange(n_venues))
            dislocated[key] = (rng.choice((-1.0, 1.0)) * rng.uniform(25.0, 80.0), k + rng.randint(500, 4000))
        i = randrange(n_instruments)
        v = randrange(n_venues)
        mids[i] *= 1.0 + gauss(0.0, 0.4e-4)
        bps = offset_bps[i][v] + gauss(0.0, 1.5)
        d = dislocated.get((i, v))
        if d is not None:
            if k < d[1]:
                bps += d[0]
            else:
                del dislocated[(i, v)]
        mid = mids[i] * (1.0 + bps / 1e4)
        half = mid * rng.uniform(0.5, 2.0) / 1e4
        bid = round(mid - half, 8)
        ask = round(mid + half, 8)
        bs = round(rng.uniform(0.1, 5.0), 4)
        asz = round(rng.uniform(0.1, 5.0), 4)
        seq[i][v] += 1
        quotes.append(Quote(v, i, bid, bs, ask, asz, t - 50_000, t, seq[i][v]))
        naive.append((names[i], venues[v], bid, bs, ask, asz, t))
    return symbols, quotes, naive


class NaiveDetector:
    """What a straightforward first version does: nested dicts of strings, all pairs, every time."""

    def __init__(self, config: Config) -> None:
        d = config.detector
        self.config = config
        self.books: dict[str, dict[str, dict[str, Any]]] = {}
        self.open: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.max_age_ns = d.max_quote_age_ms * 1_000_000
        self.min_spread = d.min_spread_bps
        self.min_net = d.min_net_bps
        self.max_sane = d.max_sane_spread_bps
        self.slippage = d.slippage_bps
        self.max_notional = d.max_notional
        self.update_bps = d.update_min_bps
        self.opened = 0

    def on_quote(self, symbol: str, venue: str, bid: float, bid_size: float, ask: float, ask_size: float, ts: int) -> list[dict[str, Any]]:
        book = self.books.setdefault(symbol, {})
        book[venue] = {"bid": bid, "ask": ask, "bid_size": bid_size, "ask_size": ask_size, "ts": ts}
        out: list[dict[str, Any]] = []
        for buy_venue, buy in book.items():
            for sell_venue, sell in book.items():
                if buy_venue == sell_venue:
                    continue
                key = (symbol, buy_venue, sell_venue)
                fresh = ts - buy["ts"] <= self.max_age_ns and ts - sell["ts"] <= self.max_age_ns
                spread = (sell["bid"] - buy["ask"]) / buy["ask"] * 10_000
                fees = self.config.taker_fee_bps(buy_venue, 0) + self.config.taker_fee_bps(sell_venue, 0)
                net = spread - fees - self.slippage
                if fresh and self.min_spread <= spread <= self.max_sane and net >= self.min_net:
                    size = min(buy["ask_size"], sell["bid_size"], self.max_notional / buy["ask"])
                    opp = {"symbol": symbol, "buy": buy_venue, "sell": sell_venue, "spread_bps": spread,
                           "fees_bps": fees, "net_bps": net, "size": size,
                           "confidence": min(100.0, 20 + 50 * min(spread / 50, 1.0))}
                    held = self.open.get(key)
                    if held is None:
                        self.open[key] = opp
                        self.opened += 1
                        out.append({"event": "open", **opp})
                    elif abs(net - held["net_bps"]) >= self.update_bps:
                        self.open[key] = opp
                        out.append({"event": "update", **opp})
                elif key in self.open:
                    out.append({"event": "close", **self.open.pop(key)})
        return out


NAIVE_SAMPLE = 200_000


def _opened_in(symbols: SymbolMap, config: Config, quotes: list[Quote]) -> int:
    engine = Engine(symbols, config, lambda s: None)
    for q in quotes:
        engine.on_event(q)
    return engine.lifecycle.opened


def percentile(sorted_values: list[int], q: float) -> float:
    idx = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[idx] / 1000.0


def _quiet(_stage: str) -> None:
    return None


def bench_hot_path(updates: int, venues: int, instruments: int, seed: int,
                   stage: Callable[[str], None] = _quiet) -> dict[str, Any]:
    """Run the three passes, announcing each to ``stage``; returns the figures (µs, updates/s)."""
    config = load_config(environ={})
    stage(f"generating {updates:,} updates over {venues} venues x {instruments} instruments")
    symbols, quotes, naive_ticks = make_stream(updates, venues, instruments, seed)
    gc.collect()
    gc.freeze()

    stage("engine throughput pass")
    signals: list[Signal] = []
    engine = Engine(symbols, config, signals.append, clock_ns=time.time_ns)
    on_event = engine.on_event
    t0 = time.perf_counter()
    for q in quotes:
        on_event(q)
    elapsed = time.perf_counter() - t0
    opened = engine.lifecycle.opened

    stage("engine latency pass (receive -> signals emitted, per update, on a fresh engine)")
    signals2: list[Signal] = []
    engine2 = Engine(symbols, config, signals2.append, clock_ns=time.time_ns)
    on_event2 = engine2.on_event
    pc = time.perf_counter_ns
    lat = [0] * len(quotes)
    for k, q in enumerate(quotes):
        t1 = pc()
        on_event2(q)
        lat[k] = pc() - t1
    lat.sort()

    stage(f"naive version on the first {min(NAIVE_SAMPLE, len(naive_ticks)):,} updates")  # slow enough that the rate settles fast
    naive = NaiveDetector(config)
    naive_on = naive.on_quote
    sample = naive_ticks[:NAIVE_SAMPLE]
    t2 = time.perf_counter()
    for tick in sample:
        naive_on(*tick)
    naive_elapsed = time.perf_counter() - t2
    opened_in_sample = _opened_in(symbols, config, quotes[:NAIVE_SAMPLE])
    gc.unfreeze()

    ups = len(quotes) / elapsed
    naive_ups = len(sample) / naive_elapsed
    return {
        "updates": len(quotes),
        "venues": venues,
        "instruments": instruments,
        "updates_per_s": round(ups),
        "p50_us": round(percentile(lat, 0.50), 3),
        "p99_us": round(percentile(lat, 0.99), 3),
        "p999_us": round(percentile(lat, 0.999), 3),
        "max_us": round(lat[-1] / 1000.0, 3),
        "mean_us": round(sum(lat) / len(lat) / 1000.0, 3),
        "naive_updates_per_s": round(naive_ups),
        "naive_updates": len(sample),
        "speedup_vs_naive": round(ups / naive_ups, 2),
        "opened": opened,
        "opened_in_naive_sample": opened_in_sample,
        "naive_opened": naive.opened,
        "signals": len(signals),
    }
