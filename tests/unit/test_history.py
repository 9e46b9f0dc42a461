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


def test_the_writer_deletes_signals_older_than_keep_days(tmp_path: Path) -> None:
    import msgspec

    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.quote("okx", "BTC/USDT", bid=100_000, ask=100_010)
    import time

    now_ms = time.time_ns() // 1_000_000  # the writer prunes by the wall clock
    recent = [msgspec.structs.replace(s, timestamp=now_ms - 86_400_000) for s in h.signals]
    old = [msgspec.structs.replace(s, timestamp=now_ms - 8 * 86_400_000) for s in h.signals]
    path = tmp_path / "h.sqlite"
    writer = HistoryWriter(path)  # keep_days 0: keeps everything
    writer.write(old + recent)
    assert writer.prune() == 0
    writer.close()
    writer = HistoryWriter(path, keep_days=7)  # prunes as it opens
    assert writer.pruned == len(old)
    writer.close()
    assert read_recent(path, 10) == list(reversed(recent))


def test_history_command_prints_utc_iso_times_and_json_unchanged(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import time

    from arbsniper.cli import main
    from arbsniper.history import history_path

    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    writer = HistoryWriter(history_path(tmp_path))
    writer.write(h.signals)
    writer.close()
    assert main(["--data-dir", str(tmp_path), "history"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    ts = h.signals[0].timestamp
    assert line.startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts / 1000)) + f".{ts % 1000:03d}Z OPEN")
    assert main(["history", "--json", "--data-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["timestamp"] == ts
