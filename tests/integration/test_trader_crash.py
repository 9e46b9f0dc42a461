"""Crash test: SIGKILL the trading process mid-trade, restart it, and check the ledger.

`arbsniper run --demo` trades on paper with staggered per-venue latencies, so the two legs of
every trade arrive at least 160 ms apart. The test reads the process's FILL lines (each printed
only after its fill was committed) and kills it with SIGKILL right after the first leg of a
trade has filled, while the other leg is still travelling. Then:

- every fill reported before the kill is in the ledger, and the balances table equals the
  starting inventory replayed with every fill (nothing half-written);
- the trade caught mid-flight is still ``executing`` with its other order ``sent``;
- after a restart, that order is ``expired`` (a paper order dies with its process), the trade's
  filled leg is made whole (unwound) or the trade completed, no trade is left executing or
  unhedged, and the balances still reconcile.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arbsniper.trading.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
LATENCY_MS = {"binance": 20, "bybit": 180, "okx": 340, "kucoin": 500, "bitget": 660, "coinbase": 820,
              "hyperliquid": 980, "paradex": 1140}
CONFIG = """
[demo]
seed = 11
dislocation_every_s = 0.7

[trading]
max_open_positions = 50
max_venue_notional = 100000.0
price_tolerance_bps = 10.0
mark_every_s = 0.5
venue_latency_ms = {{ {latency} }}
"""
FILL = re.compile(r"^FILL\s+t(\d+)\s+(\w+)\s+\S+\s+\S+\s+\S+\s+\S+\s+@\s+\S+\s+fee .*\[(\S+)\]$")


def _start(data_dir: Path, config: Path, duration: float | None = None) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "arbsniper.cli", "run", "--demo", "--no-history", "--no-web", "--data-dir", str(data_dir),
           "--config", str(config)]
    if duration is not None:
        cmd += ["--duration", str(duration)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _assert_reconciled(ledger: Ledger) -> None:
    table = {(b["venue"], b["asset"]): b["amount"] for b in ledger.balances()}
    replay = ledger.replay_balances()
    assert set(table) == set(replay)
    for key, amount in table.items():
        assert amount == pytest.approx(replay[key], rel=1e-12, abs=1e-9), key


@pytest.mark.timeout(60)
def test_sigkill_mid_trade_loses_no_fill_and_restart_reconciles(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(latency=", ".join(f"{v} = {ms}" for v, ms in LATENCY_MS.items())))
    data = tmp_path / "data"
    proc = _start(data, config)
    reported: set[str] = set()
    entry_fills: dict[int, int] = {}
    victim = None
    deadline = time.monotonic() + 30
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            m = FILL.match(line.strip())
            if m:
                tid, purpose, fill_id = int(m.group(1)), m.group(2), m.group(3)
                reported.add(fill_id)
                if purpose == "entry":
                    entry_fills[tid] = entry_fills.get(tid, 0) + 1
                    # The first leg of a trade, after a few complete ones: kill while the other travels.
                    if entry_fills[tid] == 1 and len(reported) >= 6:
                        proc.send_signal(signal.SIGKILL)
                        victim = tid
                        break
            if time.monotonic() > deadline:
                break
    finally:
        if proc.poll() is None and victim is None:
            proc.kill()
        proc.wait(10)
    assert victim is not None, "no trade was caught mid-flight within 30 s"
    assert proc.returncode == -signal.SIGKILL

    ledger = Ledger(data / "trading-paper.sqlite", create=False)
    stored = {f["fill_id"] for f in ledger.fills()}
    assert reported <= stored, f"fills reported but lost: {sorted(reported - stored)}"
    _assert_reconciled(ledger)
    caught = ledger.trades(1000)
    victim_row = next(t for t in caught if t["id"] == victim)
    assert victim_row["status"] == "executing"
    assert "sent" in {o["status"] for o in ledger.orders(victim)}
    fills_before = {f["fill_id"]: (f["qty"], f["price"], f["fee"]) for f in ledger.fills()}
    ledger.close()

    proc = _start(data, config, duration=4)
    out, err = proc.communicate(timeout=40)
    assert proc.returncode == 0, err[-2000:]
    assert "reconciled ledger" in err

    ledger = Ledger(data / "trading-paper.sqlite", create=False)
    after = {f["fill_id"]: (f["qty"], f["price"], f["fee"]) for f in ledger.fills()}
    assert {k: after[k] for k in fills_before} == fills_before  # nothing lost or rewritten
    _assert_reconciled(ledger)
    victim_orders = ledger.orders(victim)
    assert "sent" not in {o["status"] for o in victim_orders}
    assert any(o["status"] == "expired" and o["reason"] == "lost_in_crash" for o in victim_orders)
    victim_row = next(t for t in ledger.trades(1000) if t["id"] == victim)
    assert victim_row["status"] in ("closed", "open")
    if victim_row["status"] == "closed":
        assert victim_row["close_reason"] in ("unwound", "hedged", "completed")
    assert not [t for t in ledger.trades(1000) if t["status"] in ("executing", "unhedged")]
    ledger.close()
