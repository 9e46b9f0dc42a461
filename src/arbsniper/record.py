"""Recordings of raw venue traffic: one JSON line per frame, as received (SPEC §9).

    {"venue":"binance","market":"spot","recv_ns":1700000000000000000,"frame":"{\\"stream\\":…}"}

Two optional keys extend the format so that a replay sees everything the live parsers saw:
``"rest": "/api/v3/depth?symbol=BTCUSDT&limit=1000"`` marks ``frame`` as the body of a REST book
snapshot fetched for that path, and ``"status": "up"|"down"`` (with ``"reason"``, and an empty
``frame``) marks a connection opening or closing. Files ending in ``.gz`` or ``.zst`` are
compressed. Writing happens off the frame path: the tap only appends to a list that a task
flushes.
"""

from __future__ import annotations

import asyncio
import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import msgspec


class Record(msgspec.Struct, omit_defaults=True):
    """One line of a recording."""

    venue: str
    market: str
    recv_ns: int
    frame: str
    rest: str | None = None
    status: str | None = None
    reason: str | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Record)


def open_text(path: str | Path, mode: str) -> IO[str]:
    """Open a recording for reading ("r") or writing ("w"), compressed by its extension."""
    p = str(path)
    if p.endswith(".gz"):
        return gzip.open(p, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    if p.endswith(".zst"):
        import zstandard

        if mode == "r":
            return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(p, "rb")), encoding="utf-8")
        return io.TextIOWrapper(zstandard.ZstdCompressor().stream_writer(open(p, "wb")), encoding="utf-8")
    return open(p, mode, encoding="utf-8")


def open_bytes(path: str | Path) -> IO[bytes]:
    """Open a recording for reading as bytes, decompressed by its extension."""
    p = str(path)
    if p.endswith(".gz"):
        return gzip.open(p, "rb")  # type: ignore[return-value]
    if p.endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(p, "rb")))  # type: ignore[arg-type]
    return open(p, "rb")


def read_records(path: str | Path) -> Iterator[Record]:
    """Every record of a file, in order; blank lines are skipped; a damaged line is a ValueError."""
    for _, rec in numbered_records(path):
        yield rec


def numbered_records(path: str | Path, on_bad: Callable[[int, str], None] | None = None) -> Iterator[tuple[int, Record]]:
    """Every record of a file with its line number; blank lines are skipped.

    A line that is not a record (not JSON, invalid UTF-8, nested past the decoder's depth) is a
    ``ValueError`` naming its line, or, given ``on_bad``, reported as (line number, reason) and
    skipped: a replay goes on past one damaged line. Lines are read as bytes for that reason.
    """
    with open_bytes(path) as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rec = _decoder.decode(line)
                except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
                    if on_bad is None:
                        raise ValueError(f"{path}:{n}: not a recording line: {exc}") from None
                    on_bad(n, f"not a recording line: {exc}")
                    continue
                yield n, rec


class Recorder:
    """A session tap that writes everything it is given to a recording file."""

    def __init__(self, path: str | Path, flush_every_s: float = 0.2) -> None:
        self.path = Path(path)
        self.flush_every_s = flush_every_s
        self.lines: list[bytes] = []
        self.written = 0
        self._fh: IO[str] | None = None

    def frame(self, venue: str, market: str, recv_ns: int, text: str) -> None:
        self.lines.append(_encoder.encode(Record(venue, market, recv_ns, text)))

    def rest(self, venue: str, market: str, recv_ns: int, path: str, body: str) -> None:
        self.lines.append(_encoder.encode(Record(venue, market, recv_ns, body, rest=path)))

    def status(self, venue: str, market: str, recv_ns: int, state: str, reason: str) -> None:
        self.lines.append(_encoder.encode(Record(venue, market, recv_ns, "", status=state, reason=reason)))

    def open(self) -> None:
        self._fh = open_text(self.path, "w")

    def flush(self) -> None:
        if self._fh is None:
            self.open()
        assert self._fh is not None
        lines, self.lines = self.lines, []
        if lines:
            self._fh.write(b"\n".join(lines).decode() + "\n")
            self.written += len(lines)

    def close(self) -> None:
        self.flush()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    async def run(self) -> None:
        """Flush periodically until cancelled (then flush and close)."""
        try:
            while True:
                await asyncio.sleep(self.flush_every_s)
                self.flush()
        finally:
            self.close()
