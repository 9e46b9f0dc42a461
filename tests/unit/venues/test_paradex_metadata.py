"""Paradex listing: ``GET /v1/markets`` + ``/v1/markets/summary`` on every real sample, statuses, bad bodies."""

from __future__ import annotations

import json

import pytest

from arbsniper.venues import paradex
from arbsniper.venues.metadata import DELISTED, HALTED, PRELAUNCH, TRADING, InstrumentMeta, MetadataError, RestRequest
from arbsniper.venues.paradex import Paradex
from tests.conftest import FIXTURES

NOW_MS = 1_790_000_000_000  # 2026-09-21


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paradex, "_now_ms", lambda: NOW_MS)


def body(name: str) -> bytes:
    return (FIXTURES / "paradex" / f"{name}.json").read_bytes()


def market(**fields: object) -> dict[str, object]:
    row: dict[str, object] = {"symbol": "BTC-USD-PERP", "base_currency": "BTC", "quote_currency": "USD", "settlement_currency": "USDC",
                              "order_size_increment": "0.00001", "price_tick_size": "0.1", "min_notional": "10", "open_at": 1,
                              "expiry_at": 0, "asset_kind": "PERP", "market_kind": "cross", "funding_period_hours": 8}
    row.update(fields)
    return row


def markets(*rows: dict[str, object]) -> bytes:
    return json.dumps({"results": list(rows)}).encode()


def parse(markets_body: bytes, summary_body: bytes | None = None) -> list[InstrumentMeta]:
    bodies = {"markets": [markets_body]}
    if summary_body is not None:
        bodies["summary"] = [summary_body]
    return Paradex.parse_metadata("perp", bodies)


def test_requests_are_the_markets_listing_and_the_summary_of_all_markets() -> None:
    assert Paradex.default_rest_base("perp") == "https://api.prod.paradex.trade"
    assert Paradex.metadata_requests("perp", "https://api.prod.paradex.trade/") == [
        RestRequest("GET", "https://api.prod.paradex.trade/v1/markets", name="markets"),
        RestRequest("GET", "https://api.prod.paradex.trade/v1/markets/summary?market=ALL", name="summary"),
    ]


def test_ccxt_sample_2024_schema_boden_without_a_funding_period_takes_the_8h_default() -> None:
    [m] = parse(body("rest_markets_ccxt_comment"))
    # order_size_increment "1", price_tick_size "0.00001", min_notional "200"; open_at 2024-05-30 (past), expiry_at 0
    assert m == InstrumentMeta(venue="paradex", market="perp", native_symbol="BODEN-USD-PERP", instrument="BODEN/USD:USDC",
                               status=TRADING, venue_status="open", contract_size=1.0, lot_size=1.0, tick_size=0.00001,
                               min_size=1.0, min_notional=200.0, funding_interval_hours=8.0)


def test_docs_sample_eth_perp_reads_increment_tick_notional_and_funding_period() -> None:
    [m] = parse(body("rest_markets_docs"))
    # order_size_increment "0.001", price_tick_size "0.01", min_notional "3", funding_period_hours 8, trading_mode STANDARD
    assert (m.native_symbol, m.instrument, m.status, m.venue_status) == ("ETH-USD-PERP", "ETH/USD:USDC", TRADING, "STANDARD")
    assert (m.lot_size, m.tick_size, m.min_size, m.min_notional, m.funding_interval_hours) == (0.001, 0.01, 0.001, 3.0, 8.0)
    assert (m.contract_size, m.quote_volume_24h, m.last_price) == (1.0, 0.0, 0.0)  # no summary given


@pytest.mark.parametrize(("sample", "volume", "last"), [
    ("rest_markets_summary_ccxt_comment", 5815541.397939004, 68495.1),  # volume_24h (USD), last_traded_price
    ("rest_markets_summary_docs", 47041.0424, 30109.53),
])
def test_summary_samples_give_the_24h_usd_volume_and_the_last_traded_price(sample: str, volume: float, last: float) -> None:
    [m] = parse(markets(market()), body(sample))
    assert (m.instrument, m.quote_volume_24h, m.last_price) == ("BTC/USD:USDC", volume, last)


def test_summary_without_a_last_trade_falls_back_to_the_mark_price() -> None:
    summary = json.dumps({"results": [{"symbol": "BTC-USD-PERP", "mark_price": "97000.5", "volume_24h": "12"}]}).encode()
    [m] = parse(markets(market()), summary)
    assert (m.last_price, m.quote_volume_24h) == (97000.5, 12.0)


def test_statuses_from_open_at_expiry_at_and_trading_mode() -> None:
    rows = [
        market(symbol="A-USD-PERP", open_at=NOW_MS + 1),
        market(symbol="B-USD-PERP", expiry_at=NOW_MS - 1),
        market(symbol="C-USD-PERP", trading_mode="CANCEL_ONLY"),
        market(symbol="D-USD-PERP", trading_mode="POST_ONLY"),
        market(symbol="E-USD-PERP", expiry_at=NOW_MS + 86_400_000),  # expiring tomorrow: still trading today
        market(symbol="kBONK-USD-PERP", funding_period_hours=1),
    ]
    got = {m.native_symbol: (m.instrument, m.status, m.venue_status) for m in parse(markets(*rows))}
    assert got == {
        "A-USD-PERP": ("A/USD:USDC", PRELAUNCH, "not open"),
        "B-USD-PERP": ("B/USD:USDC", DELISTED, "expired"),
        "C-USD-PERP": ("C/USD:USDC", HALTED, "CANCEL_ONLY"),
        "D-USD-PERP": ("D/USD:USDC", HALTED, "POST_ONLY"),
        "E-USD-PERP": ("E/USD:USDC", TRADING, "open"),
        "kBONK-USD-PERP": ("1000BONK/USD:USDC", TRADING, "open"),
    }
    bonk = next(m for m in parse(markets(*rows)) if m.native_symbol == "kBONK-USD-PERP")
    assert (bonk.venue_base, bonk.funding_interval_hours) == ("kBONK", 1.0)


def test_options_perp_options_and_unmappable_symbols_are_left_out() -> None:
    rows = [market(symbol="BTC-USD-100000-C", asset_kind="OPTION"), market(symbol="BTC-USD-PERP-100000-C", asset_kind="PERP_OPTION"),
            market(symbol="ETH-USD", asset_kind="SPOT"), market(symbol="bad.coin-USD-PERP"), market(symbol="SOL-USD-PERP")]
    assert [m.native_symbol for m in parse(markets(*rows))] == ["SOL-USD-PERP"]


@pytest.mark.parametrize(("bodies", "message"), [
    ({}, "no /v1/markets response"),
    ({"markets": [b"<html>502</html>"]}, "/v1/markets is not a list of markets"),
    ({"markets": [b'{"results": "none"}']}, "/v1/markets is not a list of markets"),
    ({"markets": [b'{"error": "rate limited"}']}, "/v1/markets is not a list of markets"),
    ({"markets": [markets(market(order_size_increment="abc"))]}, "/v1/markets is not a list of markets"),
    ({"markets": [markets(market(price_tick_size="-0.1"))]}, "BTC-USD-PERP: price_tick_size -0.1"),
    ({"markets": [markets(market(funding_period_hours=0))]}, "BTC-USD-PERP: funding_period_hours 0"),
    ({"markets": [markets(market())], "summary": [b"[1, 2]"]}, "/v1/markets/summary is not a list of market summaries"),
])
def test_malformed_bodies_are_metadata_errors_saying_what_is_wrong(bodies: dict[str, list[bytes]], message: str) -> None:
    with pytest.raises(MetadataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Paradex.parse_metadata("perp", bodies)


def test_subscription_limits_are_three_channels_per_market_one_per_request() -> None:
    limits = Paradex.subscription_limits
    assert (limits.streams_per_instrument, limits.max_args_per_request, limits.instruments_per_connection()) == (3, 1, 50)
    assert Paradex.max_instruments_per_connection == 50 and Paradex.max_messages_per_s == limits.max_requests_per_s
