"""Hostile frames in ``parse`` and ``replay``: deep nesting, invalid UTF-8, damaged lines.

Each is a counted rejection naming its line, and the run goes on to the next line (issue 12,
defects 5, 6 and 7). Before the fix they escaped as RecursionError, msgspec.DecodeError or
UnicodeDecodeError tracebacks.
"""

from __future__ import annotations

import io
from pathlib import Path

import msgspec
import pytest

from arbsniper.cli import main
from arbsniper.config import Config
from arbsniper.parse import parse_stream
from arbsniper.record import Record
from arbsniper.replay import replay
from arbsniper.venues import REGISTRY

DEEP_OBJECT = b'{"a":' * 3000 + b"1" + b"}" * 3000
DEEP_ARRAY = b"[" * 3000 + b"]" * 3000
# Coinbase's first pass skips "time"; the second, typed pass meets the invalid UTF-8 in it.
COINBASE_BAD_UTF8 = (b'{"type":"l2update","product_id":"SKL-GBP","changes":[["sell","0.5762","335.0"]],'
                     b'"time":"2021-04-17T16:43:\xff37.078325Z"}')
GOOD_TICKER = (b'{"type":"ticker","sequence":1,"product_id":"BTC-USD","price":"68900.5","best_bid":"68900",'
               b'"best_bid_size":"1.5","best_ask":"68901","best_ask_size":"0.5","time":"2026-04-07T14:30:03.000000Z"}')


@pytest.mark.parametrize("venue,market", [(n, m) for n, info in REGISTRY.items() for m in info.markets])
def test_deep_nesting_and_invalid_utf8_are_counted_rejections_on_every_parser(venue: str, market: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    lines = [DEEP_OBJECT, DEEP_ARRAY, b'{"x":"\xff\xfe"}', b"\xc3\x28", COINBASE_BAD_UTF8]
    frames, events, bad = parse_stream(venue, market, lines, out, err)
    assert (frames, events, bad) == (5, 0, 5)
    assert [line.split(":")[0] for line in err.getvalue().splitlines()] == [f"line {n}" for n in range(1, 6)]


def test_parse_cli_reads_invalid_utf8_from_a_file_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = tmp_path / "frames.txt"
    frames.write_bytes(b"\xff\xfe garbage\n" + COINBASE_BAD_UTF8 + b"\n" + DEEP_OBJECT + b"\n" + GOOD_TICKER + b"\n")
    assert main(["parse", "--venue", "coinbase", "--market", "spot", str(frames)]) == 0
    captured = capsys.readouterr()
    assert "line 1:" in captured.err and "line 2:" in captured.err and "line 3:" in captured.err
    assert "4 frames, 1 events, 3 bad" in captured.err
    assert msgspec.json.decode(captured.out.splitlines()[0])["bid"] == 68900.0


def _line(frame: bytes | str, venue: str = "coinbase") -> bytes:
    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
    return msgspec.json.encode(Record(venue, "spot", 1_700_000_000_000_000_000, text))


def test_replay_counts_damaged_lines_and_rejected_frames_with_line_numbers_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    lines = [
        _line(GOOD_TICKER),
        b"not json at all",  # 2: not a record
        b'{"venue":"coinbase","market":"spot","recv_ns":1,"frame":"\xff"}',  # 3: invalid UTF-8 in the record
        b'{"venue":"coinbase","market":"spot","recv_ns":1,"frame":"","x":' + DEEP_OBJECT + b"}",  # 4: nested record
        _line(DEEP_OBJECT.decode()),  # 5: a record whose frame is nested past the decoder's depth
        _line(GOOD_TICKER),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    bad: list[tuple[int, str]] = []
    st = replay(path, Config(), lambda s: None, on_bad=lambda n, why: bad.append((n, why)))
    assert [n for n, _ in bad] == [2, 3, 4, 5]
    assert st.bad_frames == 4 and st.records == 3 and st.frames == 3 and st.events > 0


def test_replay_cli_missing_file_directory_and_bad_line_are_one_line_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "missing.jsonl")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert main(["replay", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Is a directory" in err and err.strip().count("\n") == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"xx\n\xff\xfe\n")
    assert main(["replay", str(bad)]) == 0
    err = capsys.readouterr().err
    assert f"{bad}:1: not a recording line" in err and f"{bad}:2: not a recording line" in err
    assert "2 bad frames" in err


def test_parse_cli_missing_file_and_directory_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--venue", "binance", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "No such file" in err and err.strip().count("\n") == 0
    assert main(["parse", "--venue", "binance", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Is a directory" in err and err.strip().count("\n") == 0


def test_parse_reads_invalid_utf8_on_stdin_without_a_traceback() -> None:
    import subprocess
    import sys

    src = Path(__file__).resolve().parents[2] / "src"
    proc = subprocess.run([sys.executable, "-m", "arbsniper.cli", "parse", "--venue", "coinbase", "--market", "spot"],
                          input=b"\xff\xfe\n" + DEEP_OBJECT + b"\n" + GOOD_TICKER + b"\n", capture_output=True, timeout=60,
                          env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert b"line 1:" in proc.stderr and b"line 2:" in proc.stderr and b"3 frames, 1 events, 2 bad" in proc.stderr
