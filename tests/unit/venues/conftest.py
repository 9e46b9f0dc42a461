"""Shared fixtures of the venue parser tests: the real samples beside the repo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "samples"


def sample_lines(venue: str, name: str) -> list[str]:
    """Raw frames of ``shared/samples/<venue>/<name>.jsonl``; skips the test when absent."""
    path = SAMPLES / venue / f"{name}.jsonl"
    if not path.exists():
        pytest.skip(f"sample {path} not found (shared/samples is not beside the repo)")
    return [line.rstrip("\n") for line in path.read_text().splitlines() if line.strip()]


def sample_json(venue: str, name: str) -> list[dict]:
    return [json.loads(line) for line in sample_lines(venue, name)]
