"""p_capture: the chance an opportunity is still open when both of its orders land.

Learned on the cold path from the lifetimes of the opportunities that closed (each close, never
each frame), and published as a table the detector and the lifecycle read with three list
indexings: ``p[buy instrument][buy venue][sell venue]``.

The rule, for an opportunity buying on venue A and selling on venue B:

    L          = max(latency_A, latency_B)          both orders leave at the open; the slower decides
    k / n      = lifetimes > L / lifetimes kept     over the newest ``window`` closes of the pair (A, B)
    p_pair     = (k + m × prior) / (n + m)           ``prior`` (0.5) worth ``m`` = ``prior_weight`` closes
    p_capture  = (k_i + m × p_pair) / (n_i + m)     once instrument i has ``min_instrument_history``
                                                    closes on (A, B); before that, p_pair

    expected_net_bps = p × net_bps − (1 − p) × fees_bps

A miss is rarely free: usually one leg fills and must be flattened, about one more round of taker
fees, hence the second term. Latencies are ``[trading]``'s (``latency_ms``, ``venue_latency_ms``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap


def expected_net_bps(p: float, net_bps: float, fees_bps: float) -> float:
    return p * net_bps - (1.0 - p) * fees_bps


class CaptureEstimator:
    """Lifetimes in, the ``p`` table out; ``observe`` on every close."""

    def __init__(self, symbols: SymbolMap, config: Config) -> None:
        c = config.capture
        self.symbols = symbols
        self.trading = config.trading
        self.prior = c.prior
        self.m = c.prior_weight
        self.min_inst = c.min_instrument_history
        self.window = c.window
        self.p: list[list[list[float]]] = []  # [instrument][buy venue][sell venue]
        self._latency_ms: list[float] = []  # per venue
        self._pair: dict[tuple[int, int], deque[float]] = {}
        self._inst: dict[tuple[int, int, int], deque[float]] = {}
        self.observed = 0
        self.grow()

    def grow(self) -> None:
        """Extend the table in place to the symbol map's venues and instruments (cold path)."""
        nv, ni = len(self.symbols.venues), len(self.symbols.instruments)
        for v in range(len(self._latency_ms), nv):
            self._latency_ms.append(self.trading.latency_s(self.symbols.venues[v]) * 1000.0)
        for row in self.p:
            for cells in row:
                cells.extend([self.prior] * (nv - len(cells)))
            row.extend([self.prior] * nv for _ in range(nv - len(row)))
        self.p.extend([[self.prior] * nv for _ in range(nv)] for _ in range(ni - len(self.p)))

    def latency_ms(self, a: int, b: int) -> float:
        la, lb = self._latency_ms[a], self._latency_ms[b]
        return la if la > lb else lb

    def _rate(self, lifetimes: deque[float], latency: float, prior: float) -> float:
        k = sum(1 for x in lifetimes if x > latency)
        return (k + self.m * prior) / (len(lifetimes) + self.m) if lifetimes or self.m else prior

    def observe(self, instrument: int, a: int, b: int, lifetime_ms: float) -> None:
        """One closed opportunity (buy on ``a``, sell on ``b``) lived ``lifetime_ms``."""
        self.observed += 1
        pair = self._pair.get((a, b))
        if pair is None:
            pair = self._pair[(a, b)] = deque(maxlen=self.window)
        pair.append(lifetime_ms)
        key = (instrument, a, b)
        inst = self._inst.get(key)
        if inst is None:
            inst = self._inst[key] = deque(maxlen=self.window)
        inst.append(lifetime_ms)
        lat = self.latency_ms(a, b)
        p_pair = self._rate(pair, lat, self.prior)
        # The pair's rate is every instrument's prior on it: refresh the whole column.
        for i, row in enumerate(self.p):
            own = self._inst.get((i, a, b))
            row[a][b] = self._rate(own, lat, p_pair) if own is not None and len(own) >= self.min_inst else p_pair

    def seed(self, closes: Iterable[tuple[str, str, str, float]]) -> int:
        """Learn from past closes ``(instrument, buy venue, sell venue, lifetime ms)``, oldest first
        (the history of earlier runs, at start); names this run does not know are skipped."""
        sym = self.symbols
        n = 0
        for inst, buy, sell, lifetime in closes:
            i, a, b = sym.find_instrument(inst), sym.find_venue(buy), sym.find_venue(sell)
            if i is not None and a is not None and b is not None and i < len(self.p) and max(a, b) < len(self._latency_ms):
                self.observe(i, a, b, lifetime)
                n += 1
        return n

    def estimate(self, instrument: int, a: int, b: int) -> float:
        return self.p[instrument][a][b]
