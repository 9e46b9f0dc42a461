"""A synthetic but realistic market for the offline demo, the simulator and the benchmark.

Each base asset follows a random walk (shared by all its listings, so venues stay correlated);
each listing adds its own noise, spread and depth, and sees the reference price through its own
latency. On top of that, on purpose and at random intervals:

- *dislocations*: one listing's price jumps away from the others for a second or three, then
  converges back: genuine opportunities that open, update and close;
- *stale listings*: a listing stops updating for several seconds (its quotes must age out);
- *crossed quotes*: a listing publishes bid >= ask once (it must be rejected).

The market is a pure function of its seed and the times it is stepped to, so tests are exact.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass

from arbsniper.config import DemoConfig
from arbsniper.instruments import SymbolMap, parse_instrument
from arbsniper.model import Book, Funding, MarketEvent, Quote
from arbsniper.venues import REGISTRY
from arbsniper.venues.base import EventSink


@dataclass(frozen=True, slots=True)
class Listing:
    """One instrument traded on one venue, with what the venue's REST listing says of it.

    Units as in ``venues.metadata.InstrumentMeta``: ``contract_size`` is base units per contract
    (1.0: the venue's sizes are base units), ``lot_size`` / ``min_size`` in base units, ``tick``
    and ``min_notional`` in the quote currency. Each venue's simulator renders these in the
    venue's own REST format and units, and publishes sizes in the venue's own unit.
    """

    venue: str
    instrument: str
    contract_size: float = 1.0
    lot_size: float = 0.0  # 0: the simulator picks one fitting the price
    tick: float = 0.0  # 0: the synthetic market's tick for the price
    min_size: float = 0.0
    min_notional: float = 0.0
    funding_interval_hours: float = 8.0  # perpetuals
    status: str = "trading"  # venues.metadata status: trading / halted / prelaunch / delisted


@dataclass(slots=True)
class SimBook:
    """The top ``depth`` levels of one listing at ``ts_ns``; ``crossed`` marks a deliberately bad one."""

    venue: str
    instrument: str
    ts_ns: int
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    crossed: bool = False


@dataclass(slots=True)
class SimFunding:
    """The current funding rate of a perpetual listing."""

    venue: str
    instrument: str
    ts_ns: int
    rate: float
    interval_hours: float
    next_funding_ts_ns: int


BASE_PRICES = {"BTC": 97_000.0, "ETH": 3_400.0, "SOL": 190.0, "USDT": 1.0, "USDC": 1.0}
BASE_SIZES = {"BTC": 0.8, "ETH": 12.0, "SOL": 250.0, "USDT": 200_000.0, "USDC": 200_000.0}

# What each venue lists in the demo (its ``INFO.demo_instruments``): spot and perpetual, in the
# quote currencies it really uses, plus the conversion markets (USDT/USD on Coinbase, USDC/USDT
# on Binance) that price USD, USDT and USDC against each other.
DEMO_LISTINGS: list[Listing] = [Listing(name, inst) for name, info in REGISTRY.items() for inst in info.demo_instruments]

_STABLE_RATES = {"USD": 1.0, "USDT": 0.9998, "USDC": 0.9999}


class _ListingState:
    __slots__ = (
        "listing", "base", "quote", "is_perp", "half_spread_bps", "noise_bps", "lag_ns", "size",
        "tick", "offset_bps", "dislocation_bps", "dislocation_until_ns", "quiet_until_ns",
        "funding_rate", "funding_interval_h", "next_funding_ns",
    )

    def __init__(self, listing: Listing, rng: random.Random) -> None:
        inst = parse_instrument(listing.instrument)
        self.listing = listing
        self.base = inst.base
        self.quote = inst.quote
        self.is_perp = inst.is_perp
        stable = inst.base in _STABLE_RATES
        self.half_spread_bps = rng.uniform(0.3, 0.8) if stable else rng.uniform(0.4, 2.0)
        self.noise_bps = 0.2 if stable else rng.uniform(0.5, 2.5)
        self.lag_ns = int(rng.uniform(5, 120) * 1e6)
        self.size = BASE_SIZES.get(inst.base, 10.0)
        price = BASE_PRICES.get(inst.base, 100.0)
        self.tick = 10 ** math.floor(math.log10(price) - 5)  # about 0.1 bps of the price
        self.offset_bps = rng.gauss(0.0, 1.0)  # persistent small basis per venue
        self.dislocation_bps = 0.0
        self.dislocation_until_ns = 0
        self.quiet_until_ns = 0
        info = REGISTRY.get(listing.venue)
        if listing.lot_size and listing.funding_interval_hours > 0:  # a listing with its metadata: its own period
            self.funding_interval_h = listing.funding_interval_hours
        else:
            self.funding_interval_h = info.funding_interval_h if info is not None else 8.0
        # Typical funding: ~0.01 % per 8 h, with per-venue differences.
        self.funding_rate = rng.gauss(0.0001, 0.00008) * self.funding_interval_h / 8.0
        self.next_funding_ns = 0


class SyntheticMarket:
    """Correlated random-walk markets for a set of listings, stepped by (simulated) time."""

    def __init__(self, listings: list[Listing], demo: DemoConfig | None = None, seed: int | None = None, depth: int = 10) -> None:
        if not listings:
            raise ValueError("SyntheticMarket needs at least one listing")
        self.demo = demo or DemoConfig()
        self.rng = random.Random(seed if seed is not None else self.demo.seed)
        self.depth = depth
        self.listings = list(listings)
        self.states = [_ListingState(lst, self.rng) for lst in self.listings]
        self.mid: dict[str, float] = {}
        for st in self.states:
            self.mid.setdefault(st.base, BASE_PRICES.get(st.base, 100.0))
        self.vol_bps_per_sqrt_s = {b: (0.05 if b in _STABLE_RATES else 6.0) for b in self.mid}
        self.now_ns: int | None = None
        self._next_dislocation_ns = 0
        self._next_quiet_ns = 0
        self._next_crossed_ns = 0
        self._next_funding_ns = 0
        self._carry = 0.0
        self._pending_crossed: _ListingState | None = None
        self._dislocations = 0

    def _exp_ns(self, mean_s: float) -> int:
        return int(self.rng.expovariate(1.0 / mean_s) * 1e9)

    def step(self, now_ns: int) -> list[SimBook | SimFunding]:
        """Advance to ``now_ns`` and return the updates published since the previous step."""
        if self.now_ns is None:
            self.now_ns = now_ns
            self._next_dislocation_ns = now_ns + self._exp_ns(self.demo.dislocation_every_s)
            self._next_quiet_ns = now_ns + self._exp_ns(self.demo.stale_every_s)
            self._next_crossed_ns = now_ns + self._exp_ns(self.demo.crossed_every_s)
            self._next_funding_ns = now_ns
            # Publish every listing once so all venues start with a full book.
            return [self._book(st, now_ns) for st in self.states] + self._fundings(now_ns)
        dt_ns = now_ns - self.now_ns
        if dt_ns <= 0:
            return []
        self.now_ns = now_ns
        dt_s = dt_ns / 1e9
        rng = self.rng
        for base in self.mid:
            sigma = self.vol_bps_per_sqrt_s[base] * math.sqrt(dt_s) / 1e4
            self.mid[base] *= math.exp(rng.gauss(0.0, sigma))
        self._inject_events(now_ns)
        # How many listing updates happened in dt: Poisson-ish via a carried fractional count.
        self._carry += self.demo.updates_per_s * dt_s
        n = int(self._carry)
        self._carry -= n
        out: list[SimBook | SimFunding] = []
        # Distinct listings per step: a venue publishes one book state per instrument per tick
        # (what it does not publish within a tick is conflated at the venue, as real feeds do).
        for st in rng.sample(self.states, min(n, len(self.states))):
            if st.quiet_until_ns > now_ns:
                continue
            out.append(self._book(st, now_ns))
        if now_ns >= self._next_funding_ns:
            out.extend(self._fundings(now_ns))
            self._next_funding_ns = now_ns + 5_000_000_000
        return out

    def _inject_events(self, now_ns: int) -> None:
        rng = self.rng
        tradable = [s for s in self.states if s.base not in _STABLE_RATES]
        if now_ns >= self._next_dislocation_ns and tradable:
            # Venues take turns, so a short demo shows every venue's edge; each jump clears the
            # dislocated venue's own taker fee by 30-90 bps (a 120 bps venue jumps further).
            venues = sorted({s.listing.venue for s in tradable})
            venue = venues[self._dislocations % len(venues)]
            self._dislocations += 1
            st = rng.choice([s for s in tradable if s.listing.venue == venue])
            info = REGISTRY.get(venue)
            fee = (info.taker_fee_bps.get("perp" if st.is_perp else "spot") if info is not None else None) or 10.0
            st.dislocation_bps = rng.choice((-1.0, 1.0)) * (fee + rng.uniform(30.0, 90.0))
            st.dislocation_until_ns = now_ns + int(rng.uniform(0.6, 3.0) * 1e9)
            self._next_dislocation_ns = now_ns + self._exp_ns(self.demo.dislocation_every_s)
        if now_ns >= self._next_quiet_ns and tradable:
            st = rng.choice(tradable)
            st.quiet_until_ns = now_ns + int(rng.uniform(6.0, 9.0) * 1e9)
            self._next_quiet_ns = now_ns + self._exp_ns(self.demo.stale_every_s)
        if now_ns >= self._next_crossed_ns and tradable:
            self._pending_crossed = rng.choice(tradable)
            self._next_crossed_ns = now_ns + self._exp_ns(self.demo.crossed_every_s)

    def _price(self, st: _ListingState, now_ns: int) -> float:
        mid = self.mid[st.base] / _STABLE_RATES.get(st.quote, 1.0)
        bps = st.offset_bps + self.rng.gauss(0.0, st.noise_bps)
        if st.dislocation_until_ns > now_ns:
            # Decays towards zero as the venue catches up.
            bps += st.dislocation_bps
        elif st.dislocation_bps:
            st.dislocation_bps = 0.0
        return mid * (1.0 + bps / 1e4)

    def _book(self, st: _ListingState, now_ns: int) -> SimBook:
        rng = self.rng
        mid = self._price(st, now_ns)
        half = mid * st.half_spread_bps / 1e4
        tick = st.tick
        best_bid = math.floor((mid - half) / tick) * tick
        best_ask = math.ceil((mid + half) / tick) * tick
        if best_ask <= best_bid:
            best_ask = best_bid + tick
        bids: list[tuple[float, float]] = []
        asks: list[tuple[float, float]] = []
        ticks = max(1, round(mid * 0.5 / 1e4 / tick))  # levels about 0.5 bps apart, on the tick grid
        digits = max(0, -round(math.log10(tick)))
        for i in range(self.depth):
            bids.append((round(best_bid - i * ticks * tick, digits), round(st.size * rng.uniform(0.2, 1.5) * (1 + i * 0.3), 6)))
            asks.append((round(best_ask + i * ticks * tick, digits), round(st.size * rng.uniform(0.2, 1.5) * (1 + i * 0.3), 6)))
        crossed = False
        if self._pending_crossed is st:
            self._pending_crossed = None
            crossed = True
            bids[0], asks[0] = (asks[0][0] * 1.001, bids[0][1]), (bids[0][0], asks[0][1])
        ts = now_ns - st.lag_ns
        return SimBook(st.listing.venue, st.listing.instrument, ts, bids, asks, crossed)

    def _fundings(self, now_ns: int) -> list[SimFunding]:
        out = []
        for st in self.states:
            if not st.is_perp:
                continue
            st.funding_rate += self.rng.gauss(0.0, 0.000005)
            interval_ns = int(st.funding_interval_h * 3600e9)
            if st.next_funding_ns <= now_ns:
                st.next_funding_ns = (now_ns // interval_ns + 1) * interval_ns
            out.append(SimFunding(st.listing.venue, st.listing.instrument, now_ns, st.funding_rate, st.funding_interval_h, st.next_funding_ns))
        return out


class SyntheticSource:
    """A ``MarketSource`` that publishes the synthetic market straight as normalized events.

    Each ``SimBook`` becomes a ``Book`` (depth) and a ``Quote`` (its top): as if every venue had
    a clean BBO channel. The exchange simulator (``arbsniper simulate``) puts the real venue
    protocols between the same market and the engine instead.
    """

    def __init__(self, symbols: SymbolMap, listings: list[Listing] | None = None, demo: DemoConfig | None = None,
                 seed: int | None = None, tick_s: float = 0.01) -> None:
        self.symbols = symbols
        self.listings = list(listings or DEMO_LISTINGS)
        self.market = SyntheticMarket(self.listings, demo, seed)
        self.tick_s = tick_s
        self.ids = {(lst.venue, lst.instrument): (symbols.venue_id(lst.venue), symbols.instrument_id(lst.instrument))
                    for lst in self.listings}
        self.published = 0
        self.seq: dict[tuple[int, int], int] = {}

    def events(self, update: SimBook | SimFunding, recv_ns: int) -> list[MarketEvent]:
        """The normalized events one synthetic update produces."""
        v, i = self.ids[(update.venue, update.instrument)]
        if isinstance(update, SimFunding):
            return [Funding(v, i, update.rate, update.interval_hours, update.next_funding_ts_ns, update.ts_ns, recv_ns)]
        seq = self.seq.get((v, i), 0) + 1
        self.seq[(v, i)] = seq
        (bp, bs), (ap, asz) = update.bids[0], update.asks[0]
        quote = Quote(v, i, bp, bs, ap, asz, update.ts_ns, recv_ns, seq)
        if update.crossed:
            return [quote]  # a bad quote only: the engine must refuse it
        return [quote, Book(v, i, update.bids, update.asks, update.ts_ns, recv_ns, seq)]

    async def run(self, sink: EventSink) -> None:
        while True:
            now = time.time_ns()
            for update in self.market.step(now):
                recv = time.time_ns()
                for ev in self.events(update, recv):
                    sink(ev)
                    self.published += 1
            await asyncio.sleep(self.tick_s)
