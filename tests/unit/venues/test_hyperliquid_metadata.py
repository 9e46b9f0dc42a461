"""Hyperliquid listings: ``POST /info`` perp and spot metadata on every real sample (contexts by
position for perps, by pair name for spot; UBTC/UETH/USOL are BTC/ETH/SOL), the tick rule, the
spot market keyed by ``@<index>`` names, bad bodies."""

from __future__ import annotations

import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Quote
from arbsniper.venues.base import FrameError
from arbsniper.venues.hyperliquid import Hyperliquid, HyperliquidSpot, hl_tick, spot_instrument
from arbsniper.venues.metadata import DELISTED, TRADING, InstrumentMeta, MetadataError, RestRequest
from tests.conftest import FIXTURES
from tests.unit.venues.samples import sample_lines

RECV = 1_700_000_000_000_000_000


def body(name: str) -> bytes:
    return (FIXTURES / "hyperliquid" / f"{name}.json").read_bytes()


def perp(name: str, sample: str) -> list[InstrumentMeta]:
    return Hyperliquid.parse_metadata("perp", {name: [body(sample)]})


def spot(name: str, sample: str) -> list[InstrumentMeta]:
    return HyperliquidSpot.parse_metadata("spot", {name: [body(sample)]})


def test_requests_post_info_with_the_type_in_the_body() -> None:
    assert Hyperliquid.default_rest_base("perp") == HyperliquidSpot.default_rest_base("spot") == "https://api.hyperliquid.xyz"
    assert Hyperliquid.metadata_requests("perp", "https://api.hyperliquid.xyz") == [
        RestRequest("POST", "https://api.hyperliquid.xyz/info", name="metaAndAssetCtxs", body='{"type":"metaAndAssetCtxs"}')]
    assert HyperliquidSpot.metadata_requests("spot", "https://api.hyperliquid.xyz/") == [
        RestRequest("POST", "https://api.hyperliquid.xyz/info", name="spotMetaAndAssetCtxs", body='{"type":"spotMetaAndAssetCtxs"}')]


@pytest.mark.parametrize(("price", "szd", "max_decimals", "tick"), [
    (107_575.0, 5, 6, 1.0),  # 5 significant figures would be 10, but an integer price is always allowed
    (3_400.5, 4, 6, 0.1),  # 5 significant figures: 3400.5
    (190.25, 2, 6, 0.01),  # 5 sig figs: 190.25; 6 - 2 = 4 decimals allowed
    (14.314, 5, 6, 0.1),  # 5 sig figs would be 0.001, but only 6 - 5 = 1 decimal
    (0.19957, 0, 6, 1e-05),  # 5 sig figs: 0.19957
    (0.00006603, 0, 8, 1e-08),  # spot: 5 sig figs would be 1e-9, 8 - 0 = 8 decimals
    (0.0, 3, 6, 0.0),  # no price known: no tick
])
def test_tick_is_the_step_of_five_significant_figures_within_the_decimal_limit(price: float, szd: int, max_decimals: int,
                                                                               tick: float) -> None:
    assert hl_tick(price, szd, max_decimals) == tick


# --- perps --------------------------------------------------------------------------------------------


def test_real_2023_meta_lists_28_perps_with_lots_from_sz_decimals_and_no_tick_without_prices() -> None:
    metas = perp("meta", "rest_meta")
    assert len(metas) == 28
    by = {m.native_symbol: m for m in metas}
    assert by["BTC"] == InstrumentMeta(venue="hyperliquid", market="perp", native_symbol="BTC", instrument="BTC/USDC:USDC",
                                       status=TRADING, venue_status="listed", contract_size=1.0, lot_size=1e-05, tick_size=0.0,
                                       min_size=1e-05, min_notional=10.0, funding_interval_hours=1.0)
    assert (by["ETH"].lot_size, by["SOL"].lot_size, by["DOGE"].lot_size, by["MATIC"].lot_size) == (1e-04, 1e-02, 1.0, 0.1)
    assert (by["kPEPE"].instrument, by["kPEPE"].venue_base, by["kPEPE"].lot_size) == ("1000PEPE/USDC:USDC", "kPEPE", 1.0)


def test_docs_meta_marks_the_delisted_asset_delisted() -> None:
    by = {m.native_symbol: m for m in perp("meta", "rest_meta_docs")}
    assert list(by) == ["BTC", "ETH", "HPOS", "LOOM"]
    assert (by["LOOM"].status, by["LOOM"].venue_status) == (DELISTED, "delisted")
    assert (by["HPOS"].status, by["HPOS"].lot_size) == (TRADING, 1.0)  # onlyIsolated still trades


def test_docs_meta_and_asset_ctxs_match_contexts_by_position() -> None:
    btc, eth, hpos = perp("metaAndAssetCtxs", "rest_metaAndAssetCtxs_docs")
    # placeholders of the docs: BTC's context is {markPx 14.3161, midPx 14.314, dayNtlVlm 1169046.29406}
    assert (btc.instrument, btc.last_price, btc.quote_volume_24h, btc.tick_size) == ("BTC/USDC:USDC", 14.314, 1169046.29406, 0.1)
    assert (eth.last_price, eth.quote_volume_24h, eth.tick_size) == (6.0431, 1426126.295175, 0.01)  # 6 - 4 = 2 decimals
    assert (hpos.last_price, hpos.quote_volume_24h, hpos.tick_size) == (8.4557, 809774.565507, 0.0001)  # 5 sig figs


# --- spot ----------------------------------------------------------------------------------------------


def test_real_spot_capture_maps_pairs_by_index_name_wrapped_tokens_to_their_assets_and_contexts_by_name() -> None:
    metas = spot("spotMetaAndAssetCtxs", "rest_spotMetaAndAssetCtxs")
    got = {m.native_symbol: (m.instrument, m.venue_base, m.lot_size, m.tick_size, m.last_price) for m in metas}
    assert got == {
        "PURR/USDC": ("PURR/USDC", "", 1.0, 1e-05, 0.11311),
        "@1": ("HFUN/USDC", "", 0.01, 0.001, 26.17),
        "@2": ("LICK/USDC", "", 1.0, 1e-08, 0.00006603),  # 8 - 0 decimals on spot
        "@107": ("HYPE/USDC", "", 0.01, 0.001, 41.3315),
        "@142": ("BTC/USDC", "UBTC", 1e-05, 1.0, 103921.5),
        "@151": ("ETH/USDC", "UETH", 1e-04, 0.1, 3528.85),
        "@156": ("SOL/USDC", "USOL", 1e-03, 0.01, 162.725),
        "@166": ("USDT0/USDC", "", 0.01, 1e-05, 0.999865),
        "@207": ("HYPE/USDT0", "", 0.01, 0.001, 41.316),
        "@230": ("USDH/USDC", "", 0.01, 1e-05, 0.99994),
        "@234": ("BTC/USDH", "UBTC", 1e-05, 1.0, 103874.0),
    }
    btc = next(m for m in metas if m.native_symbol == "@142")
    # @142 is universe[4] but the 7th context (contexts for @71 and @98 have no pair): matched by name.
    assert (btc.quote_volume_24h, btc.status, btc.market, btc.min_notional, btc.funding_interval_hours) == \
        (56516360.5443699583, TRADING, "spot", 10.0, 0.0)


def test_docs_spot_meta_without_contexts_has_no_tick_and_no_volume() -> None:
    purr, hfun = spot("spotMeta", "rest_spotMeta_docs")
    assert (purr.native_symbol, purr.instrument, purr.lot_size, purr.tick_size, purr.quote_volume_24h) == ("PURR/USDC", "PURR/USDC", 1.0, 0.0, 0.0)
    assert (hfun.native_symbol, hfun.instrument, hfun.lot_size) == ("@1", "HFUN/USDC", 0.01)


def test_a_token_calling_itself_btc_is_not_btc() -> None:
    assert spot_instrument("UBTC", "USDC") == "BTC/USDC"
    assert spot_instrument("BTC", "USDC") is None
    meta = {"universe": [{"name": "@9", "tokens": [5, 0], "index": 9}, {"name": "@10", "tokens": [6, 0], "index": 10}],
            "tokens": [{"name": "USDC", "szDecimals": 8, "index": 0}, {"name": "BTC", "szDecimals": 2, "index": 5},
                       {"name": "UBTC", "szDecimals": 5, "index": 6}]}
    [real] = HyperliquidSpot.parse_metadata("spot", {"spotMeta": [json.dumps(meta).encode()]})
    assert (real.native_symbol, real.instrument, real.venue_base) == ("@10", "BTC/USDC", "UBTC")


@pytest.mark.parametrize(("cls", "market", "bodies", "message"), [
    (Hyperliquid, "perp", {}, "no metaAndAssetCtxs"),
    (Hyperliquid, "perp", {"metaAndAssetCtxs": [b"null"]}, "metaAndAssetCtxs is not"),
    (Hyperliquid, "perp", {"metaAndAssetCtxs": [b'[{"universe":[{"name":"BTC","szDecimals":5}]},[]]']}, "1 assets but 0 contexts"),
    (Hyperliquid, "perp", {"meta": [b'{"universe":[{"name":"BTC","szDecimals":"five"}]}']}, "meta is not a perp universe"),
    (Hyperliquid, "perp", {"meta": [b'{"universe":[{"name":"BTC","szDecimals":9}]}']}, "BTC: szDecimals 9 out of range"),
    (Hyperliquid, "spot", {"meta": [b'{"universe":[]}']}, "not the 'spot' market"),
    (HyperliquidSpot, "spot", {}, "no spotMetaAndAssetCtxs"),
    (HyperliquidSpot, "spot", {"spotMetaAndAssetCtxs": [b"<html>"]}, "spotMetaAndAssetCtxs is not"),
    (HyperliquidSpot, "spot", {"spotMeta": [b'{"universe":[{"name":"@1","tokens":[1],"index":1}],"tokens":[]}']}, "spotMeta is not"),
])
def test_malformed_bodies_are_metadata_errors(cls: type[Hyperliquid], market: str, bodies: dict[str, list[bytes]], message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        cls.parse_metadata(market, bodies)


# --- the spot market on the wire ------------------------------------------------------------------------


def spot_metas() -> list[InstrumentMeta]:
    return spot("spotMetaAndAssetCtxs", "rest_spotMetaAndAssetCtxs")


def test_spot_market_subscribes_pairs_by_their_index_names() -> None:
    v = HyperliquidSpot("spot", SymbolMap(), ["BTC/USDC", "PURR/USDC"], metadata=spot_metas())
    assert [json.loads(m)["subscription"] for m in v.subscribe_messages()] == [
        {"type": "bbo", "coin": "@142"}, {"type": "l2Book", "coin": "@142"},
        {"type": "bbo", "coin": "PURR/USDC"}, {"type": "l2Book", "coin": "PURR/USDC"},
    ]
    by_meta = HyperliquidSpot("spot", SymbolMap(), [m for m in spot_metas() if m.instrument == "ETH/USDC"])
    assert by_meta.subscribed_natives() == ["@151"]


def test_spot_instrument_without_its_listing_is_refused() -> None:
    with pytest.raises(ValueError, match="trades as UBTC under an @<index> pair name"):
        HyperliquidSpot("spot", SymbolMap(), ["BTC/USDC"])
    with pytest.raises(ValueError, match="is not a spot instrument"):
        HyperliquidSpot("spot", SymbolMap(), ["BTC/USDC:USDC"])


def test_spot_bbo_and_book_of_an_index_pair_are_the_mapped_instrument_in_coins() -> None:
    symbols = SymbolMap()
    v = HyperliquidSpot("spot", symbols, ["BTC/USDC"], metadata=spot_metas())
    btc = symbols.instrument_id("BTC/USDC")
    bbo = '{"channel":"bbo","data":{"coin":"@142","time":1762707714000,"bbo":[{"px":"103921","sz":"0.5","n":2},{"px":"103922","sz":"0.25","n":1}]}}'
    [q] = v.parse(bbo, RECV).events
    assert q == Quote(v.venue_id, btc, 103921.0, 0.5, 103922.0, 0.25, 1762707714000 * 1_000_000, RECV)
    book = ('{"channel":"l2Book","data":{"coin":"@142","time":1762707714000,"levels":[[{"px":"103921","sz":"0.5","n":2}],'
            '[{"px":"103922","sz":"0.25","n":1},{"px":"103925","sz":"1.5","n":3}]]}}')
    [b] = v.parse(book, RECV).events
    assert isinstance(b, Book) and b.bids == [(103921.0, 0.5)] and b.asks == [(103922.0, 0.25), (103925.0, 1.5)]
    assert v.parse(bbo.replace("@142", "@151"), RECV).events == ()  # ETH/USDC: not subscribed


def test_open_spot_parser_maps_named_pairs_and_index_pairs_only_with_metadata() -> None:
    line = sample_lines("hyperliquid", "bbo")[0]  # real frame of pair @162
    with pytest.raises(FrameError, match="no unified instrument"):
        HyperliquidSpot("spot", SymbolMap()).parse(line, RECV)
    v = HyperliquidSpot("spot", SymbolMap(), metadata=spot_metas())
    [q] = v.parse(line.replace("@162", "@156"), RECV).events
    assert isinstance(q, Quote) and v.symbols.instrument_name(q.instrument) == "SOL/USDC" and (q.bid, q.bid_size) == (0.97925, 4144.6)
    purr = HyperliquidSpot("spot", SymbolMap())
    [p] = purr.parse(line.replace("@162", "PURR/USDC"), RECV).events
    assert isinstance(p, Quote) and purr.symbols.instrument_name(p.instrument) == "PURR/USDC"


def test_subscription_limits_one_subscription_per_message_1000_per_ip() -> None:
    perp_limits, spot_limits = Hyperliquid.subscription_limits, HyperliquidSpot.subscription_limits
    assert (perp_limits.streams_per_instrument, spot_limits.streams_per_instrument) == (3, 2)
    assert perp_limits.max_args_per_request == spot_limits.max_args_per_request == 1
    assert perp_limits.max_streams_per_connection == 1000 and perp_limits.max_connections == 100
    assert perp_limits.max_requests_per_s * 60 <= 2000
    assert (Hyperliquid.max_instruments_per_connection, HyperliquidSpot.max_instruments_per_connection) == (333, 500)
