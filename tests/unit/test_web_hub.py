"""The dashboard hub: how signals fold into the page's state and how pushes are batched."""

from __future__ import annotations

import orjson

from arbsniper.config import Config, WebConfig
from arbsniper.engine import Engine
from arbsniper.instruments import SymbolMap
from arbsniper.metrics import LatencyHistogram
from arbsniper.model import Quote, Signal
from arbsniper.web.hub import EngineView, Hub


def make_signal(event: str, oid: str, *, ts: int, net: float = 30.0, reason: str | None = None,
                duration_ms: int = 0, symbol: str = "BTC/USDT", spread: float = 45.0) -> Signal:
    return Signal(
        action="BUY_BINANCE_SELL_OKX", symbol=symbol, spread_pct=round(spread / 100, 4), buy_price=100.0,
        sell_price=100.45, profit_estimate=0.45, timestamp=ts, detected_at=ts - 1, id=oid, event=event,
        buy_exchange="binance", sell_exchange="okx", spread_bps=spread, fees_bps=12.0, slippage_bps=3.0,
        funding_bps=0.0, net_bps=net, size=2.0, profit_quote=net / 1e4 * 2.0 * 100.0, confidence=65.0,
        latency_us=12.0, close_reason=reason, duration_ms=duration_ms, buy_instrument=symbol,
        sell_instrument=symbol, quote_currency="USDT",
    )


def deltas(hub: Hub) -> list[dict]:
    """Flush once and return what a connected client would receive (decoded)."""
    client = hub.connect()
    client.snapshot_needed = False
    hub.flush(with_state=False)
    return [orjson.loads(t) for t in client.pending]


def test_open_update_close_keeps_row_until_close_and_keeps_open_time() -> None:
    hub = Hub(mode="distributed")
    hub.apply_batch([make_signal("open", "a", ts=1_000, net=30.0)])
    hub.apply_batch([make_signal("update", "a", ts=1_500, net=34.0)])
    assert list(hub.open) == ["a"]
    assert hub.open["a"]["net_bps"] == 34.0
    assert hub.open["a"]["opened_at"] == 1_000
    hub.apply_batch([make_signal("close", "a", ts=2_500, net=34.0, reason="spread_gone", duration_ms=1_500)])
    assert hub.open == {}
    assert hub.closed[0]["close_reason"] == "spread_gone"
    assert hub.closed[0]["opened_at"] == 1_000  # 2500 - 1500
    assert hub.counts == {"open": 1, "update": 1, "close": 1}


def test_flush_coalesces_every_event_of_one_id_into_one_upsert() -> None:
    hub = Hub(mode="distributed")
    hub.apply_batch([make_signal("open", "a", ts=1_000, net=30.0)] +
                    [make_signal("update", "a", ts=1_000 + k, net=30.0 + k) for k in range(1, 4)])
    [msg] = deltas(hub)
    assert msg["type"] == "delta"
    assert [r["id"] for r in msg["upsert"]] == ["a"]
    assert msg["upsert"][0]["net_bps"] == 33.0
    assert msg["new"] == ["a"]
    assert msg["closed"] == []


def test_open_and_close_within_one_batch_push_only_the_closed_row() -> None:
    hub = Hub(mode="distributed")
    hub.apply_batch([make_signal("open", "a", ts=1_000), make_signal("close", "a", ts=1_040, reason="stale_quote",
                                                                      duration_ms=40)])
    [msg] = deltas(hub)
    assert msg["upsert"] == []
    assert msg["new"] == []
    assert msg["remove"] == ["a"]
    assert [(r["id"], r["close_reason"], r["duration_ms"]) for r in msg["closed"]] == [("a", "stale_quote", 40)]


def test_client_that_falls_behind_gets_one_snapshot_instead_of_its_backlog() -> None:
    hub = Hub(mode="distributed")
    client = hub.connect()
    client.snapshot_needed = False
    client.max_pending = 2
    for k in range(3):
        hub.apply_batch([make_signal("open", f"o{k}", ts=1_000 + k)])
        hub.flush(with_state=False)
    assert client.resyncs == 1
    assert client.snapshot_needed and not client.pending
    text = hub.snapshot_text()
    snap = orjson.loads(text)
    assert snap["type"] == "snapshot"
    assert sorted(r["id"] for r in snap["open"]) == ["o0", "o1", "o2"]


def test_distributed_chart_point_is_widest_open_spread_per_symbol() -> None:
    hub = Hub(mode="distributed")
    hub.apply_batch([
        make_signal("open", "a", ts=1_000, spread=45.0),
        make_signal("open", "b", ts=1_000, spread=61.5),
        make_signal("open", "c", ts=1_000, spread=12.25, symbol="ETH/USDT"),
    ])
    state = hub.compute_state()
    assert state["matrix"] is None and state["venues"] is None
    assert state["spread"]["v"] == {"BTC/USDT": 61.5, "ETH/USDT": 12.25}
    assert state["counters"]["open"] == 3


def test_pnl_panel_data_comes_from_the_provider_and_a_failing_provider_hides_it() -> None:
    hub = Hub(mode="embedded", pnl=lambda: {"realized": 12.5, "unrealized": -3.0, "currency": "USDT"})
    assert hub.compute_state()["pnl"] == {"realized": 12.5, "unrealized": -3.0, "currency": "USDT"}

    def broken() -> dict:
        raise RuntimeError("ledger not ready")

    assert Hub(mode="embedded", pnl=broken).compute_state()["pnl"] is None
    assert Hub(mode="embedded").compute_state()["pnl"] is None


def test_latency_percentiles_are_nearest_rank_and_buckets_cumulative() -> None:
    lat = LatencyHistogram((0.010, 0.050), window=1000)
    for ms in range(1, 101):  # 1 ms … 100 ms
        lat.observe_s(ms / 1000)
    p50, p99 = lat.percentiles(0.5, 0.99)
    assert (p50, p99) == (0.050, 0.099)
    # ≤ 10 ms: 10 values; ≤ 50 ms: 50; all: 100
    assert lat.cumulative() == [("0.01", 10), ("0.05", 50), ("+Inf", 100)]
    assert LatencyHistogram((1.0,), window=10).percentiles(0.5) == [None]


def test_engine_view_reports_matrix_ages_spreads_and_venue_health() -> None:
    symbols = SymbolMap()
    k, o, b = symbols.venue_id("kucoin"), symbols.venue_id("okx"), symbols.venue_id("binance")
    btc = symbols.instrument_id("BTC/USDT")
    engine = Engine(symbols, Config(), lambda s: None)
    engine.grow()
    now = 1_800_000_000_000_000_000
    # in time order: kucoin 9 s ago, binance 2 s ago, okx 1 ms ago
    engine.on_event(Quote(k, btc, 100.5, 1.0, 101.5, 1.0, now - 9_000_000_000, now - 9_000_000_000, 1))
    engine.on_event(Quote(b, btc, 100.0, 1.0, 101.0, 1.0, now - 2_000_000_000, now - 2_000_000_000, 1))
    engine.on_event(Quote(o, btc, 102.0, 2.0, 103.0, 2.0, now - 1_000_000, now - 1_000_000, 1))
    view = EngineView(engine, ["BTC"])

    m = view.matrix(now)
    assert m["instruments"] == ["BTC/USDT"]
    assert m["venues"] == ["binance", "okx", "kucoin"]  # the usual venue order, not id order
    assert m["max_age_ms"] == [5000, 5000, 5000]
    assert m["cells"] == [[[100.0, 101.0, 2000, True], [102.0, 103.0, 1, True], [100.5, 101.5, 9000, True]]]

    # kucoin is 9 s old, beyond max_quote_age: best bid 102 (okx) vs best ask 101 (binance)
    assert view.spreads(now) == {"BTC/USDT": round((102.0 - 101.0) / 101.0 * 1e4, 2)}  # 99.01

    health = {v["venue"]: v for v in view.venues(now)}
    assert health["kucoin"]["state"] == "stale" and health["kucoin"]["fresh"] == 0
    assert health["binance"]["state"] == "up" and health["binance"]["last_quote_age_ms"] == 2000
    assert health["okx"]["markets"] == {"spot": True}
    # the detector opened buy binance @101 / sell okx @102 (99 bps spread): one leg on each
    assert (health["binance"]["open_legs"], health["okx"]["open_legs"], health["kucoin"]["open_legs"]) == (1, 1, 0)


def test_state_hz_bounds_the_chart_window() -> None:
    hub = Hub(mode="distributed", web=WebConfig(state_hz=4.0, chart_seconds=10))
    assert hub.chart.maxlen == 41
