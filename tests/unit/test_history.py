"""History: signals survive in SQLite and read back identical."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from arbsniper.history import HistoryWriter, count, read_recent
from tests.unit.enginekit import Harness


def test_signals_round_trip_through_sqlite_in_wal_mode(tmp_path: Path) -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.quote("okx", "BTC/USDT", bid=100_000, ask=100_010)
    path = tmp_path / "h.sqlite"
    writer = HistoryWriter(path)
    assert writer.write(h.signals) == 2
    writer.close()
    assert count(path) == 2
    assert read_recent(path, 10) == list(reversed(h.signals))
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_reading_a_missing_history_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no history"):
        read_recent(tmp_path / "none.sqlite")
