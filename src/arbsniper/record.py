"""Recordings of raw venue traffic: one JSON line per frame, as received (SPEC §9).

    {"venue":"binance","market":"spot","recv_ns":1700000000000000000,"frame":"{\\"stream\\":…}"}

Two optional keys extend the format so that a replay sees everything the live parsers saw:
``"meta": [{…InstrumentMeta…}]`` (before a venue market's first ``up``, with an empty
``frame``) holds the listing the session parsed with, so a replay reads contract sizes in the
same units; ``"rest": "/api/v3/depth?symbol=BTCUSDT&limit=1000"`` marks ``frame`` as the body of a REST book
snapshot fetched for that path, and ``"status": "up"|"down"`` (with ``"reason"``, and an empty
``frame``) marks a connection opening or closing. A binary frame (Paradex SBE) is written base64-encoded
in ``"frame_b64"`` beside an empty ``frame``:

    {"venue":"paradex","market":"perp","recv_ns":1700000000000000000,"frame":"","frame_b64":"GAABAAEA…"}

Files ending in ``.gz`` or ``.zst`` are compressed. Writing happens off the frame path: the
tap only appends to a list that a task flushes. A ``Recorder`` given ``rotate_bytes`` or
``rotate_s`` starts a new numbered file (``run.0001.jsonl.zst`` …) when the current one grows
past that size (uncompressed bytes written) or age.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import msgspec

from arbsniper.venues.metadata import InstrumentMeta


class Record(msgspec.Struct, omit_defaults=True):
    """One line of a recording."""

    venue: str
    market: str
    recv_ns: int
    frame: str
    rest: str | None = None
    status: str | None = None
    reason: str | None = None
    frame_b64: str | None = None  # a binary frame, base64 (``frame`` is then empty)
    meta: list[InstrumentMeta] | None = None  # the venue market's listing (``frame`` is then empty)
    mark: str | None = None  # what the live pipeline did (``replay``: pipeline/books/drain/expire/shutdown)

    def payload(self) -> str | bytes:
        """What the venue sent: the text, or the bytes of a binary frame."""
        return base64.b64decode(self.frame_b64) if self.frame_b64 is not None else self.frame

    @property
    def binary(self) -> bool:
        return self.frame_b64 is not None


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


def recording_path(path: str, plain: bool = False) -> str:
    """``run --record``: zstd unless the name says .gz / .zst or ``plain`` is asked for."""
    if plain or path.endswith((".gz", ".zst")):
        return path
    return path + ".zst"


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

    def __init__(self, path: str | Path, flush_every_s: float = 0.2, *, rotate_bytes: int = 0,
                 rotate_s: float = 0.0) -> None:
        self.path = Path(path)
        self.flush_every_s = flush_every_s
        self.rotate_bytes = rotate_bytes
        self.rotate_s = rotate_s
        self.lines: list[bytes] = []
        self.written = 0
        self.files: list[Path] = []  # every file written so far, in order
        self._fh: IO[str] | None = None
        self._file_bytes = 0
        self._file_started = 0.0

    def frame(self, venue: str, market: str, recv_ns: int, text: str | bytes) -> None:
        if isinstance(text, bytes):
            rec = Record(venue, market, recv_ns, "", frame_b64=base64.b64encode(text).decode("ascii"))
        else:
            rec = Record(venue, market, recv_ns, text)
        self.lines.append(_encoder.encode(rec))

    def rest(self, venue: str, market: str, recv_ns: int, path: str, body: str) -> None:
        self.lines.append(_encoder.encode(Record(venue, market, recv_ns, body, rest=path)))

    def metadata(self, venue: str, market: str, recv_ns: int, metas: list[InstrumentMeta]) -> None:
        self.lines.append(_encoder.encode(Record(venue, market, recv_ns, "", meta=metas)))

    def mark(self, kind: str, recv_ns: int, venue: str = "", market: str = "") -> None:
        """What the live pipeline did at ``recv_ns`` (see ``replay``): one short line."""
        self.lines.append(_encoder.encode(Record(venue, market, recv_ns, "", mark=kind)))

    def status(self, venue: str, market: str, recv_ns: int, state: str, reason: str) -> None:
        self.lines.append(_encoder.encode(Record(venue, market, recv_ns, "", status=state, reason=reason)))

    def _next_path(self) -> Path:
        if not (self.rotate_bytes or self.rotate_s):
            return self.path
        # run.jsonl.zst -> run.0001.jsonl.zst: the number goes before every suffix
        name = self.path.name
        stem, dot, rest = name.partition(".")
        return self.path.with_name(f"{stem}.{len(self.files) + 1:04d}{dot}{rest}")

    def open(self) -> None:
        path = self._next_path()
        self._fh = open_text(path, "w")
        self.files.append(path)
        self._file_bytes = 0
        self._file_started = time.monotonic()

    def _due(self) -> bool:
        return bool((self.rotate_bytes and self._file_bytes >= self.rotate_bytes)
                    or (self.rotate_s and time.monotonic() - self._file_started >= self.rotate_s))

    def flush(self) -> None:
        if self._fh is not None and self._due():
            self._fh.close()
            self._fh = None
        if self._fh is None:
            self.open()
        assert self._fh is not None
        lines, self.lines = self.lines, []
        if lines:
            text = b"\n".join(lines).decode() + "\n"
            self._fh.write(text)
            self._file_bytes += len(text)
            self.written += len(lines)

    def close(self) -> None:
        self.flush()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    async def run(self, _sink: object = None) -> None:
        """Flush periodically until cancelled (then flush and close).

        Takes (and ignores) a sink so that ``App`` can run it as one of its sources (``run --record``).
        """
        try:
            while True:
                await asyncio.sleep(self.flush_every_s)
                self.flush()
        finally:
            self.close()
