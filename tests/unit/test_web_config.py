"""The ``[web]`` and ``[alerts]`` sections, and the token that is deliberately not config."""

from __future__ import annotations

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
    ({"ARBSNIPER_WEB__PORT": "70000"}, "web"),
    ({"ARBSNIPER_WEB__PUSH_HZ": "0"}, "web"),
    ({"ARBSNIPER_ALERTS__MAX_PER_MINUTE": "0"}, "alerts"),
    ({"ARBSNIPER_ALERTS__URLS": '["not a url"]'}, "alerts"),
])
def test_invalid_web_or_alerts_value_names_its_section(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(environ=env)
