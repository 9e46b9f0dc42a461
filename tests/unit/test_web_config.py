"""The ``[web]`` and ``[alerts]`` sections, and the token that is deliberately not config."""

from __future__ import annotations

import re

import pytest

from arbsniper.config import ConfigError, load_config


def test_web_and_alerts_defaults_bind_loopback_and_alert_on_20_bps() -> None:
    config = load_config(environ={})
    assert (config.web.enabled, config.web.host, config.web.port) == (True, "127.0.0.1", 8000)
    assert (config.web.push_hz, config.web.state_hz) == (10.0, 5.0)
    assert (config.alerts.urls, config.alerts.min_net_bps, config.alerts.max_per_minute) == ([], 20.0, 6)


def test_environment_overrides_reach_web_and_alerts() -> None:
    config = load_config(environ={"ARBSNIPER_WEB__PORT": "9001", "ARBSNIPER_ALERTS__URLS": '["json://h/x"]'})
    assert config.web.port == 9001
    assert config.alerts.urls == ["json://h/x"]


def test_web_token_in_the_environment_is_a_secret_not_a_config_key() -> None:
    # ARBSNIPER_WEB_TOKEN would otherwise read as an unknown top-level key "web_token"
    config = load_config(environ={"ARBSNIPER_WEB_TOKEN": "s3cret"})
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(("env", "key"), [
    ({"ARBSNIPER_WEB__PORT": "70000"}, "web.port: Expected `int` <= 65535, got 70000"),
    ({"ARBSNIPER_WEB__PORT": "abc"}, "web.port: Expected `int`, got `str`"),
    ({"ARBSNIPER_WEB__PUSH_HZ": "0"}, "web.push_hz: Expected `float` > 0.0, got 0"),
    ({"ARBSNIPER_ALERTS__MAX_PER_MINUTE": "0"}, "alerts.max_per_minute: Expected `int` >= 1, got 0"),
    ({"ARBSNIPER_ALERTS__URLS": '["not a url"]'}, "alerts.urls[0]: Expected `str` matching regex '://'"),
])
def test_invalid_web_or_alerts_value_names_its_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"defaults + environment: {key}")):
        load_config(environ=env)


def test_port_zero_means_any_free_port_and_is_accepted() -> None:
    assert load_config(environ={"ARBSNIPER_WEB__PORT": "0"}).web.port == 0
