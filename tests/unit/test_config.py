"""Configuration: defaults, file + environment, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbsniper.cli import main
from arbsniper.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "arbsniper.toml"
    p.write_text(text)
    return p


def test_defaults_match_the_spec() -> None:
    c = load_config(environ={})
    d = c.detector
    assert (d.min_spread_bps, d.min_net_bps, d.max_quote_age_ms, d.slippage_bps, d.max_sane_spread_bps) == (10, 0, 5000, 3, 500)
    assert c.taker_fee_bps("binance", 0) == 10.0 and c.taker_fee_bps("binance", 1) == 5.0
    assert c.taker_fee_bps("coinbase", 0) == 120.0


def test_file_values_and_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, '[detector]\nmin_spread_bps = 12.5\n[venues.okx]\ntaker_fee_bps_spot = 8.0\n')
    c = load_config(path, environ={"ARBSNIPER_DETECTOR__MIN_NET_BPS": "1.5", "ARBSNIPER_DATA_DIR": "/tmp/x"})
    assert c.detector.min_spread_bps == 12.5
    assert c.detector.min_net_bps == 1.5
    assert c.data_dir == "/tmp/x"
    assert c.taker_fee_bps("okx", 0) == 8.0
    assert c.max_quote_age_ns("okx") == 5_000_000_000


def test_environment_names_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[detector]\nmin_spread_bps = 30\n")
    assert load_config(environ={"ARBSNIPER_CONFIG": str(path)}).detector.min_spread_bps == 30


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[detector]\nmin_sprad_bps = 1\n", {}, "unknown field `min_sprad_bps`"),
        ("[detector]\nmin_spread_bps = 'ten'\n", {}, "detector.min_spread_bps: Expected `float`"),
        ("[detector]\nmax_quote_age_ms = 0\n", {}, "detector: max_quote_age_ms must be > 0"),
        ("[venues.binanse]\nenabled = true\n", {}, "venues.binanse: unknown venue"),
        ("[venues.okx]\nmarkets = ['futures']\n", {}, "venues.okx: markets: 'futures'"),
        ('[venues.okx.limits."BTC/USDT"]\nlot_size = -1\n', {}, "venues.okx.limits.BTC/USDT: limits must be >= 0"),
        ("[detector]\ndeny = ['BTCUSDT']\n", {}, "deny: instrument 'BTCUSDT'"),
        ("[conversion]\nsources = { USDT = 'BTC/USD' }\n", {}, "sources.USDT"),
        ("", {"ARBSNIPER_DETECTOR__SLIPPAGE_BPS": "-2"}, "slippage_bps must be >= 0"),
        ("", {"ARBSNIPER_BUS__NOPE": "1"}, "bus: Object contains unknown field `nope`"),
        ("[detector\n", {}, "is not valid TOML"),
    ],
)
def test_bad_config_fails_with_a_message_naming_the_key(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ=env)
    assert message in str(exc.value)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_cli_refuses_to_start_on_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[detector]\nmin_spread_bps = -5\n")
    assert main(["run", "--demo", "--duration", "1", "--config", str(path)]) == 2
    assert "min_spread_bps must be >= 0" in capsys.readouterr().err


def test_config_print_shows_resolved_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[detector]\nmin_spread_bps = 17.0\n")
    assert main(["config", "--print", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "min_spread_bps = 17.0" in out and "[conversion]" in out
