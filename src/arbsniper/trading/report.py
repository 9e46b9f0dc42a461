"""Plain-text views of the ledger for ``arbsniper trades``, ``positions`` and ``pnl``."""

from __future__ import annotations

import os
import time
from typing import Any


def _ts(ns: int) -> str:
    if not ns:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ns / 1e9))


def format_trades(trades: list[dict[str, Any]]) -> str:
    if not trades:
        return "no trades\n"
    lines = [f"{'id':>5} {'opened (UTC)':<19} {'kind':<4} {'pair':<22} {'instrument':<14} {'size':>10} "
             f"{'status':<9} {'reason':<14} {'pnl':>11} {'fees':>9} {'leg risk':>9} ccy"]
    for t in trades:
        lines.append(
            f"{t['id']:>5} {_ts(t['opened_ns']):<19} {t['kind']:<4} {t['buy_venue'] + '>' + t['sell_venue']:<22} "
            f"{t['buy_instrument']:<14} {t['size']:>10.6g} {t['status']:<9} {t['close_reason'] or '-':<14} "
            f"{t['pnl']:>+11.4f} {t['fees']:>9.4f} {t['leg_pnl']:>+9.4f} {t['currency']}")
    return "\n".join(lines) + "\n"


def format_positions(positions: list[dict[str, Any]]) -> str:
    if not positions:
        return "no open positions\n"
    lines = []
    for p in positions:
        lines.append(f"t{p['id']} {p['kind']} {p['buy_venue']}>{p['sell_venue']} {p['status']} opened {_ts(p['opened_ns'])}"
                     f"  pnl {p['pnl']:+.4f} {p['currency']} marked (fees {p['fees']:.4f}, funding {p['funding']:+.4f})")
        for leg in p["legs"]:
            lines.append(f"    {leg['venue']:<11} {leg['instrument']:<16} qty {leg['qty']:>+12.6g}  entry {leg['avg_price']:<12.8g}"
                         f" mark {leg['mark_price']:<12.8g}")
    return "\n".join(lines) + "\n"


def marks_note(run_pid: str | None, stopped_ns: str | None) -> str:
    """Whether the marks above are live: a run that has stopped no longer marks (or closes) the positions."""
    if stopped_ns and int(stopped_ns):
        return (f"marks as of {_ts(int(stopped_ns))} UTC, when the run stopped: nothing marks or closes these "
                "positions until `arbsniper run` trades again\n")
    if run_pid and not _alive(int(run_pid)):
        return f"marks from a run (pid {run_pid}) that is no longer running: stale until `arbsniper run` trades again\n"
    return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def format_pnl(s: dict[str, Any]) -> str:
    ccy = s["currency"]
    lines = [
        f"{s['mode']} trading, P&L in {ccy}: {s['trades']} trades ({s['closed']} closed, {s['open']} open), "
        f"{s['wins']} won, {s['losses']} lost",
        f"  realized {s['realized']:+.4f}   open {s['open_pnl']:+.4f}   total {s['total']:+.4f}   "
        f"fees {s['fees']:.4f}   funding {s['funding']:+.4f}   leg risk {s['leg_pnl']:+.4f}",
        "",
        f"{'venue pair':<24} {'kind':<4} {'trades':>6} {'won':>4} {'lost':>4} {'unfilled':>8} "
        f"{'realized':>11} {'open':>10} {'total':>11} {'fees':>9} {'leg risk':>9}",
    ]
    for p in s["pairs"]:
        lines.append(f"{p['pair']:<24} {p['kind']:<4} {p['trades']:>6} {p['wins']:>4} {p['losses']:>4} {p['not_filled']:>8} "
                     f"{p['realized']:>+11.4f} {p['open_pnl']:>+10.4f} {p['total']:>+11.4f} {p['fees']:>9.4f} "
                     f"{p['leg_pnl']:>+9.4f}")
    moved = [(v, a, b) for v, assets in s["balances"].items() for a, b in assets.items() if abs(b["change"]) > 1e-12]
    if moved:
        lines += ["", "balance changes:"]
        lines += [f"  {v:<11} {a:<5} {b['start']:>14.8g} -> {b['amount']:<16.10g} ({b['change']:+.8g})" for v, a, b in moved]
    if s["refusals"]:
        lines += ["", "signals not traded: " + ", ".join(f"{k} {n}" for k, n in s["refusals"].items())]
    if s.get("halted"):
        lines += ["", "TRADING HALTED (kill switch engaged)"]
    return "\n".join(lines) + "\n"
