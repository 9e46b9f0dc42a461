"""`arbsniper run --demo` end to end, as a user runs it: a real process, real SQLite history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from arbsniper.history import count, history_path, read_recent
from arbsniper.model import Signal

SPEC_FIELDS = {
    "type", "action", "symbol", "spread_pct", "buy_price", "sell_price", "profit_estimate", "timestamp",
    "detected_at", "id", "event", "buy_exchange", "sell_exchange", "spread_bps", "fees_bps", "slippage_bps",
    "funding_bps", "net_bps", "size", "profit_quote", "confidence", "latency_us", "close_reason", "duration_ms",
}


def arbsniper(*args: str, data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "arbsniper.cli", *args, "--data-dir", str(data_dir)]


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARBSNIPER_")}
    env["ARBSNIPER_DEMO__DISLOCATION_EVERY_S"] = "0.5"  # a busy market so a short run sees full lifecycles
    env["ARBSNIPER_WEB__PORT"] = "0"  # the dashboard on any free port: never collide with a running one
    return env


def test_run_demo_json_prints_spec_signals_and_exits_zero(tmp_path: Path) -> None:
    proc = subprocess.run(
        arbsniper("run", "--demo", "--duration", "10", "--json", "--seed", "11", data_dir=tmp_path),
        capture_output=True, text=True, timeout=60, env=demo_env(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines, "no signals in 6 s of a busy demo market"
    for d in lines:
        assert d.keys() >= SPEC_FIELDS
        assert d["type"] == "ARBITRAGE_OPPORTUNITY"
        assert d["action"] == f"BUY_{d['buy_exchange'].upper()}_SELL_{d['sell_exchange'].upper()}"
        assert d["spread_pct"] == round(d["spread_bps"] / 100, 4)
        assert d["net_bps"] >= 0 and d["size"] > 0
    events = {d["event"] for d in lines}
    assert {"open", "close"} <= events
    assert all(d["close_reason"] for d in lines if d["event"] == "close")
    # stdout carries JSON only; human lines and logs went to stderr
    assert "OPEN" in proc.stderr and "stopped" in proc.stderr
    # every signal reached the history, including the shutdown closes
    assert count(history_path(tmp_path)) == len(lines)


def test_sigint_shuts_down_cleanly_and_flushes_history(tmp_path: Path) -> None:
    with (tmp_path / "stderr.txt").open("w+") as err_file:
        proc = subprocess.Popen(
            arbsniper("run", "--demo", "--json", "--seed", "5", data_dir=tmp_path),
            stdout=subprocess.PIPE, stderr=err_file, text=True, env=demo_env(),
        )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # wait for the first signal
            assert json.loads(first)["event"] == "open"
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            rest = proc.stdout.read()  # through the same buffer readline used, until EOF
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        err_file.seek(0)
        err = err_file.read()
    assert proc.returncode == 0, err[-2000:]
    lines = [json.loads(line) for line in [first, *rest.splitlines()]]
    assert count(history_path(tmp_path)) == len(lines)
    recent = read_recent(history_path(tmp_path), 1)
    assert isinstance(recent[0], Signal)
    opened = {d["id"] for d in lines if d["event"] == "open"}
    closed = {d["id"] for d in lines if d["event"] == "close"}
    assert opened == closed  # nothing left open: shutdown closed it


def test_history_command_prints_newest_first(tmp_path: Path) -> None:
    subprocess.run(arbsniper("run", "--demo", "--duration", "8", "--seed", "3", data_dir=tmp_path),
                   capture_output=True, timeout=60, env=demo_env(), check=True)
    proc = subprocess.run(arbsniper("history", "--limit", "3", "--json", data_dir=tmp_path),
                          capture_output=True, text=True, timeout=30, env=demo_env(), check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert 1 <= len(rows) <= 3
    assert [r["timestamp"] for r in rows] == sorted((r["timestamp"] for r in rows), reverse=True)
    text = subprocess.run(arbsniper("history", "--limit", "2", data_dir=tmp_path),
                          capture_output=True, text=True, timeout=30, env=demo_env(), check=True).stdout
    assert len(text.splitlines()) == min(2, len(rows))


def test_history_without_data_says_so(tmp_path: Path) -> None:
    proc = subprocess.run(arbsniper("history", data_dir=tmp_path / "empty"), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "no history" in proc.stderr
