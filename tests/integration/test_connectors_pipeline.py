"""The real connectors end to end: demo through the simulator, record → replay determinism, parse CLI."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from arbsniper.app import App
from arbsniper.cli import main
from arbsniper.config import Config, DemoConfig, HistoryConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import Signal, signal_to_json
from arbsniper.record import Recorder, read_records
from arbsniper.replay import replay
from arbsniper.sim.launch import SimulatedVenues
from arbsniper.venues.connect import run_for
from tests.conftest import FIXTURES

MINE = {"binance", "coinbase", "bybit", "okx", "kucoin", "bitget", "hyperliquid", "paradex"}  # every simulated venue
LIVELY = DemoConfig(dislocation_every_s=0.4, stale_every_s=30.0, crossed_every_s=2.0, updates_per_s=1500.0)


def _config(tmp_path: Path) -> Config:
    return Config(data_dir=str(tmp_path), demo=LIVELY, history=HistoryConfig(enabled=False))


def test_demo_run_detects_opportunities_across_venues_through_the_connectors(tmp_path: Path) -> None:
    config = _config(tmp_path)
    symbols = SymbolMap()
    out = io.StringIO()
    source = SimulatedVenues(config, symbols, seed=21)
    app = App(config, [source], symbols, json_out=out, human_out=None, history=False)
    assert asyncio.run(app.run(6.0)) == 0
    signals = [json.loads(line) for line in out.getvalue().splitlines()]
    opened = [s for s in signals if s["event"] == "open"]
    assert opened, "no opportunity opened in 6 s of a market with a dislocation every 0.4 s"
    pairs = {(s["buy_exchange"], s["sell_exchange"]) for s in opened}
    assert all(b in MINE and s in MINE and b != s for b, s in pairs)
    assert source.connectors is not None
    health = source.connectors.health()
    assert set(health) >= {"binance:spot", "binance:perp", "coinbase:spot", "bybit:spot", "bybit:perp", "okx:spot", "okx:perp",
                           "kucoin:spot", "kucoin:perp", "bitget:spot", "bitget:perp", "hyperliquid:perp", "paradex:perp"}
    assert all(h["state"] == "up" and h["frames"] > 0 for h in health.values())


def test_recorded_demo_replays_to_identical_signals_twice(tmp_path: Path) -> None:
    path = tmp_path / "demo.jsonl.gz"
    recorder = Recorder(path)

    async def record() -> None:
        flusher = asyncio.create_task(recorder.run())
        await run_for(SimulatedVenues(_config(tmp_path), SymbolMap(), seed=5, tap=recorder), lambda _e: None, 5.0)
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)

    asyncio.run(record())
    records = list(read_records(path))
    assert {r.venue for r in records} == MINE
    assert any(r.rest for r in records), "Binance REST snapshots belong in the recording"
    assert any(r.status == "up" for r in records)
    runs: list[list[bytes]] = []
    for _ in range(2):
        got: list[Signal] = []
        st = replay(path, _config(tmp_path), got.append)
        assert st.records == len(records) and st.signals == len(got)
        runs.append([signal_to_json(s) for s in got])
    assert runs[0], "the recording produced no signal"
    assert runs[0] == runs[1]
    # the clock is the file's: every signal is stamped within the recorded span
    first_ms, last_ms = records[0].recv_ns // 10**6, records[-1].recv_ns // 10**6
    assert all(first_ms <= json.loads(s)["timestamp"] <= last_ms for s in runs[0])


def test_parse_cli_prints_events_as_json_lines_and_reports_bad_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = FIXTURES / "binance" / "futures_bookTicker.jsonl"
    ack = '{"result":null,"id":1}'
    frames = tmp_path / "frames.txt"
    frames.write_text("\n".join([src.read_text().splitlines()[4], ack, "not json at all", src.read_text().splitlines()[0]]) + "\n")
    assert main(["parse", "--venue", "binance", "--market", "perp", str(frames)]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(x) for x in out.splitlines()]
    assert [(x["kind"], x["instrument"]) for x in lines] == [("quote", "BTC/USDT:USDT"), ("quote", "SUSHI/USDT:USDT")]
    q = lines[0]
    assert (q["venue"], q["bid"], q["bid_size"], q["ask"], q["ask_size"], q["exchange_ts_ns"]) == (
        "binance", 33134.42, 0.17, 33139.39, 0.38, 1612137603571000000)
    errors = [x for x in err.splitlines() if x.startswith("line ")]
    assert len(errors) == 1 and errors[0].startswith("line 3: ")
