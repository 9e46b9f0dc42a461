"""Every rule of SPEC §5, with numbers worked out by hand."""

from __future__ import annotations

import random

import pytest

from arbsniper.engine.lifecycle import MAX_VENUES, opportunity_key
from arbsniper.engine.verdicts import NOTHING, Metrics, Verdict
from arbsniper.model import DOWN, RESYNCING, UP
from tests.unit.enginekit import Harness

approx = pytest.approx


# -- spread, fees, constant slippage, size, profit, confidence --------------------------------

def test_open_when_spread_beats_fees_and_slippage_gives_hand_computed_numbers() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, ask_size=0.5)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410, bid_size=0.3)
    s = h.last
    assert (s.event, s.action, s.symbol) == ("open", "BUY_BINANCE_SELL_OKX", "BTC/USDT")
    # spread = (100400 - 100000) / 100000 * 1e4 = 40 bps; fees 10 + 10; no depth -> slippage 3
    assert s.spread_bps == approx(40.0)
    assert s.spread_pct == 0.4
    assert s.fees_bps == approx(20.0)
    assert s.slippage_bps == approx(3.0)
    assert s.funding_bps == 0.0
    assert s.net_bps == approx(17.0)
    # size = min(ask size 0.5, bid size 0.3, max_notional 10000 / 100000 = 0.1)
    assert s.size == approx(0.1)
    # profit = 17 bps of 0.1 * 100000
    assert s.profit_quote == approx(17.0)
    assert s.profit_estimate == approx(400.0)
    assert (s.buy_price, s.sell_price) == (100_000, 100_400)
    # confidence = 20 + 50 * 40/50 + 0
    assert s.confidence == approx(60.0)
    assert s.quote_currency == "USDT" and s.conversion_rate == 1.0


def test_no_signal_when_spread_is_below_fees() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_200, ask=100_210)  # 20 bps < 20 fees + 3 slippage
    assert h.signals == []
    assert h.engine.detector.rejected["unprofitable"] == 1


def test_no_signal_when_spread_is_below_min_spread_even_if_fees_are_zero() -> None:
    h = Harness(venues={"binance": {"taker_fee_bps_spot": 0.0}, "okx": {"taker_fee_bps_spot": 0.0}},
                detector={"slippage_bps": 0.0})
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_090, ask=100_100)  # 9 bps < min_spread_bps 10
    assert h.signals == []
    h.quote("okx", "BTC/USDT", bid=100_100, ask=100_110)  # exactly 10 bps
    assert h.last.event == "open" and h.last.net_bps == approx(10.0)


def test_both_directions_are_checked() -> None:
    h = Harness()
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)  # the update is on the buy venue
    assert h.last.action == "BUY_BINANCE_SELL_OKX"
    h2 = Harness()
    h2.quote("binance", "BTC/USDT", bid=100_400, ask=100_410)
    h2.quote("okx", "BTC/USDT", bid=99_990, ask=100_000)
    assert h2.last.action == "BUY_OKX_SELL_BINANCE"


def test_fees_come_from_venue_config() -> None:
    h = Harness(venues={"okx": {"taker_fee_bps_spot": 2.5}})
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.last.fees_bps == approx(12.5)
    assert h.last.net_bps == approx(40 - 12.5 - 3)


def test_min_net_threshold_refuses_thin_edges() -> None:
    h = Harness(detector={"min_net_bps": 18.0})
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)  # net 17 < 18
    assert h.signals == []


def test_min_confidence_threshold_refuses_low_confidence() -> None:
    h = Harness(detector={"min_confidence": 61.0})
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)  # confidence 60
    assert h.signals == []
    assert h.engine.detector.rejected["low_confidence"] == 1


def test_confidence_saturates_at_fifty_bps_spread() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_800, ask=100_810)  # 80 bps -> 20 + 50
    assert h.last.confidence == approx(70.0)


# -- slippage and size from depth -----------------------------------------------------------------

def test_slippage_and_size_from_depth_walk_the_books_at_the_marginal_edge() -> None:
    h = Harness(detector={"max_notional": 1_000_000.0})
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, ask_size=0.05)
    h.book("binance", "BTC/USDT", bids=[(99_990, 1.0)], asks=[(100_000, 0.05), (100_010, 0.05), (100_100, 1.0)])
    h.book("okx", "BTC/USDT", bids=[(100_400, 0.03), (100_300, 0.1), (100_000, 1.0)], asks=[(100_410, 1.0)])
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410, bid_size=0.03)
    s = h.last
    # Marginal edge must cover 20 bps of fees: take 0.03 @100000/100400, 0.02 @100000/100300,
    # 0.05 @100010/100300; the next pair 100100/100300 is 19.98 bps < 20: stop.
    assert s.size == approx(0.1)
    # VWAP buy 10000.5 / 0.1 = 100005 (0.5 bps over 100000); VWAP sell 10033 / 0.1 = 100330
    # (70/100400 = 6.9721 bps under 100400)
    assert s.slippage_bps == approx(0.5 + 70 / 100_400 * 1e4)
    assert s.net_bps == approx(40 - 20 - (0.5 + 70 / 100_400 * 1e4))
    assert s.profit_quote == approx(s.net_bps / 1e4 * 0.1 * 100_005)


def test_depth_walk_stops_at_max_notional() -> None:
    h = Harness(detector={"max_notional": 4_000.0})
    h.book("binance", "BTC/USDT", bids=[(99_990, 1.0)], asks=[(100_000, 0.05), (100_010, 0.05)])
    h.book("okx", "BTC/USDT", bids=[(100_400, 1.0)], asks=[(100_410, 1.0)])
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.last.size == approx(0.04)  # 4000 / 100000
    assert h.last.slippage_bps == approx(0.0)


def test_size_capped_by_top_of_book_without_depth() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, ask_size=0.02)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410, bid_size=0.5)
    assert h.last.size == approx(0.02)


def test_size_rounds_down_to_lot_and_respects_min_notional() -> None:
    h = Harness(venues={"okx": {"limits": {"BTC/USDT": {"lot_size": 0.03}}}})
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.last.size == approx(0.09)  # floor(0.1 / 0.03) * 0.03
    h2 = Harness(venues={"binance": {"limits": {"BTC/USDT": {"min_notional": 20_000.0}}}})
    h2.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h2.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)  # 0.1 BTC = 10000 < 20000
    assert h2.signals == []
    assert h2.engine.detector.rejected["too_small"] == 1


# -- funding -------------------------------------------------------------------------------------

PERP = "BTC/USDT:USDT"


def test_funding_adds_expected_carry_over_the_holding_period() -> None:
    h = Harness(venue_names=("binance", "bybit"), instrument_names=(PERP,))
    h.funding("binance", PERP, 0.0001, 8.0)  # long pays 0.01 % / 8 h
    h.funding("bybit", PERP, 0.0004, 8.0)  # short receives 0.04 % / 8 h
    h.quote("binance", PERP, bid=99_990, ask=100_000)
    h.quote("bybit", PERP, bid=100_200, ask=100_210)
    s = h.last
    # delta = 0.0003 per 8 h = 0.0000375 / h; over 8 h = 3 bps
    assert s.funding_bps == approx(3.0)
    assert s.funding_delta == approx(0.0003)
    # perp fees: binance 5 + bybit 5.5
    assert s.fees_bps == approx(10.5)
    assert s.net_bps == approx(20 - 10.5 - 3 + 3)
    # confidence = 20 + 50 * 20/50 + 30 * 0.0003/0.01
    assert s.confidence == approx(20 + 20 + 0.9)


def test_funding_is_normalised_per_hour_before_comparing_venues() -> None:
    h = Harness(venue_names=("binance", "hyperliquid"), instrument_names=(PERP,))
    h.funding("binance", PERP, 0.0001, 8.0)  # 0.0000125 / h
    h.funding("hyperliquid", PERP, 0.00005, 1.0)  # 0.00005 / h (= 0.0004 per 8 h)
    h.quote("binance", PERP, bid=99_990, ask=100_000)
    h.quote("hyperliquid", PERP, bid=100_200, ask=100_210)
    assert h.last.funding_bps == approx(3.0)
    assert h.last.fees_bps == approx(5 + 4.5)


def test_negative_funding_can_make_a_spread_unprofitable() -> None:
    h = Harness(venue_names=("binance", "bybit"), instrument_names=(PERP,))
    h.funding("binance", PERP, 0.0010, 8.0)
    h.funding("bybit", PERP, -0.0010, 8.0)  # -0.002 per 8 h = -20 bps over 8 h
    h.quote("binance", PERP, bid=99_990, ask=100_000)
    h.quote("bybit", PERP, bid=100_300, ask=100_310)  # 30 - 10.5 - 3 - 20 < 0
    assert h.signals == []


def test_min_funding_delta_threshold_applies_to_perp_pairs() -> None:
    h = Harness(venue_names=("binance", "bybit"), instrument_names=(PERP,), detector={"min_funding_delta": 0.0005})
    h.funding("binance", PERP, 0.0001, 8.0)
    h.funding("bybit", PERP, 0.0004, 8.0)  # delta 0.0003 < 0.0005
    h.quote("binance", PERP, bid=99_990, ask=100_000)
    h.quote("bybit", PERP, bid=100_200, ask=100_210)
    assert h.signals == []
    assert h.engine.detector.rejected["funding_below_min"] == 1


# -- never cry wolf -------------------------------------------------------------------------------

def test_no_signal_on_a_stale_quote() -> None:
    h = Harness()
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.advance_ms(5_001)  # max_quote_age_ms is 5000
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    assert h.signals == []
    assert h.engine.detector.rejected["stale_quote"] == 1


def test_per_venue_max_quote_age_override() -> None:
    h = Harness(venues={"okx": {"max_quote_age_ms": 1000}})
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.advance_ms(1_500)
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    assert h.signals == []


def test_stale_quote_closes_an_open_opportunity_without_any_update() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.last.event == "open"
    h.advance_ms(4_000)
    h.engine.expire(h.now)
    assert h.last.event == "open"  # still fresh
    h.advance_ms(1_001)
    h.engine.expire(h.now)
    s = h.last
    assert (s.event, s.close_reason, s.duration_ms) == ("close", "stale_quote", 5_001)


def test_crossed_quote_is_rejected_and_closes_what_relied_on_the_venue() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.quote("okx", "BTC/USDT", bid=100_500, ask=100_400)  # bid >= ask
    assert h.engine.state.crossed == 1
    assert (h.last.event, h.last.close_reason) == ("close", "no_quote")
    h.quote("binance", "BTC/USDT", bid=99_991, ask=100_001)  # nothing to compare with now
    assert len(h.events("open")) == 1


def test_crossed_quote_alone_never_signals() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_500, ask=100_400)
    assert h.signals == [] and h.engine.state.crossed == 1


def test_non_positive_prices_are_refused_and_counted() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=0.0, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=-1.0, ask=100_410)
    assert h.engine.state.invalid == 2 and h.signals == []


def test_venue_down_closes_and_blocks_until_up_again() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.advance_ms(250)
    h.status("okx", DOWN, "connection lost")
    assert (h.last.close_reason, h.last.duration_ms) == ("venue_down", 250)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)  # while down: ignored
    assert h.engine.state.ignored_down == 1
    h.status("okx", UP)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.last.event == "open"


def test_book_resync_closes_and_blocks_that_instrument() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.status("okx", RESYNCING, "sequence gap", instrument="BTC/USDT")
    assert h.last.close_reason == "book_resync"
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert len(h.events("open")) == 1  # no signal on a book known to be wrong
    h.status("okx", UP, "resynced", instrument="BTC/USDT")
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert len(h.events("open")) == 2


def test_suspect_spread_is_counted_never_signalled() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=106_000, ask=106_010)  # 600 bps > 500
    assert h.signals == []
    assert h.engine.detector.suspect == 1


def test_denied_instrument_is_never_signalled() -> None:
    h = Harness(detector={"deny": ["BTC/USDT"]})
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.signals == []


def test_out_of_order_quotes_are_ignored_and_counted() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, exch=2_000, seq=10)
    h.quote("binance", "BTC/USDT", bid=90_000, ask=90_010, exch=1_000, seq=11)  # older exchange time
    h.quote("binance", "BTC/USDT", bid=90_000, ask=90_010, exch=3_000, seq=9)  # older sequence
    st = h.engine.state
    assert st.out_of_order == 2
    v, i = h.v["binance"], h.i["BTC/USDT"]
    assert (st.bid[i][v], st.ask[i][v]) == (99_990, 100_000)


# -- quote currencies ------------------------------------------------------------------------

def _usd_usdt(**config: object) -> Harness:
    return Harness(venue_names=("binance", "coinbase"), instrument_names=("BTC/USDT", "BTC/USD"),
                   **{"venues": {"coinbase": {"taker_fee_bps_spot": 10.0}}, **config})  # type: ignore[arg-type]


def test_usd_and_usdt_never_compared_without_a_conversion_rate() -> None:
    h = _usd_usdt()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("coinbase", "BTC/USD", bid=100_400, ask=100_410)
    assert h.signals == []


def test_usd_and_usdt_compared_through_the_live_rate() -> None:
    h = _usd_usdt()
    h.quote("coinbase", "USDT/USD", bid=0.9990, ask=0.9992)  # USDT = 0.9991 USD
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("coinbase", "BTC/USD", bid=100_400, ask=100_410)
    s = h.last
    assert (s.event, s.buy_instrument, s.sell_instrument) == ("open", "BTC/USDT", "BTC/USD")
    # 100400 USD = 100400 / 0.9991 USDT = 100490.44 USDT: 49.04 bps, not the naive 40
    assert s.conversion_rate == approx(1 / 0.9991)
    assert s.spread_bps == approx((100_400 / 0.9991 - 100_000) / 100_000 * 1e4)
    assert s.net_bps == approx(s.spread_bps - 20 - 3)
    assert s.quote_currency == "USDT"


def test_depegged_rate_stops_cross_currency_signals_and_closes_them() -> None:
    h = _usd_usdt()
    h.quote("coinbase", "USDT/USD", bid=0.9990, ask=0.9992)
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("coinbase", "BTC/USD", bid=100_400, ask=100_410)
    assert h.last.event == "open"
    h.quote("coinbase", "USDT/USD", bid=0.9790, ask=0.9810)  # 200 bps off: beyond max_depeg_bps 100
    h.quote("coinbase", "BTC/USD", bid=100_401, ask=100_411)
    assert (h.last.event, h.last.close_reason) == ("close", "rate_unavailable")


def test_stale_rate_stops_cross_currency_signals() -> None:
    h = _usd_usdt(conversion={"max_rate_age_ms": 1000})
    h.quote("coinbase", "USDT/USD", bid=0.9990, ask=0.9992)
    h.advance_ms(1_500)
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("coinbase", "BTC/USD", bid=100_400, ask=100_410)
    assert h.signals == []


def test_chained_rate_prices_usdc_through_usdt() -> None:
    perp_usdt, perp_usdc = "BTC/USDT:USDT", "BTC/USDC:USDC"
    h = Harness(venue_names=("binance", "hyperliquid", "coinbase"), instrument_names=(perp_usdt, perp_usdc, "USDC/USDT"))
    h.quote("coinbase", "USDT/USD", bid=0.9995, ask=0.9997)  # USDT = 0.9996 USD
    h.quote("binance", "USDC/USDT", bid=1.0001, ask=1.0003)  # USDC = 1.0002 USDT = 0.99979992 USD
    h.quote("binance", perp_usdt, bid=99_990, ask=100_000)
    h.quote("hyperliquid", perp_usdc, bid=100_300, ask=100_310)
    s = h.last
    assert s.conversion_rate == approx(1.0002)  # USDC -> USDT
    assert s.spread_bps == approx((100_300 * 1.0002 - 100_000) / 100_000 * 1e4)


# -- lifecycle -------------------------------------------------------------------------------------

def test_update_only_when_numbers_move_materially() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.quote("okx", "BTC/USDT", bid=100_410, ask=100_420)  # +1 bps < update_min_bps 2
    assert [s.event for s in h.signals] == ["open"]
    h.quote("okx", "BTC/USDT", bid=100_450, ask=100_460)  # +5 bps
    assert [s.event for s in h.signals] == ["open", "update"]
    assert h.last.net_bps == approx(22.0)
    assert h.signals[0].id == h.last.id


def test_close_spread_gone_carries_duration_and_the_numbers_it_closed_at() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.advance_ms(1_234)
    h.quote("okx", "BTC/USDT", bid=100_010, ask=100_020)
    s = h.last
    assert (s.event, s.close_reason, s.duration_ms) == ("close", "spread_gone", 1_234)
    # the numbers at the close (1 bps of spread, net of fees and slippage), not the last announced 17 bps
    assert s.spread_bps == approx(1.0) and s.buy_price == 100_000 and s.sell_price == 100_010
    assert s.net_bps == approx(s.spread_bps - s.fees_bps - s.slippage_bps + s.funding_bps) == approx(-22.0)


def test_close_unprofitable_when_spread_stays_but_edge_goes() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.quote("okx", "BTC/USDT", bid=100_150, ask=100_160)  # 15 bps: above min spread, below costs
    assert h.last.close_reason == "unprofitable"
    # it says the net it closed at, which is what made it unprofitable
    assert h.last.spread_bps == approx(15.0) and h.last.net_bps < 0.0


def test_shutdown_closes_everything_open() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.engine.close_all(h.now)
    assert h.last.close_reason == "shutdown" and not h.engine.lifecycle.open


def test_reopen_after_close_gets_a_new_id() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    first = h.last.id
    h.quote("okx", "BTC/USDT", bid=100_000, ask=100_010)
    h.advance_ms(10)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.last.event == "open" and h.last.id != first


def test_comparison_is_against_every_venue_holding_the_instrument() -> None:
    h = Harness(venue_names=("binance", "okx", "bybit", "bitget"))
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.quote("bybit", "BTC/USDT", bid=100_350, ask=100_360)
    h.quote("bitget", "BTC/USDT", bid=100_010, ask=100_020)
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    # binance ask 100000 and bitget ask 100020 both sit far enough under okx's and bybit's bids
    # (40, 35, 38 and 33 bps, all net of 23 bps of costs); bitget's bid is only 1 bps over.
    assert sorted(s.action for s in h.events("open")) == [
        "BUY_BINANCE_SELL_BYBIT", "BUY_BINANCE_SELL_OKX", "BUY_BITGET_SELL_BYBIT", "BUY_BITGET_SELL_OKX"]


def test_sequence_numbers_may_restart_after_the_venue_went_down() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, seq=500)
    h.status("binance", DOWN, "reconnecting")
    h.status("binance", UP, "reconnected")
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, seq=1)  # per-connection numbering restarts
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.engine.state.out_of_order == 0
    assert h.last.event == "open"


# -- the seam: the detector judges, the lifecycle acts ------------------------------------------

def test_scan_returns_the_shared_empty_tuple_when_nothing_qualifies() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    assert h.scan("okx", "BTC/USDT", bid=100_010, ask=100_020) is NOTHING  # 1 bps apart
    assert h.scan("okx", "BTC/USDT", bid=100_200, ask=100_210) is NOTHING  # a candidate, unprofitable
    assert h.engine.detector.rejected["unprofitable"] == 1


def test_scan_verdict_names_the_pair_and_carries_hand_computed_metrics_without_emitting() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000, ask_size=0.5)
    (verdict,) = h.scan("okx", "BTC/USDT", bid=100_400, ask=100_410, bid_size=0.3)
    b, o, btc = h.v["binance"], h.v["okx"], h.i["BTC/USDT"]
    assert (verdict.key, verdict.buy_instrument, verdict.buy_venue, verdict.sell_instrument, verdict.sell_venue,
            verdict.reason) == (opportunity_key(btc, b, btc, o), btc, b, btc, o, "")
    m = verdict.metrics
    assert isinstance(m, Metrics)
    assert m.spread_bps == approx(40.0)  # (100400 - 100000) / 100000 * 1e4
    assert (m.fees_bps, m.slippage_bps, m.funding_bps, m.funding_delta) == (20.0, 3.0, 0.0, 0.0)
    assert m.net_bps == approx(17.0)  # 40 - 20 fees - 3 slippage
    assert m.size == approx(0.1)  # min(0.5, 0.3, 10000 / 100000)
    assert m.profit_quote == approx(17.0)  # 17 bps of 0.1 * 100000
    assert m.confidence == approx(60.0)  # 20 + 50 * 40/50
    assert (m.buy_price, m.sell_price, m.conversion_rate) == (100_000, 100_400, 1.0)
    assert h.signals == [] and not h.engine.lifecycle.open  # judged, not acted on


def test_scan_reports_an_open_pair_that_stopped_qualifying_with_its_reason_and_leaves_it_open() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    (key,) = h.engine.lifecycle.open
    verdicts = h.scan("okx", "BTC/USDT", bid=100_010, ask=100_020)  # 1 bps: no candidate any more
    b, o, btc = h.v["binance"], h.v["okx"], h.i["BTC/USDT"]
    assert verdicts == (Verdict(key, btc, b, btc, o, None, "spread_gone"),)
    assert [s.event for s in h.signals] == ["open"] and key in h.engine.lifecycle.open


def test_lifecycle_applies_verdicts_with_the_stamps_it_is_given() -> None:
    h = Harness()
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    verdicts = h.scan("okx", "BTC/USDT", bid=100_400, ask=100_410)
    h.engine.lifecycle.apply(verdicts, 1_234_567_000_000, h.now)
    assert (h.last.event, h.last.detected_at) == ("open", 1_234_567)  # the exchange time, in ms
    h.advance_ms(40)
    gone = h.scan("okx", "BTC/USDT", bid=100_010, ask=100_020)
    h.engine.lifecycle.apply(gone, 0, h.now)
    assert (h.last.event, h.last.close_reason, h.last.duration_ms) == ("close", "spread_gone", 40)


def test_opportunity_keys_are_distinct_for_every_pair_of_slots() -> None:
    slots = [(i, v) for i in (0, 1, 2, 1 << 19) for v in (0, 1, MAX_VENUES - 1)]
    keys = {opportunity_key(ia, a, ib, b) for ia, a in slots for ib, b in slots}
    assert len(keys) == len(slots) ** 2


def test_more_venues_than_keys_can_hold_is_refused() -> None:
    h = Harness()
    for k in range(MAX_VENUES):
        h.symbols.venue_id(f"venue{k}")
    with pytest.raises(ValueError, match="64 venues"):
        h.engine.grow()


def test_best_bid_and_ask_per_instrument_track_every_write_of_the_state() -> None:
    h = Harness(venue_names=("binance", "okx", "bybit", "bitget"))
    st, btc, rng = h.engine.state, h.i["BTC/USDT"], random.Random(5)
    venues = list(h.v)
    for step in range(2_000):
        venue = rng.choice(venues)
        if step % 97 == 0:
            h.status(venue, DOWN, "gone")  # clears every slot of the venue
            h.status(venue, UP, "back")
        else:
            mid = rng.choice((100.0, 100.0, 101.0, 99.0)) + rng.randrange(3) * 0.01  # ties on purpose
            half = 0.5 if step % 13 else -0.5  # now and then a crossed quote, which clears the slot
            h.quote(venue, "BTC/USDT", bid=mid - half, ask=mid + half)
        assert st.max_bid[btc] == max(st.bid[btc])
        assert st.min_ask[btc] == min(st.ask[btc])
    assert st.crossed > 0
