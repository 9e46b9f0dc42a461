"""Universe selection (``universe.select``): min_venues, ranking by volume, deny, explicit bases and
per-venue instruments, the price-agreement check, conversion markets always in; and the engine
closing what is open on an instrument the venue halted."""

from __future__ import annotations

from typing import Any

from arbsniper.model import HALTED
from arbsniper.universe import select
from arbsniper.venues.metadata import InstrumentMeta
from tests.unit.enginekit import Harness, make_config


def meta(venue: str, instrument: str, volume: float = 1e6, price: float = 100.0, status: str = "trading",
         native: str | None = None) -> InstrumentMeta:
    market = "perp" if ":" in instrument else "spot"
    return InstrumentMeta(venue=venue, market=market, native_symbol=native or f"{venue}:{instrument}", instrument=instrument,
                          status=status, quote_volume_24h=volume, last_price=price)


LISTINGS: dict[tuple[str, str], list[InstrumentMeta]] = {
    ("binance", "spot"): [meta("binance", "BTC/USDT", 9e9, 97_000), meta("binance", "ETH/USDT", 5e9, 3_400),
                          meta("binance", "AAA/USDT", 1e6, 2.0), meta("binance", "USDC/USDT", 4e9, 1.0),
                          meta("binance", "BTC/EUR", 1e9, 90_000)],  # EUR: not priced by the conversion layer
    ("okx", "perp"): [meta("okx", "BTC/USDT:USDT", 8e9, 97_010), meta("okx", "ETH/USDT:USDT", 4e9, 3_401),
                      meta("okx", "BBB/USDT:USDT", 3e9, 10.0), meta("okx", "AAA/USDT:USDT", 1e6, 2.0, status="halted")],
    ("kucoin", "perp"): [meta("kucoin", "BTC/USDT:USDT", 1e9, 97_020, native="XBTUSDTM"), meta("kucoin", "AAA/USDT:USDT", 2e6, 2.001),
                         meta("kucoin", "BBB/USDT:USDT", 3e9, 10.0)],
    ("coinbase", "spot"): [meta("coinbase", "ETH/USD", 2e9, 3_399), meta("coinbase", "BBB/USD", 1e9, 14.0),
                           meta("coinbase", "USDT/USD", 1e9, 1.0)],
}


def names(sel: dict[tuple[str, str], list[InstrumentMeta]]) -> set[tuple[str, str]]:
    return {(v, m.instrument) for (v, _), ms in sel.items() for m in ms}


def universe(**cfg: Any) -> Any:
    return select(make_config(**cfg), LISTINGS)


def test_auto_keeps_bases_trading_on_min_venues_ranked_by_summed_volume_and_the_conversion_markets() -> None:
    u = universe()
    # BTC 18e9 over 3 venues, ETH 11e9 over 3, BBB 6e9 over okx+kucoin (coinbase's BBB disagrees), AAA on binance + kucoin
    # (okx's is halted); EUR is not priced.
    assert u.bases == ["BTC", "ETH", "BBB", "AAA"]
    got = names(u.selection)
    assert ("okx", "AAA/USDT:USDT") not in got and ("binance", "BTC/EUR") not in got
    assert {("binance", "USDC/USDT"), ("coinbase", "USDT/USD")} <= got
    assert ("kucoin", "BTC/USDT:USDT") in got  # matched through the venue's mapping (XBTUSDTM is BTC)


def test_a_listing_whose_price_disagrees_beyond_max_sane_spread_is_reported_and_left_out() -> None:
    u = universe()
    assert ("coinbase", "BBB/USD") not in names(u.selection)  # 14 vs 10: another asset under the same ticker
    assert any("BBB" in line and "coinbase" in line and "max_sane_spread_bps" in line for line in u.excluded)
    # Two venues that disagree: no majority, the base is left out altogether.
    two = {("okx", "perp"): [meta("okx", "CCC/USDT:USDT", 1e9, 1.0)], ("kucoin", "perp"): [meta("kucoin", "CCC/USDT:USDT", 1e9, 1.5)]}
    assert select(make_config(), two).bases == []


def test_min_venues_and_max_instruments() -> None:
    assert universe(min_venues=3).bases == ["BTC", "ETH"]
    u = universe(max_instruments=2)
    assert u.bases == ["BTC", "ETH"] and any("max_instruments=2" in line for line in u.excluded)
    assert not {b for (_, i) in names(u.selection) if (b := i.split("/")[0]) not in ("BTC", "ETH", "USDC", "USDT")}


def test_deny_list_explicit_bases_and_per_venue_instruments() -> None:
    assert ("binance", "ETH/USDT") not in names(universe(detector={"deny": ["ETH/USDT"]}).selection)
    u = universe(universe="bases", bases=["AAA"])
    assert u.bases == ["AAA"]
    assert names(u.selection) == {("binance", "AAA/USDT"), ("kucoin", "AAA/USDT:USDT"), ("binance", "USDC/USDT"), ("coinbase", "USDT/USD")}
    u = universe(venues={"okx": {"instruments": ["ETH/USDT:USDT"]}})
    assert {i for v, i in names(u.selection) if v == "okx"} == {"ETH/USDT:USDT"}


def test_a_halted_instrument_closes_its_open_opportunity_with_instrument_halted_and_stays_out() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.last.event == "open"
    h.status("okx", HALTED, "instrument_halted: halted (suspend)", instrument="BTC/USDT")
    assert (h.last.event, h.last.close_reason) == ("close", "instrument_halted")
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)  # a late frame of the halted instrument
    assert len(h.events("open")) == 1
