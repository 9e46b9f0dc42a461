"""The demo market the simulator lists by default: what a discovered universe is made of.

The real market is hundreds of instruments, each on some venues and not others, with funding
every 8 h, 4 h or 1 h and now and then one halted. So is this one: ``demo_market(n)`` lists
``n`` bases (the 31 named ones first, then synthetic coins ``C032``…) over the eight venues in
each venue's own quote currencies and metadata (each simulator module's ``listing``):

- the first 8 bases on every venue; the others on about two venues in three, spot or perp
  (``(j + k) % 3`` and ``% 5`` on base ``j`` and venue ``k``), so ``min_venues`` matters;
- Coinbase futures only for its nano perps, Hyperliquid spot only for its UBTC/UETH/USOL;
- perpetuals with 4 h and 1 h funding where the venue has several periods (8 h otherwise), 1 h
  on Hyperliquid and Coinbase (their one period);
- ``HALTED_LISTING`` (the OKX ADA swap) halted, ``suspend`` in its listing: the universe must leave it out;
- the conversion markets USDC/USDT (Binance) and USDT/USD (Coinbase).
"""

from __future__ import annotations

import importlib

from arbsniper.sim.synthetic import BASE_PRICES, BASE_SIZES, Listing
from arbsniper.venues import REGISTRY
from arbsniper.venues.metadata import HALTED, TRADING

# Reference prices (USD) of the named demo bases, roughly as in late 2026.
NAMED_PRICES: dict[str, float] = {
    "BTC": 97_000.0, "ETH": 3_400.0, "SOL": 190.0, "XRP": 2.2, "DOGE": 0.32, "LINK": 21.0, "AVAX": 36.0,
    "LTC": 105.0, "ADA": 0.95, "DOT": 7.5, "BNB": 690.0, "TRX": 0.25, "TON": 5.6, "SUI": 4.1, "BCH": 450.0,
    "NEAR": 5.2, "APT": 9.8, "ARB": 0.78, "OP": 2.1, "UNI": 13.5, "AAVE": 330.0, "ATOM": 6.8, "FIL": 5.1,
    "INJ": 24.0, "SEI": 0.45, "TIA": 5.4, "WIF": 2.3, "HYPE": 24.0, "ENA": 1.05, "ONDO": 1.4, "JUP": 0.9,
}
NAMED = tuple(NAMED_PRICES)
EVERYWHERE = 8  # the first bases, listed on every venue
HALTED_LISTING = ("okx", "ADA/USDT:USDT")
COINBASE_PERPS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "LTC", "AVAX", "LINK", "DOT")
HL_SPOT = ("BTC", "ETH", "SOL")  # UBTC, UETH, USOL


def bases(n: int) -> list[str]:
    """The first ``n`` demo bases: the named ones, then synthetic coins."""
    return [*NAMED[:n], *(f"C{k:03d}" for k in range(len(NAMED) + 1, n + 1))]


def _price(base: str, j: int) -> float:
    return NAMED_PRICES.get(base) or round(0.5 + (j * 37 % 200) * 0.73, 2)


def _funding_h(venue: str, j: int, k: int) -> float:
    """Base ``j``'s funding period on venue ``k``: the venue's own where it has one period
    (Hyperliquid, Coinbase: 1 h), else 8 h with some 4 h and 1 h perpetuals, as Binance lists them."""
    period = REGISTRY[venue].funding_interval_h
    if period < 8.0:
        return period
    if j % 7 == k % 7:
        return 1.0
    if j % 4 == k % 4:
        return 4.0
    return 8.0


def _instruments(venue: str, base: str, j: int, k: int) -> list[str]:
    everywhere = j < EVERYWHERE
    if not everywhere and (j + k) % 3 == 0:
        return []
    spot_too = everywhere or (j + k) % 5 != 0
    if venue == "coinbase":
        return [f"{base}/USD", *([f"{base}/USD:USD"] if base in COINBASE_PERPS else [])]
    if venue == "hyperliquid":
        return [*([f"{base}/USDC"] if base in HL_SPOT else []), f"{base}/USDC:USDC"]
    if venue == "paradex":
        return [f"{base}/USD:USDC"]
    return [*([f"{base}/USDT"] if spot_too else []), f"{base}/USDT:USDT"]


def demo_market(n: int = len(NAMED)) -> list[Listing]:
    """Every listing of the demo market with ``n`` bases, in each venue's own metadata."""
    names = bases(n)
    for j, base in enumerate(names):  # the synthetic market and every simulator price them alike
        price = _price(base, j)
        BASE_PRICES.setdefault(base, price)
        BASE_SIZES.setdefault(base, round(60_000.0 / price, 6))
    out: list[Listing] = []
    for k, venue in enumerate(REGISTRY):
        make = importlib.import_module(f"arbsniper.sim.{venue}").listing
        for j, base in enumerate(names):
            for inst in _instruments(venue, base, j, k):
                status = HALTED if (venue, inst) == HALTED_LISTING else TRADING
                out.append(make(inst, BASE_PRICES[base], _funding_h(venue, j, k) if ":" in inst else 8.0, status))
        if venue == "binance":
            out.append(make("USDC/USDT", 1.0, 8.0, TRADING))
        if venue == "coinbase":
            out.append(make("USDT/USD", 1.0, 8.0, TRADING))
    return out


__all__ = ["HALTED_LISTING", "NAMED", "bases", "demo_market"]
