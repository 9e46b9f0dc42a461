"""Shared pytest fixtures and helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"


@pytest.fixture
def samples_dir() -> Path:
    """The shared venue samples beside the repo; tests using them skip when absent."""
    if not SAMPLES.is_dir():
        pytest.skip(f"venue samples not found at {SAMPLES}")
    return SAMPLES
