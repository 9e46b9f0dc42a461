"""Which signals raise an alert, and the rate limit (no network: nothing is sent here)."""

from __future__ import annotations

import apprise
import pytest

from arbsniper.alerts import Alerter, format_alert
from arbsniper.config import AlertsConfig, Config, ConfigError, config_to_toml
from arbsniper.model import Signal


def make_signal(event: str, oid: str, *, net: float, profit: float, ts: int = 1_795_000_000_123) -> Signal:
    return Signal(
        action="BUY_BINANCE_SELL_OKX", symbol="BTC/USDT", spread_pct=0.6, buy_price=97_000.0, sell_price=97_582.0,
        profit_estimate=582.0, timestamp=ts, detected_at=ts - 3, id=oid, event=event, buy_exchange="binance",
        sell_exchange="okx", spread_bps=60.0, fees_bps=20.0, slippage_bps=3.0, funding_bps=0.0, net_bps=net,
        size=0.1, profit_quote=profit, confidence=70.0, latency_us=9.0, buy_instrument="BTC/USDT",
        sell_instrument="BTC/USDT", quote_currency="USDT",
    )


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def alerter(clock: Clock, **cfg: object) -> Alerter:
    return Alerter(AlertsConfig(**cfg), clock=clock, notifier=apprise.Apprise())  # type: ignore[arg-type]


def test_only_opens_at_or_above_both_thresholds_are_queued() -> None:
    a = alerter(Clock(), min_net_bps=20.0, min_profit=5.0)
    assert a.offer(make_signal("open", "x1", net=20.0, profit=5.0))  # exactly at both
    assert not a.offer(make_signal("open", "x2", net=19.9, profit=50.0))
    assert not a.offer(make_signal("open", "x3", net=40.0, profit=4.99))
    assert not a.offer(make_signal("update", "x1", net=45.0, profit=50.0))
    assert not a.offer(make_signal("close", "x1", net=45.0, profit=50.0))
    assert [s.id for s, _ in a.queue] == ["x1"]
    assert a.matched == 1


def test_rate_limit_allows_a_burst_then_one_per_interval_and_counts_the_rest() -> None:
    clock = Clock()
    a = alerter(clock, min_net_bps=0.0, max_per_minute=2)  # bucket of 2, refills one per 30 s
    results = [a.offer(make_signal("open", f"o{k}", net=30.0, profit=10.0)) for k in range(4)]
    assert results == [True, True, False, False]
    assert a.suppressed == 2
    clock.t += 29.0  # 29/30 of a token: still none
    assert not a.offer(make_signal("open", "o4", net=30.0, profit=10.0))
    clock.t += 1.0  # 30 s after the burst: 30 × 2/60 = 1 token
    assert a.offer(make_signal("open", "o5", net=30.0, profit=10.0))
    assert a.suppressed == 3
    # the alert after the suppressed ones says how many were held back
    assert [(s.id, n) for s, n in a.queue] == [("o0", 0), ("o1", 0), ("o5", 3)]
    _, body = format_alert(*a.queue[-1])
    assert "(3 more alerts suppressed by the rate limit since the last one)" in body


def test_full_queue_drops_without_spending_the_rate() -> None:
    a = alerter(Clock(), min_net_bps=0.0, max_per_minute=10, queue=1)
    assert a.offer(make_signal("open", "a", net=30.0, profit=1.0))
    assert not a.offer(make_signal("open", "b", net=30.0, profit=1.0))
    assert (a.dropped, a.suppressed) == (1, 0)
    assert a.tokens == 9.0


def test_alert_text_names_the_trade_and_its_numbers() -> None:
    title, body = format_alert(make_signal("open", "BTC/USDT:binance>okx:1", net=37.0, profit=35.9))
    assert title == "Arbitrage BTC/USDT: buy binance sell okx net 37.0 bps"
    assert "buy  binance @ 97000 (BTC/USDT)" in body
    assert "sell okx @ 97582 (BTC/USDT)" in body
    assert "spread 60.0 bps, fees 20.0, slippage 3.0, funding +0.0 -> net 37.0 bps" in body
    assert "size 0.1, profit 35.90 USDT, confidence 70" in body
    assert "2026-11-18 11:06:40.123 UTC" in body  # 1_795_000_000_123 ms since the epoch


def test_unsupported_url_is_a_config_error_naming_the_key_without_the_secret() -> None:
    with pytest.raises(ConfigError, match=r"alerts.urls: 'nosuchscheme://…'") as exc:
        Alerter(AlertsConfig(urls=["nosuchscheme://secret-token/123"]))
    assert "secret-token" not in str(exc.value)


def test_config_print_hides_alert_url_secrets() -> None:
    text = config_to_toml(Config(alerts=AlertsConfig(urls=["tgram://123456:ABCDEF/987"])))
    assert "ABCDEF" not in text
    assert 'urls = [\n    "tgram://…",\n]' in text or 'urls = ["tgram://…"]' in text
