"""``arbsniper report``: the backtest's analysis on the SQLite history of live runs.

Every ``close`` row is one opportunity with its lifetime (``duration_ms``), venue pair and
instrument; the capturable fraction and the sweep read those lifetimes against the configured
latencies. What the paper trader made comes from its ledger (``arbsniper pnl``), when there is one.
"""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arbsniper.capture.analysis import SWEEP_MS, Opportunity, analyse
from arbsniper.config import Config
from arbsniper.history import connect, history_path

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now_s: float | None = None) -> int:
    """``--since``: ``30m`` / ``6h`` / ``2d`` ago, or an ISO date-time (UTC if no zone); epoch ms."""
    m = _RELATIVE.match(text.strip())
    now = time.time() if now_s is None else now_s
    if m:
        return int((now - float(m.group(1)) * _UNIT_S[m.group(2)]) * 1000)
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since: {text!r} is neither a duration (30m, 6h, 2d) nor an ISO date-time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def closed_opportunities(path: str | Path, since_ms: int = 0) -> list[Opportunity]:
    """Every opportunity whose close is in the history at or after ``since_ms``."""
    conn = connect(path, create=False)
    try:
        rows = conn.execute(
            "SELECT id, buy_exchange, sell_exchange, symbol, timestamp, duration_ms, net_bps, close_reason"
            " FROM signals WHERE event = 'close' AND timestamp >= ? ORDER BY seq", (since_ms,)).fetchall()
    except sqlite3.OperationalError as exc:
        raise FileNotFoundError(f"{path} is not an arbsniper history ({exc})") from None
    finally:
        conn.close()
    return [Opportunity(oid, f"{b}>{s}", sym, (ts - dur) * 1_000_000, float(dur), net, reason or "")
            for oid, b, s, sym, ts, dur, net, reason in rows]


def recent_lifetimes(path: str | Path, limit: int) -> list[tuple[str, str, str, float]]:
    """The newest ``limit`` closes (not shutdowns) as (instrument, buy, sell, lifetime ms), oldest first."""
    if not Path(path).exists():
        return []
    conn = connect(path, create=False)
    try:
        rows = conn.execute(
            "SELECT symbol, buy_exchange, sell_exchange, duration_ms FROM signals WHERE event = 'close'"
            " AND close_reason IS NOT 'shutdown' ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()
    return [(sym, b, s, float(d)) for sym, b, s, d in reversed(rows)]


def history_report(config: Config, since_ms: int = 0) -> tuple[dict[str, Any], list[Opportunity]]:
    opps = closed_opportunities(history_path(config.data_dir), since_ms)
    trading = config.trading

    def latency(o: Opportunity) -> float:
        buy, sell = o.pair.split(">")
        return max(trading.latency_s(buy), trading.latency_s(sell)) * 1000.0

    rep = analyse(opps, latency, SWEEP_MS, traded=False)
    rep["since_ms"] = since_ms
    rep["paper"] = _paper_pnl(config)
    return rep, opps


def _paper_pnl(config: Config) -> dict[str, Any] | None:
    from arbsniper.trading.ledger import Ledger, ledger_path, pnl_summary
    from arbsniper.trading.risk import KillSwitch, halt_path

    try:
        ledger = Ledger(ledger_path(config.data_dir, "paper"), create=False)
    except FileNotFoundError:
        return None
    try:
        return dict(pnl_summary(ledger, config.conversion.reference,
                                halted=KillSwitch(halt_path(config.data_dir)).state() is not None))
    finally:
        ledger.close()
