"""The backtest on a recording built by hand, its numbers worked out by hand.

Bybit spot and Bitget spot, BTC/USDT, full-book snapshots in each venue's real format, taker
fees 10 bps on both. At t = 10 ms Bitget's bid jumps to 101.0 while Bybit asks 100.0 (1 BTC on
each side): spread 100 bps, fees 20, net 80 → an opportunity opens. At t = 200 ms Bitget's bid
falls back to 99.95 → it closes, having lived 190 ms. The file goes on to 600 ms.

- 50 ms latency: both legs land at 60 ms. Buy 1 @ 100.0 (fee 0.100), sell 1 @ 101.0 (fee 0.101):
  P&L = 1 × (101.0 − 100.0) − 0.201 = +0.799: won.
- 250 ms: the legs land at 260 ms, the opportunity is gone. The buy fills 1 @ 100.0 (fee 0.100);
  the sell's limit 101.0 × (1 − 5 bps) = 100.9495 finds only the 99.95 bid: nothing. The bought
  1 BTC is flattened for one more taker fee of 0.100: P&L = −0.200: lost.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from arbsniper.capture.backtest import Backtester
from arbsniper.cli import main
from arbsniper.config import Config
from arbsniper.history import HistoryWriter, history_path
from arbsniper.model import Signal
from arbsniper.record import Record

T0 = 1_800_000_000_000_000_000
MS = 1_000_000


def bybit(ms: int, bid: float, ask: float) -> str:
    return json.dumps({"topic": "orderbook.50.BTCUSDT", "ts": T0 // MS + ms, "type": "snapshot",
                       "data": {"s": "BTCUSDT", "b": [[str(bid), "1"]], "a": [[str(ask), "1"]], "u": ms + 1, "seq": ms + 1}})


def bitget(ms: int, bid: float, ask: float) -> str:
    return json.dumps({"action": "snapshot", "arg": {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"},
                       "data": [{"asks": [[str(ask), "1"]], "bids": [[str(bid), "1"]], "checksum": 0,
                                 "ts": str(T0 // MS + ms)}], "ts": T0 // MS + ms})


def hand_built(path: Path) -> Path:
    enc = msgspec.json.Encoder()
    lines = [Record(v, "spot", T0, "", status="up", reason="connected") for v in ("bybit", "bitget")]
    for ms in range(0, 601, 10):  # each venue sends a full book every 10 ms
        lines.append(Record("bybit", "spot", T0 + (ms + 1) * MS, bybit(ms + 1, 99.9, 100.0)))
        high = 10 <= ms < 200
        lines.append(Record("bitget", "spot", T0 + (ms + 2) * MS if ms == 0 else T0 + ms * MS,
                            bitget(ms, 101.0, 101.1) if high else bitget(ms, 99.95, 100.05)))
    path.write_bytes(b"\n".join(enc.encode(r) for r in lines) + b"\n")
    return path


def config(latency_ms: float = 50.0) -> Config:
    return msgspec.convert({"venues": {"bybit": {"taker_fee_bps_spot": 10.0}, "bitget": {"taker_fee_bps_spot": 10.0}},
                            "trading": {"latency_ms": latency_ms}}, Config)


def test_one_opportunity_capturable_at_50_ms_not_at_250_ms(tmp_path: Path) -> None:
    bt = Backtester(config(50.0))
    rep = bt.report(bt.run([hand_built(tmp_path / "hand.jsonl")]))
    assert rep["opportunities"] == 1
    assert rep["by_pair"]["bybit>bitget"]["opportunities"] == 1
    assert rep["lifetime_ms"] == {"p50": 190.0, "p90": 190.0, "p99": 190.0}
    assert rep["capturable_fraction"] == 1.0
    assert rep["pnl"]["total"] == pytest.approx(0.799)
    assert rep["pnl"]["fees"] == pytest.approx(0.201)
    assert (rep["pnl"]["won"], rep["pnl"]["lost"], rep["pnl"]["missed"]) == (1, 0, 0)
    sweep = {row["latency_ms"]: row for row in rep["sweep"]}
    assert sweep[50.0]["capturable_fraction"] == 1.0 and sweep[50.0]["pnl"] == pytest.approx(0.799)
    assert sweep[250.0]["capturable_fraction"] == 0.0 and sweep[250.0]["pnl"] == pytest.approx(-0.2)
    assert sweep[500.0]["pnl"] == pytest.approx(-0.2)


def test_latency_override_and_json_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = hand_built(tmp_path / "hand.jsonl")
    cfg = tmp_path / "c.toml"
    cfg.write_text("[venues.bybit]\ntaker_fee_bps_spot = 10.0\n[venues.bitget]\ntaker_fee_bps_spot = 10.0\n")
    assert main(["backtest", str(rec), "--config", str(cfg), "--latency-ms", "250", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["capturable_fraction"] == 0.0
    assert rep["pnl"]["total"] == pytest.approx(-0.2) and rep["pnl"]["lost"] == 1
    assert rep["pnl"]["by_pair"]["bybit>bitget"]["total"] == pytest.approx(-0.2)
    assert {"opportunities", "lifetime_ms", "capturable_fraction", "pnl", "sweep"} <= set(rep)


def test_bad_arguments_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["backtest", str(hand_built(tmp_path / "h.jsonl")), "--latency-ms", "-5"]) == 2
    (tmp_path / "bad.zst").write_text("not zstd")
    assert main(["backtest", str(tmp_path / "bad.zst")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"arbsniper backtest: FILE '{tmp_path / 'missing.jsonl'}': no such file",
                   "arbsniper backtest: --latency-ms: -5.0 is not a latency (need a number >= 0)",
                   "arbsniper backtest: FILE: cannot read the recording (ZstdError: zstd decompress error: "
                   "Unknown frame descriptor)"]


def _close(oid: str, buy: str, sell: str, symbol: str, ts_ms: int, lived_ms: int) -> Signal:
    return Signal(action=f"BUY_{buy.upper()}_SELL_{sell.upper()}", symbol=symbol, spread_pct=0.3, buy_price=100.0,
                  sell_price=100.3, profit_estimate=0.3, timestamp=ts_ms, detected_at=ts_ms - lived_ms, id=oid,
                  event="close", buy_exchange=buy, sell_exchange=sell, spread_bps=30.0, fees_bps=20.0, slippage_bps=0.0,
                  funding_bps=0.0, net_bps=10.0, size=1.0, profit_quote=0.1, confidence=50.0, latency_us=1.0,
                  close_reason="spread_gone", duration_ms=lived_ms, buy_instrument=symbol, sell_instrument=symbol,
                  quote_currency="USDT")


def test_report_reads_lifetimes_from_the_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    writer = HistoryWriter(history_path(tmp_path))
    now_ms = 1_800_000_000_000
    writer.write([_close("a", "binance", "okx", "BTC/USDT", now_ms - 7_200_000, 30),  # 2 h ago
                  _close("b", "binance", "okx", "BTC/USDT", now_ms - 1000, 80),
                  _close("c", "binance", "okx", "ETH/USDT", now_ms - 900, 400),
                  _close("d", "okx", "binance", "BTC/USDT", now_ms - 800, 1200)])
    writer.close()
    assert main(["report", "--data-dir", str(tmp_path), "--json", "--since", "2026-01-01T00:00:00"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["opportunities"] == 4
    assert rep["lifetime_ms"] == {"p50": 80.0, "p90": 1200.0, "p99": 1200.0}
    assert rep["capturable_fraction"] == 0.5  # default latency 100 ms: 400 and 1200 ms outlive it
    assert rep["by_pair"]["binance>okx"]["opportunities"] == 3
    assert {row["latency_ms"]: row["capturable_fraction"] for row in rep["sweep"]}[50.0] == 0.75
    assert main(["report", "--data-dir", str(tmp_path), "--plot", str(tmp_path / "plots")]) == 0
    assert len(list((tmp_path / "plots").glob("*.png"))) == 4 and (tmp_path / "plots" / "report.html").exists()
    capsys.readouterr()
    assert main(["report", "--data-dir", str(tmp_path), "--json", "--since", "2027-01-15T07:00:00"]) == 0
    assert json.loads(capsys.readouterr().out)["opportunities"] == 3  # "a" closed at 06:00 UTC
    assert main(["report", "--data-dir", str(tmp_path), "--since", "yesterday"]) == 2
    assert capsys.readouterr().err.startswith("arbsniper report: --since: 'yesterday' is neither")


def test_the_parts_of_a_rotated_recording_backtest_as_one(tmp_path: Path) -> None:
    from arbsniper.record import Recorder, read_records

    whole = hand_built(tmp_path / "hand.jsonl")
    rec = Recorder(tmp_path / "parts.jsonl", rotate_bytes=4000)
    for r in read_records(whole):
        rec.lines.append(msgspec.json.encode(r))
        rec.flush()
    rec.close()
    assert len(rec.files) > 3
    one = Backtester(config(50.0)).report(Backtester(config(50.0)).run([whole]))
    bt = Backtester(config(50.0))
    parts = bt.report(bt.run(rec.files))
    for key in ("opportunities", "lifetime_ms", "capturable_fraction", "pnl", "sweep"):
        assert parts[key] == one[key], key
