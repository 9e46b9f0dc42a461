"""Hyperliquid parser: every shared sample parses to its numbers; coin mapping, funding, bad frames."""

from __future__ import annotations

import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import Book, Funding, Quote
from arbsniper.venues.base import NOTHING, PONG, FrameError
from arbsniper.venues.hyperliquid import Hyperliquid, listed_instruments, native_symbol, unified_instrument
from tests.unit.venues.samples import sample_lines

MS = 1_000_000
HOUR = 3600 * 1_000_000_000
RECV = 1_700_000_000_000_000_000 + 1234  # 2023-11-14 22:13:20 UTC, 13 min past the hour


def venue(*instruments: str) -> Hyperliquid:
    return Hyperliquid("perp", SymbolMap(), list(instruments))


def iid(v: Hyperliquid, name: str) -> int:
    found = v.symbols.find_instrument(name)
    assert found is not None
    return found


def test_coins_map_to_usdc_perpetuals_and_k_coins_to_1000_units() -> None:
    assert native_symbol("BTC/USDC:USDC") == "BTC"
    assert native_symbol("1000PEPE/USDC:USDC") == "kPEPE"
    assert unified_instrument("BTC") == "BTC/USDC:USDC"
    assert unified_instrument("kPEPE") == "1000PEPE/USDC:USDC"
    assert unified_instrument("@162") is None
    assert unified_instrument("xyz:GOLD") is None
    assert unified_instrument("PURR/USDC") is None
    assert listed_instruments("perp", ["BTC", "SOL"]) == ["BTC/USDC:USDC", "SOL/USDC:USDC"]
    assert listed_instruments("spot", ["BTC"]) == []


def test_usdt_perpetual_is_not_a_hyperliquid_instrument() -> None:
    with pytest.raises(ValueError):
        venue("BTC/USDT:USDT")


def test_subscribes_bbo_l2book_and_asset_context_per_coin_and_pings_json() -> None:
    v = venue("BTC/USDC:USDC")
    assert [json.loads(m) for m in v.subscribe_messages()] == [
        {"method": "subscribe", "subscription": {"type": "bbo", "coin": "BTC"}},
        {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}},
        {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "BTC"}},
    ]
    hb = v.heartbeat()
    assert hb.mode == "json" and json.loads(hb.payload) == {"method": "ping"}
    assert v.ws_url() == "wss://api.hyperliquid.xyz/ws"


def test_pong_sample_is_a_pong_and_greeting_text_is_skipped() -> None:
    v = venue("BTC/USDC:USDC")
    assert v.parse(sample_lines("hyperliquid", "pong")[0], RECV) == PONG
    assert v.parse("Websocket connection established.", RECV) == NOTHING
    assert v.parse('{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"bbo","coin":"BTC"}}}', RECV) == NOTHING


def test_bbo_with_both_sides_is_a_quote_and_a_single_level_is_no_quote() -> None:
    v = venue("BTC/USDC:USDC")
    frame = '{"channel":"bbo","data":{"coin":"BTC","time":1750948919838,"bbo":[{"px":"107575.0","sz":"3.87947","n":17},{"px":"107576.0","sz":"0.5","n":2}]}}'
    [q] = v.parse(frame, RECV).events
    assert q == Quote(v.venue_id, iid(v, "BTC/USDC:USDC"), 107575.0, 3.87947, 107576.0, 0.5, 1750948919838 * MS, RECV)
    lines = sample_lines("hyperliquid", "bbo")
    assert v.parse(lines[1], RECV) == NOTHING  # real BTC frame with one level only
    assert v.parse(lines[0], RECV) == NOTHING  # spot pair @162: not subscribed
    assert v.parse('{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[null,{"px":"2","sz":"1","n":1}]}}', RECV) == NOTHING


def test_spot_bbo_sample_is_refused_in_open_mode() -> None:
    with pytest.raises(FrameError, match="no unified instrument"):
        Hyperliquid("perp", SymbolMap()).parse(sample_lines("hyperliquid", "bbo")[0], RECV)


def test_l2book_samples_parse_to_full_books_best_first() -> None:
    v = venue("SHIA/USDC:USDC", "BANANA/USDC:USDC", "BTC/USDC:USDC")
    lines = sample_lines("hyperliquid", "l2Book")
    [empty] = v.parse(lines[0], RECV).events
    assert isinstance(empty, Book) and empty.bids == [] and empty.asks == []
    [banana] = v.parse(lines[1], RECV).events
    assert banana == Book(v.venue_id, iid(v, "BANANA/USDC:USDC"), [(59.8, 3.4), (59.778, 1.6)], [(59.811, 2.9), (59.832, 17.6)],
                          1730160007687 * MS, RECV)
    [btc] = v.parse(lines[2], RECV).events
    assert isinstance(btc, Book) and btc.bids == [(68674.0, 0.97139)] and btc.asks == [(68675.0, 0.04396)]
    [four] = v.parse(lines[3], RECV).events
    assert isinstance(four, Book)
    assert four.bids == [(2080.3, 74.6923), (2080.0, 162.2829), (1825.5, 0.0259), (1823.6, 0.0259)]
    assert four.asks == [(2080.5, 73.018), (2080.6, 74.6799), (2118.9, 377.495), (2122.1, 348.8644)]
    assert four.exchange_ts_ns == 1700687397641 * MS


@pytest.mark.parametrize(
    "levels",
    [
        '[[{"px":"10","sz":"1","n":1}],[{"px":"9","sz":"1","n":1}]]',  # crossed
        '[[{"px":"9","sz":"1","n":1},{"px":"10","sz":"1","n":1}],[]]',  # bids not best first
        '[[{"px":"9","sz":"0","n":0}],[]]',  # empty level
        '[[{"px":"-9","sz":"1","n":1}],[]]',
        '[[]]',
    ],
)
def test_bad_l2books_are_rejected(levels: str) -> None:
    frame = f'{{"channel":"l2Book","data":{{"coin":"BTC","time":1,"levels":{levels}}}}}'
    with pytest.raises(FrameError):
        venue("BTC/USDC:USDC").parse(frame, RECV)


def test_active_asset_ctx_sample_gives_the_hourly_funding_rate_due_at_the_next_hour() -> None:
    v = venue("MOODENG/USDC:USDC")
    [f] = v.parse(sample_lines("hyperliquid", "activeAssetCtx")[0], RECV).events
    next_hour = (RECV // HOUR + 1) * HOUR
    assert f == Funding(v.venue_id, iid(v, "MOODENG/USDC:USDC"), 0.00004863, 1.0, next_hour, RECV, RECV)
    assert next_hour - RECV == 46 * 60 * 1_000_000_000 + 40 * 1_000_000_000 - 1234


def test_all_dexs_asset_ctxs_sample_gives_main_dex_funding_by_universe_position() -> None:
    v = venue("BTC/USDC:USDC", "ETH/USDC:USDC", "SOL/USDC:USDC")
    line = sample_lines("hyperliquid", "allDexsAssetCtxs")[0]
    assert v.parse(line, RECV) == NOTHING  # positional: nothing without the universe
    v.universe = ["BTC", "ETH", "ATOM", "MATIC", "DYDX", "SOL"]
    rates = {v.symbols.instrument_name(f.instrument): f.rate for f in v.parse(line, RECV).events if isinstance(f, Funding)}
    assert rates == {"BTC/USDC:USDC": -0.0000015186, "ETH/USDC:USDC": 0.0000125, "SOL/USDC:USDC": 0.0000098512}


def test_other_samples_parse_to_nothing() -> None:
    v = venue("BTC/USDC:USDC")
    for name in ("activeSpotAssetCtx", "allMids"):
        assert v.parse(sample_lines("hyperliquid", name)[0], RECV) == NOTHING


@pytest.mark.parametrize(
    "frame",
    [
        "garbage",
        '{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[{"px":"x","sz":"1","n":1},{"px":"2","sz":"1","n":1}]}}',
        '{"channel":"l2Book","data":{"coin":"BTC"}}',
        '{"channel":"mystery","data":{}}',
        '{"unexpected":[1,2,3]}',
    ],
)
def test_bad_frames_raise_frame_error(frame: str) -> None:
    with pytest.raises(FrameError):
        venue("BTC/USDC:USDC").parse(frame, RECV)


def test_crossed_bbo_reaches_the_engine_to_be_refused() -> None:
    frame = '{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[{"px":"3","sz":"1","n":1},{"px":"2","sz":"1","n":1}]}}'
    [q] = venue("BTC/USDC:USDC").parse(frame, RECV).events
    assert isinstance(q, Quote) and (q.bid, q.ask) == (3.0, 2.0)


def test_error_sample_is_a_frame_error_naming_the_venue_message() -> None:
    with pytest.raises(FrameError, match="Error parsing JSON into valid websocket request"):
        venue("BTC/USDC:USDC").parse(sample_lines("hyperliquid", "error")[0], RECV)
