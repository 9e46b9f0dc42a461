"""The live default (``arbsniper run`` without instruments): what KuCoin, Bitget, Hyperliquid and Paradex list."""

from __future__ import annotations

from arbsniper.config import Config
from arbsniper.instruments import SymbolMap
from arbsniper.venues.connect import build_venues


def test_default_config_builds_every_market_of_the_four_venues_in_their_own_quote_currencies() -> None:
    venues = build_venues(Config(), SymbolMap())
    got = {(v.name, v.market): v.instruments for v in venues if v.name in ("kucoin", "bitget", "hyperliquid", "paradex")}
    spot = ["BTC/USDT", "BTC/USDC", "ETH/USDT", "ETH/USDC", "SOL/USDT", "SOL/USDC", "USDC/USDT"]
    assert got == {
        ("kucoin", "spot"): spot,
        ("kucoin", "perp"): ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"],
        ("bitget", "spot"): spot,
        ("bitget", "perp"): ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"],
        ("hyperliquid", "perp"): ["BTC/USDC:USDC", "ETH/USDC:USDC", "SOL/USDC:USDC"],
        ("paradex", "perp"): ["BTC/USD:USDC", "ETH/USD:USDC", "SOL/USD:USDC"],
    }


def test_default_config_has_all_eight_venues_and_the_usd_usdt_usdc_conversion_markets() -> None:
    venues = build_venues(Config(), SymbolMap())
    assert {v.name for v in venues} == {"binance", "coinbase", "bybit", "okx", "kucoin", "bitget", "hyperliquid", "paradex"}
    listed = {(v.name, i) for v in venues for i in v.instruments}
    conversion = Config().conversion.sources
    for currency, instrument in conversion.items():
        assert any(i == instrument for _, i in listed), f"no live market prices {currency} ({instrument})"
    # USD-quoted (Paradex, Coinbase), USDT-quoted and USDC-quoted markets are all present to convert between.
    quotes = {i.split("/")[1].split(":")[0] for _, i in listed}
    assert {"USD", "USDT", "USDC"} <= quotes
