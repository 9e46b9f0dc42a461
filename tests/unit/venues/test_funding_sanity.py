"""Non-finite or absurd funding rates are rejected frames, never events (issue 12, defect 2).

Each venue's real funding sample is parsed as recorded (one Funding event), then with its rate
replaced by NaN, ±inf, 1e300 and a rate past ``max_abs_funding_rate``: each must be a counted
rejection (FrameError) instead of an event the detector turns into a null or 49,999 bps net.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from arbsniper.config import ConfigError, load_config
from arbsniper.instruments import SymbolMap
from arbsniper.model import Funding
from arbsniper.venues import REGISTRY
from arbsniper.venues.base import FrameError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

# (venue, market, fixture, JSON key holding the rate)
SAMPLES = [
    ("binance", "perp", "binance/futures_markPrice.jsonl", "r"),
    ("bybit", "perp", "bybit/v5_derivs_tickers.jsonl", "fundingRate"),
    ("okx", "perp", "okx/funding-rate.jsonl", "fundingRate"),
    ("bitget", "perp", "bitget/v2_futures_ticker.jsonl", "fundingRate"),
    ("hyperliquid", "perp", "hyperliquid/activeAssetCtx.jsonl", "funding"),
]
BAD_RATES = ["NaN", "Infinity", "-Infinity", "1e300", "0.5", "-0.06"]


def _venue(name: str, market: str) -> object:
    v = REGISTRY[name].venue_class(market)(market, SymbolMap())
    v.on_connected(1)
    return v


def _with_rate(line: str, key: str, rate: str) -> str:
    out, n = re.subn(rf'"{key}":"[^"]*"', f'"{key}":"{rate}"', line, count=1)
    assert n == 1, f"{key} not in {line[:80]}"
    return out


@pytest.mark.parametrize("name,market,fixture,key", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_sample_gives_funding_and_bad_rates_are_rejected_frames(name: str, market: str, fixture: str, key: str) -> None:
    line = next(x for x in (FIXTURES / fixture).read_text().splitlines() if f'"{key}"' in x)
    good = [ev for ev in _venue(name, market).parse(line.encode(), 1).events if isinstance(ev, Funding)]  # type: ignore[attr-defined]
    assert good and all(math.isfinite(f.rate) for f in good)
    for rate in BAD_RATES:
        venue = _venue(name, market)
        with pytest.raises(FrameError, match="funding"):
            venue.parse(_with_rate(line, key, rate).encode(), 1)  # type: ignore[attr-defined]


def test_limit_is_configurable_per_funding_interval(tmp_path: Path) -> None:
    line = next(x for x in (FIXTURES / "binance/futures_markPrice.jsonl").read_text().splitlines() if '"r"' in x)
    venue = _venue("binance", "perp")
    venue.max_abs_funding_rate = 0.01  # type: ignore[attr-defined]
    [f] = venue.parse(_with_rate(line, "r", "0.009").encode(), 1).events  # type: ignore[attr-defined]
    assert isinstance(f, Funding) and f.rate == 0.009
    with pytest.raises(FrameError):
        venue.parse(_with_rate(line, "r", "0.011").encode(), 1)  # type: ignore[attr-defined]
    assert load_config(environ={}).detector.max_abs_funding_rate == 0.05
    path = tmp_path / "c.toml"
    path.write_text("[detector]\nmax_abs_funding_rate = 0.01\n")
    assert load_config(path, environ={}).detector.max_abs_funding_rate == 0.01
    for bad in ("nan", "0", "-0.1", "2"):
        path.write_text(f"[detector]\nmax_abs_funding_rate = {bad}\n")
        with pytest.raises(ConfigError, match="max_abs_funding_rate"):
            load_config(path, environ={})


@pytest.mark.parametrize("name", [n for n, info in REGISTRY.items() if "perp" in info.markets])
def test_every_perp_venue_builds_funding_through_the_checked_constructor(name: str) -> None:
    venue = REGISTRY[name].venue_class("perp")("perp", SymbolMap())
    assert isinstance(venue.funding(0, 0.0001, 8.0, 0, 1, 1), Funding)
    for rate, hours in ((math.nan, 8.0), (1e300, 8.0), (0.0001, math.nan), (0.0001, -1.0)):
        with pytest.raises(FrameError):
            venue.funding(0, rate, hours, 0, 1, 1)
    source = (Path(__file__).resolve().parents[3] / "src/arbsniper/venues").rglob("*.py")
    assert [p.name for p in source if "Funding(self.venue_id" in p.read_text()] == ["base.py"]  # only there
