"""Configuration: defaults, file + environment, and errors that name the key."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
import pytest
import tomli_w

from arbsniper.cli import main
from arbsniper.config import Config, ConfigError, config_to_toml, load_config

Key = tuple[str, ...]  # a setting's path: ("venues", "okx", "limits", "BTC/USDT", "lot_size")


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "arbsniper.toml"
    p.write_text(text)
    return p


def toml_with(key: Key, value: Any) -> str:
    """A config file setting one key."""
    data: Any = value
    for part in reversed(key):
        data = {part: data}
    return tomli_w.dumps(data)


def toml_key(key: Key) -> str:
    return ".".join(p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else f'"{p}"' for p in key)


def load_with(tmp_path: Path, key: Key, value: Any) -> Config:
    return load_config(write(tmp_path, toml_with(key, value)), environ={})


# A valid key for each table keyed by name (a venue, an instrument, an asset), by the table's path
# with "*" for names: a new table of numbers fails here until it has one, and is then covered.
SAMPLE_KEYS = {"venues": "okx", "venues.*.limits": "BTC/USDT", "trading.venue_latency_ms": "okx",
               "trading.inventory": "okx", "trading.inventory.*": "BTC"}


def _bare(typ: Any) -> Any:
    while True:
        if get_origin(typ) is Annotated:
            typ = get_args(typ)[0]
        elif get_origin(typ) in (Union, UnionType):
            (typ,) = (a for a in get_args(typ) if a is not type(None))
        else:
            return typ


def settings(of: type[Any], typ: Any = Config, key: Key = (), pattern: Key = ()) -> Iterator[Key]:
    """Every setting whose value is of the type ``of``, at any depth of the config."""
    typ = _bare(typ)
    if typ is of:
        yield key
    elif isinstance(typ, type) and issubclass(typ, msgspec.Struct):
        for f in msgspec.structs.fields(typ):
            yield from settings(of, f.type, (*key, f.name), (*pattern, f.name))
    elif get_origin(typ) is dict:
        for inner in settings(of, get_args(typ)[1], (), (*pattern, "*")):
            yield (*key, SAMPLE_KEYS[".".join(pattern)], *inner)

FLOAT_SETTINGS = sorted(settings(float))
NUMBER_SETTINGS = sorted({*FLOAT_SETTINGS, *settings(int)})


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
        ("[detector]\nmax_quote_age_ms = 0\n", {}, "detector.max_quote_age_ms: Expected `int` >= 1, got 0"),
        ("[venues.binanse]\nenabled = true\n", {}, "venues.binanse: unknown venue"),
        ("[venues.okx]\nmarkets = ['futures']\n", {}, "venues.okx.markets[0]: Expected one of 'spot', 'perp', got 'futures'"),
        ('[venues.okx.limits."BTC/USDT"]\nlot_size = -1\n', {}, 'venues.okx.limits."BTC/USDT".lot_size: Expected `float` >= 0.0, got -1'),
        ("[detector]\ndeny = ['BTCUSDT']\n", {}, "deny: instrument 'BTCUSDT'"),
        ("[conversion]\nsources = { USDT = 'BTC/USD' }\n", {}, "sources.USDT"),
        ("", {"ARBSNIPER_DETECTOR__SLIPPAGE_BPS": "-2"}, "environment: detector.slippage_bps: Expected `float` >= 0.0, got -2"),
        ("", {"ARBSNIPER_BUS__NOPE": "1"}, "bus: Object contains unknown field `nope`"),
        ("[detector\n", {}, "is not valid TOML"),
        ("[detector]\nmax_notional = inf\n", {}, "detector.max_notional: Expected a finite `float`, got inf"),
        ("[detector]\nmax_sane_spread_bps = nan\n", {}, "detector.max_sane_spread_bps: Expected a finite `float`, got nan"),
        ("", {"ARBSNIPER_DETECTOR__MIN_NET_BPS": "nan"}, "environment: detector.min_net_bps: Expected a finite `float`, got nan"),
    ],
)
def test_bad_config_fails_with_a_message_naming_the_key(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ=env)
    assert message in str(exc.value)


def test_the_walk_over_settings_finds_every_section() -> None:
    sections = {key[0] for key in NUMBER_SETTINGS}
    assert sections == {f.name for f in msgspec.structs.fields(Config) if f.name not in ("data_dir", "bases", "log_level", "universe")}
    assert ("venues", "okx", "limits", "BTC/USDT", "lot_size") in FLOAT_SETTINGS
    assert ("trading", "inventory", "okx", "BTC") in FLOAT_SETTINGS and ("web", "port") not in FLOAT_SETTINGS


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=repr)
@pytest.mark.parametrize("key", FLOAT_SETTINGS, ids=toml_key)
def test_nan_or_infinite_float_setting_is_rejected_naming_the_key(tmp_path: Path, key: Key, value: float) -> None:
    with pytest.raises(ConfigError) as exc:
        load_with(tmp_path, key, value)
    message = str(exc.value)
    assert f"arbsniper.toml: {toml_key(key)}: Expected a finite `float`" in message
    assert message.endswith(f", got {value!r}")


@pytest.mark.parametrize("key", FLOAT_SETTINGS, ids=toml_key)
def test_nan_float_setting_from_the_environment_is_rejected_naming_the_key(key: Key) -> None:
    env = {"ARBSNIPER_" + "__".join(p.upper() for p in key): "nan"}
    named = toml_key(tuple(p if "/" in p else p.lower() for p in key))  # the environment's keys are lower case
    with pytest.raises(ConfigError, match=re.escape(f"defaults + environment: {named}: Expected a finite `float`")):
        load_config(environ=env)


@pytest.mark.parametrize("key", NUMBER_SETTINGS, ids=toml_key)
def test_string_for_a_number_is_rejected_naming_the_key(tmp_path: Path, key: Key) -> None:
    with pytest.raises(ConfigError) as exc:
        load_with(tmp_path, key, "8")
    assert re.search(rf"arbsniper.toml: {re.escape(toml_key(key))}: Expected `(int|float)`, got `str`$", str(exc.value))


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


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        (("log_level",), "verbose", "'DEBUG', 'INFO', 'WARNING', 'ERROR'"),
        (("trading", "leg_risk"), "hedgehog", "'unwind', 'hedge'"),
        (("venues", "okx", "markets"), ["spot", "futures"], "'spot', 'perp'"),
    ],
)
def test_literal_choice_lists_the_allowed_values(tmp_path: Path, key: Key, value: Any, allowed: str) -> None:
    named = toml_key(key) + ("[1]" if isinstance(value, list) else "")
    bad = repr(value[1] if isinstance(value, list) else value)
    with pytest.raises(ConfigError, match=re.escape(f"arbsniper.toml: {named}: Expected one of {allowed}, got {bad}")):
        load_with(tmp_path, key, value)


@pytest.mark.parametrize(("text", "env"), [("log_level = 'debug'\n", {}), ("", {"ARBSNIPER_LOG_LEVEL": "Debug"}),
                                           ("log_level = 'DEBUG'\n", {})])
def test_log_level_is_read_in_any_case_and_held_in_upper_case(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    assert load_config(write(tmp_path, text), environ=env).log_level == "DEBUG"


def test_literal_choices_are_read() -> None:
    c = load_config(environ={"ARBSNIPER_TRADING__LEG_RISK": '"hedge"', "ARBSNIPER_VENUES__OKX__MARKETS": '["perp"]'})
    assert (c.trading.leg_risk, c.venue("okx").markets) == ("hedge", ["perp"])


# (setting, values at the edge of its range, values just beyond it): the rules the section classes
# state as types; each edge value is still accepted, as before the rules were types.
RANGES: list[tuple[Key, list[Any], list[Any]]] = [
    (("detector", "min_spread_bps"), [0], [-0.01]),
    (("detector", "min_net_bps"), [-50.0, 0], []),
    (("detector", "min_confidence"), [0, 100], [-0.01, 100.01]),
    (("detector", "min_funding_delta"), [-0.01, 0], []),
    (("detector", "max_quote_age_ms"), [1], [0]),
    (("detector", "slippage_bps"), [0], [-0.01]),
    (("detector", "max_notional"), [0.01], [0]),
    (("detector", "holding_hours"), [0], [-0.01]),
    (("detector", "update_min_bps"), [0], [-0.01]),
    (("detector", "update_min_size_pct"), [0], [-0.01]),
    (("conversion", "max_depeg_bps"), [0.01], [0]),
    (("conversion", "max_rate_age_ms"), [1], [0]),
    (("venues", "okx", "limits", "BTC/USDT", "lot_size"), [0], [-0.01]),
    (("venues", "okx", "limits", "BTC/USDT", "tick_size"), [0], [-0.01]),
    (("venues", "okx", "limits", "BTC/USDT", "min_notional"), [0], [-0.01]),
    (("venues", "okx", "taker_fee_bps_spot"), [0, 999.99], [-0.01, 1000]),
    (("venues", "okx", "taker_fee_bps_perp"), [0, 999.99], [-0.01, 1000]),
    (("venues", "okx", "max_quote_age_ms"), [1], [0]),
    (("bus", "market_capacity"), [1], [0]),
    (("bus", "signal_capacity"), [1], [0]),
    (("history", "batch"), [1], [0]),
    (("history", "flush_ms"), [1], [0]),
    (("demo", "updates_per_s"), [0.01], [0]),
    (("demo", "dislocation_every_s"), [0.01], [0]),
    (("demo", "stale_every_s"), [0.01], [0]),
    (("demo", "crossed_every_s"), [0.01], [0]),
    (("trading", "latency_ms"), [0], [-0.01]),
    (("trading", "venue_latency_ms", "okx"), [0], [-0.01]),
    (("trading", "price_tolerance_bps"), [0], [-0.01]),
    (("trading", "max_signal_age_ms"), [1], [0]),
    (("trading", "min_trade_notional"), [0], [-0.01]),
    (("trading", "max_venue_notional"), [0.01], [0]),
    (("trading", "max_open_positions"), [0], [-1]),
    (("trading", "daily_loss_limit"), [0.01], [0]),
    (("trading", "perp_leverage"), [1], [0.99]),
    (("trading", "exit_basis_bps"), [-5.0], []),
    (("trading", "holding_period_s"), [0.01], [0]),
    (("trading", "mark_every_s"), [0.01], [0]),
    (("trading", "inventory", "okx", "BTC"), [0], [-0.01]),
    (("web", "port"), [0, 65535], [-1, 65536]),
    (("web", "push_hz"), [0.01, 100], [0, 100.01]),
    (("web", "state_hz"), [0.01, 100], [0, 100.01]),
    (("web", "closed_keep"), [1], [0]),
    (("web", "chart_seconds"), [1], [0]),
    (("alerts", "min_profit"), [-1.0], []),
    (("alerts", "max_per_minute"), [1], [0]),
    (("alerts", "timeout_s"), [0.01], [0]),
    (("alerts", "queue"), [1], [0]),
    (("zmq", "sndhwm"), [1], [0]),
    (("zmq", "rcvhwm"), [1], [0]),
    (("zmq", "linger_ms"), [0], [-1]),
    (("zmq", "heartbeat_ivl_ms"), [1], [0]),
    (("zmq", "reconnect_ivl_ms"), [1], [0]),
    (("zmq", "batch"), [1], [0]),
    (("redis", "history_max"), [1], [0]),
    (("redis", "stream_maxlen"), [1], [0]),
    (("redis", "buffer"), [1], [0]),
    (("redis", "batch"), [1], [0]),
    (("redis", "timeout_ms"), [1], [0]),
    (("redis", "dedupe_ttl_s"), [1], [0]),
]


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, ok, _ in RANGES for v in ok], ids=repr)
def test_setting_accepts_the_edge_of_its_range(tmp_path: Path, key: Key, value: Any) -> None:
    node: Any = load_with(tmp_path, key, value)
    for part in key:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    assert node == value


@pytest.mark.parametrize(("key", "value"), [(k, v) for k, _, bad in RANGES for v in bad], ids=repr)
def test_setting_rejects_a_value_just_beyond_its_range_naming_the_key(tmp_path: Path, key: Key, value: Any) -> None:
    with pytest.raises(ConfigError) as exc:
        load_with(tmp_path, key, value)
    assert re.search(rf"arbsniper.toml: {re.escape(toml_key(key))}: Expected `(int|float)` [<>]=? \S+, got {value!r}$",
                     str(exc.value))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[detector]\nmin_spread_bps = 20\nmax_sane_spread_bps = 20\n", "detector: max_sane_spread_bps must exceed min_spread_bps"),
        ("[trading]\nmin_trade_notional = 100.01\nmax_trade_notional = 100\n", "trading: need min_trade_notional <= max_trade_notional"),
        ("[zmq]\nheartbeat_ivl_ms = 3000\nheartbeat_timeout_ms = 3000\n", "zmq: need heartbeat_ivl_ms < heartbeat_timeout_ms"),
        ("[zmq]\nreconnect_ivl_ms = 101\nreconnect_ivl_max_ms = 100\n", "zmq: need reconnect_ivl_ms <= reconnect_ivl_max_ms"),
    ],
)
def test_rule_relating_two_settings_names_its_section(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"arbsniper.toml: {re.escape(message)}$"):
        load_config(write(tmp_path, text), environ={})


def test_settings_related_by_a_rule_may_meet_where_the_rule_allows(tmp_path: Path) -> None:
    c = load_config(write(tmp_path, "[detector]\nmin_spread_bps = 20\nmax_sane_spread_bps = 20.01\n"
                                    "[trading]\nmin_trade_notional = 100\nmax_trade_notional = 100\n"
                                    "[zmq]\nheartbeat_ivl_ms = 2999\nreconnect_ivl_ms = 2000\n"), environ={})
    assert (c.detector.max_sane_spread_bps, c.trading.max_trade_notional, c.zmq.reconnect_ivl_ms) == (20.01, 100, 2000)


@pytest.mark.parametrize(
    ("key", "good", "bad", "rule"),
    [
        (("zmq", "bind"), ["tcp://127.0.0.1:1", "ipc:///tmp/s", "inproc://x"], ["udp://h:1"], "^(tcp|ipc|inproc)://"),
        (("zmq", "connect"), ["tcp://127.0.0.1:1", "ipc:///tmp/s", "inproc://x"], ["tcp//h:1"], "^(tcp|ipc|inproc)://"),
        (("alerts", "urls"), ["json://h/x", "tgram://t/c"], ["tgram:t/c"], "://"),
    ],
)
def test_endpoint_lists_state_the_schemes_they_accept(tmp_path: Path, key: Key, good: list[str], bad: list[str], rule: str) -> None:
    assert getattr(getattr(load_with(tmp_path, key, good), key[0]), key[1]) == good
    with pytest.raises(ConfigError, match=re.escape(f"{toml_key(key)}[{len(good)}]: Expected `str` matching regex '{rule}'")):
        load_with(tmp_path, key, good + bad)


def test_zmq_needs_an_endpoint_to_bind_and_to_connect(tmp_path: Path) -> None:
    for key in (("zmq", "bind"), ("zmq", "connect")):
        with pytest.raises(ConfigError, match=re.escape(f"arbsniper.toml: {toml_key(key)}: Expected `array` of length >= 1")):
            load_with(tmp_path, key, [])


@pytest.mark.parametrize("url", ["redis://h:6379/0", "rediss://u:pw@h:6380/1", "unix:///run/redis.sock"])
def test_redis_url_accepts_its_schemes(url: str) -> None:
    assert load_config(environ={"ARBSNIPER_REDIS__URL": f'"{url}"'}).redis.url == url


def test_bad_redis_url_is_rejected_without_echoing_its_password() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(environ={"ARBSNIPER_REDIS__URL": '"http://user:s3cret@h:6379"'})
    assert "redis.url: Expected `str` matching regex '^(redis|rediss|unix)://'" in str(exc.value)
    assert "s3cret" not in str(exc.value)


def test_printed_config_loads_back_unchanged(tmp_path: Path) -> None:
    # the defaults satisfy every rule (msgspec does not check defaults), and print as they load
    defaults = load_config(environ={})
    assert load_config(write(tmp_path, config_to_toml(defaults)), environ={}) == defaults


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_cli_refuses_to_start_on_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[detector]\nmin_spread_bps = -5\n")
    assert main(["run", "--demo", "--duration", "1", "--config", str(path)]) == 2
    assert "detector.min_spread_bps: Expected `float` >= 0.0, got -5" in capsys.readouterr().err


def test_config_print_shows_resolved_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "[detector]\nmin_spread_bps = 17.0\n")
    assert main(["config", "--print", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "min_spread_bps = 17.0" in out and "[conversion]" in out
