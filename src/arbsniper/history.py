"""Signal history in SQLite (WAL): written in batches off the hot path, read by the CLI and web.

The writer owns its connection and is driven from a worker thread (``asyncio.to_thread``), so
the event loop never waits on disk. Each row keeps the full signal JSON beside a few indexed
columns; the JSON is the record, the columns are for queries.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from arbsniper.model import Signal, signal_from_json, signal_to_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS signals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    event TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    buy_exchange TEXT NOT NULL,
    sell_exchange TEXT NOT NULL,
    net_bps REAL NOT NULL,
    close_reason TEXT,
    duration_ms INTEGER NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_id ON signals (id);
CREATE INDEX IF NOT EXISTS signals_timestamp ON signals (timestamp);
"""

HISTORY_FILE = "history.sqlite"
DAY_MS = 86_400_000
PRUNE_EVERY_S = 600.0  # the writer deletes signals older than keep_days at most this often


def history_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir).expanduser() / HISTORY_FILE


def connect(path: str | os.PathLike[str], *, create: bool = True) -> sqlite3.Connection:
    """Open the history database in WAL mode (creating it and its directory when asked)."""
    p = Path(path)
    if create:
        p.parent.mkdir(parents=True, exist_ok=True)
    elif not p.exists():
        raise FileNotFoundError(f"no history at {p}: run `arbsniper run` first")
    conn = sqlite3.connect(p, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    if create:
        conn.executescript(SCHEMA)
    return conn


class HistoryWriter:
    """Appends signals in transactions; one instance per writing task. With ``keep_days`` > 0 it
    also deletes older signals, when it opens and then every ``PRUNE_EVERY_S`` (its own thread,
    so on the cold path), so the file stops growing after a few days."""

    def __init__(self, path: str | os.PathLike[str], keep_days: float = 0.0) -> None:
        self.path = Path(path)
        self.conn = connect(self.path)
        self.written = 0
        self.keep_days = keep_days
        self.pruned = 0
        self._pruned_at = float("-inf")
        self.prune()

    def prune(self, now_ms: int | None = None) -> int:
        """Delete the signals emitted more than ``keep_days`` ago; returns how many."""
        self._pruned_at = time.monotonic()
        if self.keep_days <= 0:
            return 0
        now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        with self.conn:
            n = self.conn.execute("DELETE FROM signals WHERE timestamp < ?",
                                  (now_ms - int(self.keep_days * DAY_MS),)).rowcount
        self.pruned += n
        return n

    def write(self, signals: Iterable[Signal]) -> int:
        rows = [
            (s.id, s.event, s.timestamp, s.symbol, s.buy_exchange, s.sell_exchange, s.net_bps,
             s.close_reason, s.duration_ms, signal_to_json(s).decode())
            for s in signals
        ]
        if not rows:
            return 0
        with self.conn:
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT INTO signals (id, event, timestamp, symbol, buy_exchange, sell_exchange, net_bps,"
                " close_reason, duration_ms, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        self.written += len(rows)
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
            self.prune()
        return len(rows)

    def close(self) -> None:
        self.conn.close()


def read_recent(path: str | os.PathLike[str], limit: int = 20) -> list[Signal]:
    """The newest ``limit`` signals, newest first."""
    conn = connect(path, create=False)
    try:
        cur = conn.execute("SELECT json FROM signals ORDER BY seq DESC LIMIT ?", (limit,))
        return [signal_from_json(row[0]) for row in cur]
    except sqlite3.OperationalError as exc:
        raise FileNotFoundError(f"{path} is not an arbsniper history ({exc})") from None
    finally:
        conn.close()


def count(path: str | os.PathLike[str]) -> int:
    conn = connect(path, create=False)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM signals").fetchone()[0])
    finally:
        conn.close()
