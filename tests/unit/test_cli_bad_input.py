"""Bad command-line input stops with one line on stderr naming the problem and a non-zero exit
(issue 12, defects 10 and 11): never a traceback, never a silent success. Nothing here starts a
run: every case is refused before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbsniper.cli import main

CASES: list[tuple[list[str], str]] = [
    (["run", "--demo", "--duration", "-5"], "--duration"),
    (["run", "--demo", "--duration", "nan"], "--duration"),
    (["ingest", "--demo", "--duration", "inf"], "--duration"),
    (["history", "--limit", "-1"], "--limit"),
    (["trader", "--halt", "--resume"], "--resume"),
    (["run", "--demo", "--port", "70000"], "--port"),
    (["run", "--demo", "--port", "-1"], "--port"),
    (["simulate", "--port", "70000"], "--port"),
    (["simulate", "--port", "65530"], "--port"),
    (["simulate", "--fault", "binance:drop:abc"], "EVERY_S"),
    (["simulate", "--fault", "binance:drop:0"], "EVERY_S"),
    (["simulate", "--fault", "binance:drop:-1"], "EVERY_S"),
    (["simulate", "--fault", "binance:explode"], "unknown fault"),
    (["simulate", "--fault", "kraken:drop"], "unknown venue"),
    (["simulate", "--fault", "hyperliquid:skip-seq"], "no sequence"),
    (["simulate", "--fault", "coinbase:bad-checksum"], "no checksum"),
    (["simulate", "--fault", "binance:bad-checksum"], "no checksum"),
    (["simulate", "--fault", "coinbase:mute-pongs"], "no pings"),
    (["simulate", "--fault", "binance:mute-pongs"], "no pings"),
    (["parse", "--venue", "kraken"], "kraken"),
    (["engine", "--instruments", "NOTANINSTRUMENT"], "NOTANINSTRUMENT"),
    (["ingest", "--http", "nonsense"], "nonsense"),
    (["run", "--demo", "--redis", "http://x"], "--redis"),
    (["engine", "--redis", "http://x"], "--redis"),
    (["dashboard", "--redis-url", "http://x"], "--redis-url"),
    (["trader", "--redis", "http://x"], "--redis"),
]


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0, f"{argv} exited 0"
    assert "Traceback" not in err
    assert err.strip() and "\n" not in err.strip(), f"not one line: {err!r}"
    assert needle in err, err
    return err


@pytest.mark.parametrize("argv,needle", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_argument_is_one_line_and_non_zero(argv: list[str], needle: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    try:
        _one_line_error(capsys, [*argv, "--data-dir", str(tmp_path)] if argv[0] in ("run", "trader", "history") else argv,
                        needle)
    except SystemExit as exc:  # argparse's own refusals exit through SystemExit(2)
        assert exc.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.strip() and "\n" not in err.strip(), err
        assert needle in err, err


def test_data_dir_that_is_a_file_or_cannot_be_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    _one_line_error(capsys, ["run", "--demo", "--no-web", "--duration", "1", "--data-dir", str(a_file)], "not a directory")
    _one_line_error(capsys, ["trader", "--halt", "--data-dir", str(a_file)], "not a directory")
    _one_line_error(capsys, ["run", "--demo", "--data-dir", str(a_file / "below")], "cannot create")


def test_record_to_a_missing_directory_fails_before_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_error(capsys, ["record", "--demo", "--duration", "1", "--out", str(tmp_path / "no" / "x.jsonl")], "--out")


def test_config_directory_non_utf8_and_non_finite_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_error(capsys, ["config", "--config", str(tmp_path)], "is a directory")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe[detector]\n")
    _one_line_error(capsys, ["config", "--config", str(binary)], "not UTF-8")
    for text, key in (('[web]\nport = "8000"\n', "web.port"), ("[detector]\nmax_sane_spread_bps = nan\n", "max_sane_spread_bps"),
                      ("[detector]\nmax_notional = inf\n", "max_notional")):
        path = tmp_path / "c.toml"
        path.write_text(text)
        _one_line_error(capsys, ["config", "--config", str(path)], key)
    monkeypatch.setenv("ARBSNIPER_DETECTOR__MIN_NET_BPS", "nan")
    _one_line_error(capsys, ["config"], "min_net_bps")
