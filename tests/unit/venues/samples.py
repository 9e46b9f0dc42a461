"""Shared helpers of the venue parser tests: the real samples in ``tests/fixtures``."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES


def sample_lines(venue: str, name: str) -> list[str]:
    """Raw frames of ``tests/fixtures/<venue>/<name>.jsonl`` (see its ``.source.txt``)."""
    path = FIXTURES / venue / f"{name}.jsonl"
    return [line.rstrip("\n") for line in path.read_text().splitlines() if line.strip()]


def sample_json(venue: str, name: str) -> list[dict]:
    return [json.loads(line) for line in sample_lines(venue, name)]
