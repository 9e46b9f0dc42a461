"""Read the shared real-message samples (``../shared/samples`` beside the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "samples"


def sample_lines(venue: str, name: str) -> list[str]:
    """The raw messages of one sample file, one per line; skips the test when samples are absent."""
    path = SAMPLES / venue / f"{name}.jsonl"
    if not path.is_file():
        pytest.skip(f"shared sample {venue}/{name}.jsonl not found (expected at {path})")
    return [line for line in path.read_text().splitlines() if line.strip()]
