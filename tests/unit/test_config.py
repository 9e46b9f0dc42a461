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
        ('[venues.okx.limits."BTC/USDT"]\nlot_size = -1\n', {}, 'venues.okx.limits."BTC/USDT": limits must be >= 0'),
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


def test_string_for_a_number_is_rejected_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"arbsniper.toml: web.port: Expected `int`, got `str`$"):
        load_config(write(tmp_path, '[web]\nport = "8000"\n'), environ={})
    with pytest.raises(ConfigError, match=r"detector.min_spread_bps: Expected `float`, got `str`$"):
        load_config(write(tmp_path, '[detector]\nmin_spread_bps = "10"\n'), environ={})


def test_environment_number_is_a_number_and_a_word_is_an_error_naming_the_key() -> None:
    assert load_config(environ={"ARBSNIPER_WEB__PORT": "8000"}).web.port == 8000
    with pytest.raises(ConfigError, match=r"^defaults \+ environment: web.port: Expected `int`, got `str`$"):
        load_config(environ={"ARBSNIPER_WEB__PORT": "abc"})


def test_other_lax_coercions_are_type_errors_too(tmp_path: Path) -> None:
    # msgspec's lax mode would read 1 as true and 5000.0 as 5000; a config says what it means
    with pytest.raises(ConfigError, match=r"web.enabled: Expected `bool`, got `int`$"):
        load_config(write(tmp_path, "[web]\nenabled = 1\n"), environ={})
    with pytest.raises(ConfigError, match=r"detector.max_quote_age_ms: Expected `int`, got `float`$"):
        load_config(write(tmp_path, "[detector]\nmax_quote_age_ms = 5000.0\n"), environ={})


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[trading.venue_latency_ms]\nokx = 'slow'\n", "trading.venue_latency_ms.okx"),
        ("[trading.inventory.default]\nBTC = 'lots'\n", "trading.inventory.default.BTC"),
        ("[conversion.sources]\nEUR = 1\n", "conversion.sources.EUR"),
        ('[venues.okx.limits."BTC/USDT"]\ntick_size = "0.1"\n', 'venues.okx.limits."BTC/USDT".tick_size'),
        ("[venues.okx]\ninstruments = ['BTC/USDT', 5]\n", "venues.okx.instruments[1]"),
    ],
)
def test_error_inside_a_table_keyed_by_name_names_the_entry(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text), environ={})
    assert f"arbsniper.toml: {key}: Expected" in str(exc.value)


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
