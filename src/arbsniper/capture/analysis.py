"""The capture analysis shared by ``backtest`` (recordings) and ``report`` (SQLite history).

Input: the opportunities a run opened, each with its venue pair, instrument, lifetime and, for a
backtest, what the paper executor made of it at each latency. Output: one JSON-ready dict:

- ``opportunities``: how many opened; ``by_pair`` / ``by_instrument``: counts, lifetimes, capture;
- ``lifetime_ms``: p50 / p90 / p99 of the lifetimes (nearest-rank percentiles);
- ``capturable_fraction``: the share whose lifetime exceeds the slower leg's latency: both
  orders, sent at the open, land while the opportunity still qualifies (edge ≥ the thresholds);
- ``pnl``: ``total``, ``fees`` and ``by_pair`` with trades ``won`` / ``lost`` / ``missed``;
- ``sweep``: capturable fraction and P&L at each latency of ``SWEEP_MS`` (every venue alike).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

SWEEP_MS = (0.0, 25.0, 50.0, 100.0, 250.0, 500.0)


@dataclass(slots=True)
class Outcome:
    """What a paper trade of one opportunity made at one latency (quote currency of the buy leg)."""

    pnl: float
    fees: float
    result: str  # "won" | "lost" | "missed"


@dataclass(slots=True)
class Opportunity:
    """One opened opportunity: where, how long it lived, and its paper outcomes by latency key."""

    id: str
    pair: str  # "buyvenue>sellvenue"
    instrument: str
    opened_ns: int
    lifetime_ms: float
    net_bps: float
    close_reason: str = ""
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # "config" or a sweep latency


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, math.ceil(q / 100.0 * len(ordered)) - 1)
    return float(ordered[k])


def lifetimes(opps: Sequence[Opportunity]) -> dict[str, float | None]:
    xs = [o.lifetime_ms for o in opps]
    return {"p50": percentile(xs, 50), "p90": percentile(xs, 90), "p99": percentile(xs, 99)}


def capturable(o: Opportunity, latency_ms: float) -> bool:
    """Both legs land while it is still open: the slower leg's latency is under its lifetime."""
    return o.lifetime_ms > latency_ms


def fraction(opps: Sequence[Opportunity], latency_of: Callable[[Opportunity], float]) -> float:
    if not opps:
        return 0.0
    return sum(1 for o in opps if capturable(o, latency_of(o))) / len(opps)


def pnl_of(opps: Iterable[Opportunity], key: str) -> dict[str, Any]:
    """Total P&L and fees of the paper outcomes under ``key``, with won / lost / missed counts."""
    out: dict[str, Any] = {"total": 0.0, "fees": 0.0, "won": 0, "lost": 0, "missed": 0}
    for o in opps:
        r = o.outcomes.get(key)
        if r is None:
            continue
        out["total"] += r.pnl
        out["fees"] += r.fees
        out[r.result] += 1
    out["total"] = round(out["total"], 6)
    out["fees"] = round(out["fees"], 6)
    return out


def analyse(opps: Sequence[Opportunity], latency_of: Callable[[Opportunity], float],
            sweep_ms: Sequence[float] = SWEEP_MS, *, traded: bool = True) -> dict[str, Any]:
    """The report as one dict (see the module docstring); ``traded``: outcomes exist."""
    by_pair: dict[str, list[Opportunity]] = {}
    by_inst: dict[str, list[Opportunity]] = {}
    for o in opps:
        by_pair.setdefault(o.pair, []).append(o)
        by_inst.setdefault(o.instrument, []).append(o)

    def group(items: list[Opportunity]) -> dict[str, Any]:
        g: dict[str, Any] = {"opportunities": len(items), "lifetime_ms": lifetimes(items),
                             "capturable_fraction": round(fraction(items, latency_of), 6)}
        if traded:
            g["pnl"] = pnl_of(items, "config")
        return g

    report: dict[str, Any] = {
        "opportunities": len(opps),
        "lifetime_ms": lifetimes(opps),
        "capturable_fraction": round(fraction(opps, latency_of), 6),
        "by_pair": {k: group(v) for k, v in sorted(by_pair.items())},
        "by_instrument": {k: group(v) for k, v in sorted(by_inst.items())},
    }
    if traded:
        total = pnl_of(opps, "config")
        total["by_pair"] = {k: pnl_of(v, "config") for k, v in sorted(by_pair.items())}
        report["pnl"] = total
    sweep: list[dict[str, Any]] = []
    for lat in sweep_ms:
        row: dict[str, Any] = {"latency_ms": lat,
                               "capturable_fraction": round(sum(1 for o in opps if capturable(o, lat)) / len(opps), 6)
                               if opps else 0.0}
        if traded:
            row["pnl"] = pnl_of(opps, f"{lat:g}")["total"]
        sweep.append(row)
    report["sweep"] = sweep
    return report


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


def format_text(report: dict[str, Any], title: str) -> str:
    """The report for a terminal: totals, the sweep, then one line per venue pair and instrument."""
    lt = report["lifetime_ms"]
    lines = [title,
             f"opportunities {report['opportunities']}   lifetime p50 {_ms(lt['p50'])} ms  p90 {_ms(lt['p90'])} ms  "
             f"p99 {_ms(lt['p99'])} ms   capturable {report['capturable_fraction']:.1%}"]
    pnl = report.get("pnl")
    if pnl is not None:
        lines.append(f"paper P&L {pnl['total']:+.2f} after fees {pnl['fees']:.2f}   "
                     f"won {pnl['won']}  lost {pnl['lost']}  missed {pnl['missed']}")
    lines.append("latency sweep (every venue):")
    for row in report["sweep"]:
        extra = f"  P&L {row['pnl']:+.2f}" if "pnl" in row else ""
        lines.append(f"  {row['latency_ms']:>5.0f} ms  capturable {row['capturable_fraction']:6.1%}{extra}")
    for title2, key in (("per venue pair (buy>sell):", "by_pair"), ("per instrument:", "by_instrument")):
        lines.append(title2)
        for name, g in report[key].items():
            p = g.get("pnl")
            money = (f"  P&L {p['total']:+.2f} won {p['won']} lost {p['lost']} missed {p['missed']}"
                     if p is not None else "")
            lines.append(f"  {name:<24} {g['opportunities']:>5}  p50 {_ms(g['lifetime_ms']['p50']):>6} ms  "
                         f"capturable {g['capturable_fraction']:6.1%}{money}")
    return "\n".join(lines) + "\n"
