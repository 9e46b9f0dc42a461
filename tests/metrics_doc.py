"""The README's metrics tables, read as data: which mode serves which family and which stage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
MODES = ("run", "ingest", "engine", "dashboard", "trader")
STAGE_MODES = ("run", "ingest", "engine", "dashboard")


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    labels: tuple[str, ...]
    modes: frozenset[str]  # a cell other than "–" serves it (always, or when that part runs)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _section() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Health and metrics")
    end = text.index("\n## ", start + 1)
    return text[start:end].splitlines()


def _name(cell: str) -> str | None:
    m = re.fullmatch(r"`([a-z_]+)`", cell)
    return m.group(1) if m else None


def families() -> list[Row]:
    """Rows of the metrics table, in order."""
    rows = []
    for line in _section():
        cells = _cells(line) if line.startswith("| `arbsniper_") else []
        if len(cells) == 4 + len(MODES):
            name = _name(cells[0])
            assert name is not None, line
            labels = tuple(re.findall(r"`([a-z_]+)`", cells[2]))
            modes = frozenset(m for m, c in zip(MODES, cells[3:3 + len(MODES)], strict=True) if c != "–")
            rows.append(Row(name, cells[1], labels, modes))
    return rows


def stages() -> dict[str, frozenset[str]]:
    """Stage → the modes that serve it, from the stages table."""
    out = {}
    for line in _section():
        cells = _cells(line) if line.startswith("| `") and not line.startswith("| `arbsniper_") else []
        if len(cells) == 2 + len(STAGE_MODES):
            name = _name(cells[0])
            assert name is not None, line
            out[name] = frozenset(m for m, c in zip(STAGE_MODES, cells[2:], strict=True) if c != "–")
    return out
