"""Binary frames in recordings, replay and ``parse``; rotation of long recordings."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from arbsniper.cli import main
from arbsniper.config import Config
from arbsniper.record import Recorder, read_records, recording_path
from arbsniper.replay import replay

RECV = 1_700_000_000_000_000_000


def bbo_frame() -> bytes:
    """A Paradex SBE BboEvent (schema 1, template 2), byte by byte: BTC-USD-PERP 67629.7 / 67630.1."""
    raw = bytes.fromhex("3000" "0200" "0100" "0100")  # blockLength 48, template 2, schema 1, version 1
    raw += (1_700_000_000_123_456).to_bytes(8, "little")  # ts, µs
    raw += (42).to_bytes(8, "little")  # seq
    raw += (6_762_970_000_000).to_bytes(8, "little")  # bidPrice 67629.70000000
    raw += (99_200_000).to_bytes(8, "little")  # bidSize 0.99200000
    raw += (6_763_010_000_000).to_bytes(8, "little")  # askPrice 67630.10000000
    raw += (313_700_000).to_bytes(8, "little")  # askSize 3.13700000
    return raw + bytes([12]) + b"BTC-USD-PERP"


def test_a_binary_frame_is_recorded_as_base64_and_replayed_through_parse_binary(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    rec = Recorder(path)
    rec.status("paradex", "perp", RECV, "up", "connected")
    rec.frame("paradex", "perp", RECV + 1, bbo_frame())
    rec.close()
    line = json.loads(path.read_text().splitlines()[1])
    assert line["frame"] == "" and base64.b64decode(line["frame_b64"]) == bbo_frame()
    [_, r] = list(read_records(path))
    assert r.binary and r.payload() == bbo_frame()
    st = replay(path, Config(), lambda _s: None)
    assert (st.frames, st.bad_frames, st.events) == (1, 0, 3)  # events: up, awaiting the first book, the quote


def test_parse_reads_b64_lines_as_binary_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = tmp_path / "frames.txt"
    frames.write_text("b64:" + base64.b64encode(bbo_frame()).decode() + "\nb64:***\n")
    assert main(["parse", "--venue", "paradex", str(frames)]) == 0
    out, err = capsys.readouterr()
    [q] = [json.loads(x) for x in out.splitlines()]
    assert (q["kind"], q["instrument"], q["bid"], q["ask"], q["ask_size"]) == ("quote", "BTC/USD:USDC", 67629.7, 67630.1, 3.137)
    assert err.splitlines()[0].startswith("line 2: not base64")


def test_recordings_rotate_by_size_and_read_back_in_order(tmp_path: Path) -> None:
    rec = Recorder(recording_path(str(tmp_path / "run.jsonl")), rotate_bytes=300)
    for n in range(12):
        rec.frame("binance", "spot", RECV + n, json.dumps({"n": n, "pad": "x" * 40}))
        rec.flush()
    rec.close()
    assert [p.name for p in rec.files][:2] == ["run.0001.jsonl.zst", "run.0002.jsonl.zst"]
    assert len(rec.files) >= 3
    got = [json.loads(r.frame)["n"] for p in rec.files for r in read_records(p)]
    assert got == list(range(12))
