"""The benchmark runs, reports the promised keys, and both implementations agree."""

from __future__ import annotations

import json

import pytest

from arbsniper.cli import main


def test_bench_json_reports_the_promised_keys(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("arbsniper.bench.engine.NAIVE_SAMPLE", 20_000)
    assert main(["bench", "--json", "--quick", "--updates", "20000", "--venues", "8", "--instruments", "50"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("updates_per_s", "p50_us", "p99_us", "p999_us", "naive_updates_per_s", "speedup_vs_naive"):
        assert result[key] > 0
    assert result["updates"] == 20_000
    assert result["p50_us"] <= result["p99_us"] <= result["p999_us"]
    # the naive version and the engine see the same opportunities on the same stream
    assert result["opened_in_naive_sample"] == result["naive_opened"] > 0


def test_scale_bench_runs_real_sessions_against_the_simulator() -> None:
    from arbsniper.bench.scale import bench_scale

    [row] = bench_scale((2,), seconds=1.0, demo=False)
    assert row["venues"] == 8 and row["instruments_per_venue"] == 2
    assert row["frames_offered_per_s"] > 0 and row["frames_handled_per_s"] > 0
    assert row["cpu_s_per_10k_frames"] > 0 and row["peak_rss_mb"] > 0 and row["conflation_drops"] >= 0
