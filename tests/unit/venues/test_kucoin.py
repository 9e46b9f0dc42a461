"""KuCoin spot and futures parsers: every shared sample parses to its numbers; handshake, sequence
rules, resync, futures sizes."""

from __future__ import annotations

import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import PERP, RESYNCING, SPOT, UP, Book, Funding, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, PONG, FrameError, RestRequest
from arbsniper.venues.kucoin import INFO, KuCoinFutures, KuCoinSpot, futures, listed_instruments
from arbsniper.venues.kucoin import spot as kucoin_spot
from arbsniper.venues.kucoin.common import KuCoinVenue
from arbsniper.venues.metadata import TRADING, InstrumentMeta
from tests.conftest import FIXTURES
from tests.unit.venues.samples import sample_lines

MS = 1_000_000
RECV = 1_700_000_000_000_000_000


def spot(*instruments: str) -> KuCoinSpot:
    return KuCoinSpot("spot", SymbolMap(), list(instruments))


# XBTUSDTM as the venue lists it (the real sample); ETHUSDTM as KuCoin lists it (0.01 ETH, 8 h).
XBT = KuCoinFutures.parse_metadata("perp", {"contracts": [(FIXTURES / "kucoin" / "rest_contracts_active.json").read_bytes()]})[0]
ETH = InstrumentMeta(venue="kucoin", market="perp", native_symbol="ETHUSDTM", instrument="ETH/USDT:USDT", status=TRADING,
                     contract_size=0.01, lot_size=0.01, tick_size=0.01, min_size=0.01, funding_interval_hours=8.0)
METAS = {m.instrument: m for m in (XBT, ETH)}


def perp(*instruments: str) -> KuCoinFutures:
    return KuCoinFutures("perp", SymbolMap(), [METAS[i] for i in instruments])


def iid(venue: KuCoinVenue, name: str) -> int:
    found = venue.symbols.find_instrument(name)
    assert found is not None
    return found


def snapshot_body(sequence: int, bids: list[list[object]], asks: list[list[object]], **extra: object) -> str:
    return json.dumps({"code": "200000", "data": {"sequence": str(sequence), "bids": bids, "asks": asks, **extra}})


# --- symbols and listings --------------------------------------------------------------------


def test_registry_serves_spot_and_futures_with_their_own_protocol_classes() -> None:
    assert dict(INFO.markets) == {"spot": KuCoinSpot, "perp": KuCoinFutures}
    with pytest.raises(ValueError, match="no 'perp' market"):
        KuCoinSpot("perp", SymbolMap())


def test_native_symbol_maps_spot_with_dash_and_btc_perp_to_xbt_contract() -> None:
    assert kucoin_spot.native_symbol("SNX/BTC") == "SNX-BTC"
    assert futures.native_symbol("BTC/USDT:USDT") == "XBTUSDTM"
    assert futures.native_symbol("SOL/USDT:USDT") == "SOLUSDTM"


def test_native_symbol_rejects_a_perpetual_settled_in_another_currency() -> None:
    with pytest.raises(ValueError):
        futures.native_symbol("BTC/USDT:USDC")


def test_unified_instrument_reverses_native_symbols_and_rejects_dated_futures() -> None:
    assert kucoin_spot.unified_instrument("SNX-BTC") == "SNX/BTC"
    assert futures.unified_instrument("XBTUSDTM") == "BTC/USDT:USDT"
    assert futures.unified_instrument("XBTUSDM") == "BTC/USD:BTC"
    assert futures.unified_instrument("XBTMZ25") is None


def test_listed_instruments_gives_usdt_and_usdc_spot_plus_conversion_and_usdt_perps() -> None:
    assert listed_instruments("spot", ["BTC"]) == ["BTC/USDT", "BTC/USDC", "USDC/USDT"]
    assert listed_instruments("perp", ["BTC", "ETH"]) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_a_contract_without_metadata_is_refused_its_sizes_are_in_an_unknown_unit() -> None:
    venue = KuCoinFutures("perp", SymbolMap(), ["DOGE/USDT:USDT"])
    frame = json.dumps({"type": "message", "topic": "/contractMarket/tickerV2:DOGEUSDTM", "subject": "tickerV2", "data": {
        "symbol": "DOGEUSDTM", "sequence": 1, "bestBidSize": 5, "bestBidPrice": "0.1", "bestAskPrice": "0.2", "bestAskSize": 5, "ts": 1}})
    with pytest.raises(FrameError, match="no metadata for DOGEUSDTM"):
        venue.parse(frame, RECV)


# --- handshake ------------------------------------------------------------------------------


def test_bullet_public_sample_sets_token_endpoint_and_ping_rule() -> None:
    venue = spot("BTC/USDT")
    assert venue.handshake() == RestRequest("POST", "https://api.kucoin.com/api/v1/bullet-public")
    venue.on_handshake(sample_lines("kucoin", "bullet_public_rest_response")[0])
    assert venue.endpoint == "wss://ws-api-spot.kucoin.com/"
    assert venue.token is not None and venue.token.startswith("2neAiuYvAU61ZDXANAGAsiL4")
    hb = venue.heartbeat()
    assert (hb.mode, hb.interval_s, hb.timeout_s) == ("json", 18.0, 28.0)
    url = venue.ws_url()
    assert url.startswith(f"wss://ws-api-spot.kucoin.com/?token={venue.token}&connectId=")
    assert json.loads(hb.payload) == {"id": "ping", "type": "ping"}


def test_futures_bullet_goes_to_futures_rest_host_and_base_url_overrides_endpoint() -> None:
    venue = KuCoinFutures("perp", SymbolMap(), ["BTC/USDT:USDT"], base_url="ws://127.0.0.1:9999")
    assert venue.handshake() == RestRequest("POST", "https://api-futures.kucoin.com/api/v1/bullet-public")
    venue.on_handshake(json.dumps({"code": "200000", "data": {"token": "t0k", "instanceServers": [
        {"endpoint": "wss://ws-api-futures.kucoin.com/", "encrypt": True, "protocol": "websocket", "pingInterval": 5000, "pingTimeout": 2000}]}}))
    assert venue.ws_url().startswith("ws://127.0.0.1:9999/?token=t0k&connectId=")
    assert (venue.heartbeat().interval_s, venue.heartbeat().timeout_s) == (5.0, 7.0)


def test_bullet_refusal_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match="refused"):
        spot("BTC/USDT").on_handshake('{"code":"400100","msg":"too many requests"}')


def test_ws_url_before_handshake_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        spot("BTC/USDT").ws_url()


# --- control frames -------------------------------------------------------------------------


def test_welcome_and_ack_samples_are_nothing_welcome_is_noted_and_pong_is_a_pong() -> None:
    venue = spot("BTC/USDT")
    assert not venue.welcomed
    for line in sample_lines("kucoin", "welcome"):
        assert venue.parse(line, RECV) == NOTHING
    assert venue.welcomed
    for line in sample_lines("kucoin", "subscribe_ack"):
        assert venue.parse(line, RECV) == NOTHING
    assert venue.parse(sample_lines("kucoin", "pong")[0], RECV) == PONG


def test_subscribe_messages_use_the_sample_request_shape() -> None:
    venue = spot("BTC/USDT", "ETH/USDT")
    sample = json.loads(sample_lines("kucoin", "subscribe_request")[0])
    msgs = [json.loads(m) for m in venue.subscribe_messages()]
    assert [m["topic"] for m in msgs] == ["/market/ticker:BTC-USDT,ETH-USDT", "/market/level2:BTC-USDT,ETH-USDT"]
    for m in msgs:
        assert set(m) == set(sample)
        assert (m["type"], m["privateChannel"], m["response"]) == ("subscribe", False, True)
    assert msgs[0]["id"] != msgs[1]["id"]


def test_futures_subscribe_messages_cover_ticker_level2_and_instrument_per_contract() -> None:
    topics = [json.loads(m)["topic"] for m in perp("BTC/USDT:USDT").subscribe_messages()]
    assert topics == ["/contractMarket/tickerV2:XBTUSDTM", "/contractMarket/level2:XBTUSDTM", "/contract/instrument:XBTUSDTM"]


# --- BBO ------------------------------------------------------------------------------------


def test_market_ticker_samples_parse_to_their_prices_sizes_times_and_sequences() -> None:
    venue = spot("SNX/BTC", "BCHSV/USDT", "ANKR/BTC", "APE3S/USDT", "BTC/USDT")
    lines = sample_lines("kucoin", "market_ticker")
    quotes = [venue.parse(line, RECV).events for line in lines]
    assert all(len(q) == 1 and isinstance(q[0], Quote) for q in quotes)
    # (bid, bid size, ask, ask size) of every line, as the venue sent them.
    assert [(q[0].bid, q[0].bid_size, q[0].ask, q[0].ask_size) for q in quotes] == [
        (0.00028678, 3.70422021, 0.00028717, 14.04274325),
        (242.654, 0.68148185, 242.951, 4.51280965),
        (0.0000026033, 4051.2663, 0.0000026192, 4664.7644),
        (0.00028678, 3.70422021, 0.00028717, 14.04274325),
        (242.649, 5.0, 242.951, 4.51280965),
        (242.649, 5.0, 242.951, 4.51280965),
        (0.9027, 202.2365, 0.9052, 404.3024),
        (0.049, 0.036, 0.08, 0.18),
    ]
    first = quotes[0][0]
    assert first == Quote(venue.venue_id, iid(venue, "SNX/BTC"), 0.00028678, 3.70422021, 0.00028717, 14.04274325,
                          1619378326323 * MS, RECV, 1612844051653)
    bchsv = quotes[4][0]
    assert (bchsv.bid, bchsv.bid_size, bchsv.ask, bchsv.ask_size) == (242.649, 5.0, 242.951, 4.51280965)
    ape = quotes[6][0]
    assert (ape.instrument, ape.bid, ape.ask, ape.exchange_ts_ns, ape.seq) == (iid(venue, "APE3S/USDT"), 0.9027, 0.9052, 1660608019966 * MS, 1653547330151)
    docs = quotes[7][0]  # the docs example spells the time field "Time"
    assert (docs.bid, docs.bid_size, docs.ask, docs.ask_size, docs.exchange_ts_ns) == (0.049, 0.036, 0.08, 0.18, 1704873323416 * MS)


def test_ticker_all_sample_takes_the_symbol_from_the_subject() -> None:
    venue = spot("BTC/USDT")
    [q] = venue.parse(sample_lines("kucoin", "market_ticker_all")[0], RECV).events
    assert isinstance(q, Quote)
    assert (q.instrument, q.bid, q.bid_size, q.ask, q.ask_size, q.seq) == (iid(venue, "BTC/USDT"), 67218.6, 0.01045638, 67218.7, 1.92318539, 14691455768)


def test_level1_sample_parses_to_best_bid_and_ask() -> None:
    venue = spot("BTC/USDT")
    [q] = venue.parse(sample_lines("kucoin", "spotMarket_level1")[0], RECV).events
    assert isinstance(q, Quote)
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.exchange_ts_ns) == (68145.7, 1.29267802, 68145.8, 0.51987471, 1729816058766 * MS)


def test_level2_depth5_sample_parses_to_a_five_level_book_best_first() -> None:
    venue = spot("BTC/USDT")
    [b] = venue.parse(sample_lines("kucoin", "spotMarket_level2Depth5")[0], RECV).events
    assert isinstance(b, Book)
    assert b.bids == [(67996.6, 0.37969491), (67995.3, 0.20779746), (67994.5, 0.00047785), (67993.4, 0.405), (67993.3, 0.13528566)]
    assert b.asks[0] == (67996.7, 1.14213262) and b.asks[-1] == (67997.1, 0.14842782)
    assert b.exchange_ts_ns == 1729822226746 * MS


def test_ticker_of_an_unsubscribed_symbol_is_ignored() -> None:
    assert spot("BTC/USDT").parse(sample_lines("kucoin", "market_ticker")[0], RECV) == NOTHING


def test_crossed_ticker_reaches_the_engine_to_be_refused() -> None:
    frame = '{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"bestBid":"101","bestBidSize":"1","bestAsk":"100","bestAskSize":"1","sequence":"5","time":1}}'
    [q] = spot("BTC/USDT").parse(frame, RECV).events
    assert isinstance(q, Quote) and (q.bid, q.ask) == (101.0, 100.0)


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"type":"message","topic":"/market/ticker:BTC-USDT","data":{"bestBid":"abc","bestBidSize":"1","bestAsk":"2","bestAskSize":"1"}}',
        '{"type":"message","topic":"/market/ticker:BTC-USDT","data":{"bestBid":"1"}}',
        '{"type":"message","topic":"/market/ticker:BTC-USDT","data":{"bestBid":"-1","bestBidSize":"1","bestAsk":"2","bestAskSize":"1"}}',
        '{"type":"message","topic":"/market/ticker:BTC-USDT","data":{"bestBid":"1","bestBidSize":"1e20","bestAsk":"2","bestAskSize":"1"}}',
        '{"id":"x","type":"error","code":401,"data":"token is invalid"}',
        '{"type":"surprise"}',
    ],
)
def test_bad_frames_raise_frame_error(frame: str) -> None:
    with pytest.raises(FrameError):
        spot("BTC/USDT").parse(frame, RECV)


# --- spot level 2 ---------------------------------------------------------------------------


def test_real_snx_btc_increments_buffered_before_the_rest_snapshot_rebuild_the_book() -> None:
    venue = spot("SNX/BTC")
    snx = iid(venue, "SNX/BTC")
    lines = sample_lines("kucoin", "market_level2_update")[:10]
    first = venue.parse(lines[0], RECV)
    [status] = first.events
    assert status == VenueStatus(venue.venue_id, RESYNCING, "SNX-BTC: awaiting snapshot", RECV, SPOT, snx)
    assert first.resyncs == (snx,)
    for line in lines[1:]:
        assert venue.parse(line, RECV) == NOTHING  # buffered until the snapshot arrives
    assert venue.rest_endpoint() + str(venue.snapshot_path(snx)) == "https://api.kucoin.com/api/v1/market/orderbook/level2_100?symbol=SNX-BTC"
    up, book = venue.apply_snapshot(snx, sample_lines("kucoin", "market_level2_snapshot_rest")[0], RECV).events
    assert up == VenueStatus(venue.venue_id, UP, "book synced", RECV, SPOT, snx)
    assert isinstance(book, Book)
    # Snapshot sequence 1612844051657: increments 654..657 are dropped; 658 and 662 change price "0"
    # (no-ops); 659 and 661 set ask 0.00028717; 660 sets bid 0.00028678; 663 adds bid 0.00028653.
    assert book.seq == 1612844051663
    assert book.bids[:3] == [(0.00028678, 0.19100065), (0.00028653, 2.10972904), (0.00028624, 0.01333209)]
    assert book.asks[:2] == [(0.00028717, 29.24570683), (0.00028719, 73.32024488)]
    assert len(book.bids) == len(book.asks) == 20


def test_real_snx_btc_increments_after_the_snapshot_give_the_same_book() -> None:
    venue = spot("SNX/BTC")
    snx = iid(venue, "SNX/BTC")
    _, first = venue.apply_snapshot(snx, sample_lines("kucoin", "market_level2_snapshot_rest")[0], RECV).events
    assert isinstance(first, Book) and first.seq == 1612844051657
    assert first.asks[0] == (0.00028717, 14.04274325)
    assert first.exchange_ts_ns == 1619378326842 * MS
    books = [e for line in sample_lines("kucoin", "market_level2_update")[:10] for e in venue.parse(line, RECV).events]
    assert [b.seq for b in books if isinstance(b, Book)] == list(range(1612844051658, 1612844051664))
    last = books[-1]
    assert isinstance(last, Book)
    assert last.bids[:2] == [(0.00028678, 0.19100065), (0.00028653, 2.10972904)]
    assert last.asks[0] == (0.00028717, 29.24570683)


def test_btc_usdt_sample_jump_in_sequence_is_a_gap_that_drops_the_book_and_asks_for_a_snapshot() -> None:
    venue = spot("BTC/USDT")
    btc = iid(venue, "BTC/USDT")
    venue.apply_snapshot(btc, snapshot_body(1636276321876, [["24081.0", "1"]], [["24088.8", "2"]]), RECV)
    lines = sample_lines("kucoin", "market_level2_update")[10:17]
    [b] = venue.parse(lines[0], RECV).events  # 877: ask price "0" is a no-op that advances the sequence
    assert isinstance(b, Book) and b.seq == 1636276321877 and b.asks == [(24088.8, 2.0)]
    gap = venue.parse(lines[1], RECV)  # 4353 after 877: increments are missing
    [status] = gap.events
    assert status == VenueStatus(venue.venue_id, RESYNCING, "BTC-USDT: sequence gap: expected <= 1636276321878, got 1636276324353",
                                 RECV, SPOT, btc)
    assert gap.resyncs == (btc,)
    for line in lines[2:]:
        assert venue.parse(line, RECV) == NOTHING  # buffered for the next snapshot
    # The new snapshot at 4360 drops the buffered 4353..4356; 4361 straddles it and deletes the
    # 24088.8 ask; 4362-4363 puts 12 back (its level sequence 4361 is old, but only the straddling
    # increment is filtered); 4364-4365 carries only a price "0" no-op.
    up, book = venue.apply_snapshot(btc, snapshot_body(1636276324360, [["24081.2", "0.00265"]], [["24088.8", "3"], ["24090", "1"]]), RECV).events
    assert up == VenueStatus(venue.venue_id, UP, "book synced", RECV, SPOT, btc)
    assert isinstance(book, Book) and book.seq == 1636276324365
    assert book.bids == [(24081.2, 0.00265)]
    assert book.asks == [(24088.8, 12.0), (24090.0, 1.0)]


def test_docs_increment_carries_its_time_as_the_exchange_timestamp() -> None:
    venue = spot("BTC/USDT")
    btc = iid(venue, "BTC/USDT")
    venue.apply_snapshot(btc, snapshot_body(14701689782, [["67990", "1"]], [["67995", "1"]]), RECV)
    [b] = venue.parse(sample_lines("kucoin", "market_level2_update")[17], RECV).events
    assert isinstance(b, Book)
    assert b.asks == [(67993.3, 1.21427407), (67995.0, 1.0)]
    assert b.exchange_ts_ns == 1729816425625 * MS


def test_straddling_increment_skips_changes_the_snapshot_already_holds() -> None:
    venue = spot("BTC/USDT")
    btc = iid(venue, "BTC/USDT")
    venue.apply_snapshot(btc, snapshot_body(100, [["10", "1"]], [["12", "1"]]), RECV)
    frame = json.dumps({"type": "message", "topic": "/market/level2:BTC-USDT", "subject": "trade.l2update", "data": {
        "sequenceStart": 99, "sequenceEnd": 102, "symbol": "BTC-USDT",
        "changes": {"asks": [["12", "0", "99"], ["13", "4", "101"]], "bids": [["10", "7", "102"]]}}})
    [b] = venue.parse(frame, RECV).events
    assert isinstance(b, Book)
    # seq 99 (delete 12) is already in the snapshot of 100: skipped; 101 and 102 apply.
    assert b.asks == [(12.0, 1.0), (13.0, 4.0)]
    assert b.bids == [(10.0, 7.0)]


def increment(start: int, end: int, bid: str) -> str:
    return json.dumps({"type": "message", "topic": "/market/level2:BTC-USDT", "subject": "trade.l2update", "data": {
        "sequenceStart": start, "sequenceEnd": end, "symbol": "BTC-USDT", "changes": {"asks": [], "bids": [[bid, "1", str(end)]]}}})


def test_snapshot_older_than_the_buffered_increments_is_fetched_again() -> None:
    venue = spot("BTC/USDT")
    btc = iid(venue, "BTC/USDT")
    assert venue.parse(increment(50, 50, "10"), RECV).resyncs == (btc,)
    too_old = venue.apply_snapshot(btc, snapshot_body(40, [["9", "1"]], [["11", "1"]]), RECV)
    [status] = too_old.events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING and "older than buffered sequence 50" in status.reason
    assert too_old.resyncs == (btc,)
    _, b = venue.apply_snapshot(btc, snapshot_body(49, [["9", "1"]], [["11", "1"]]), RECV).events
    assert isinstance(b, Book) and b.seq == 50 and b.bids == [(10.0, 1.0), (9.0, 1.0)]


def test_refused_snapshot_is_a_frame_error() -> None:
    venue = spot("BTC/USDT")
    with pytest.raises(FrameError, match="refused"):
        venue.apply_snapshot(iid(venue, "BTC/USDT"), '{"code":"429000","msg":"Too Many Requests"}', RECV)


def test_reconnect_drops_books_so_increments_wait_for_a_new_snapshot() -> None:
    venue = spot("BTC/USDT")
    btc = iid(venue, "BTC/USDT")
    venue.apply_snapshot(btc, snapshot_body(1, [["9", "1"]], [["11", "1"]]), RECV)
    venue.on_connected(RECV)
    parsed = venue.parse(increment(2, 2, "10"), RECV)
    [status] = parsed.events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING
    assert parsed.resyncs == (btc,)


def test_open_mode_parses_every_symbol_it_sees() -> None:
    venue = KuCoinSpot("spot", SymbolMap())
    [q] = venue.parse(sample_lines("kucoin", "market_ticker")[1], RECV).events
    assert isinstance(q, Quote) and venue.symbols.instrument_name(q.instrument) == "BCHSV/USDT"


# --- futures --------------------------------------------------------------------------------


def futures_change(seq: int, change: str, ts: int = 1_700_000_000_123) -> str:
    return json.dumps({"type": "message", "topic": "/contractMarket/level2:XBTUSDTM", "subject": "level2",
                       "data": {"sequence": seq, "change": change, "timestamp": ts}})


def test_futures_ticker_sizes_are_contracts_times_multiplier_and_ts_is_ns() -> None:
    venue = perp("BTC/USDT:USDT")
    frame = json.dumps({"type": "message", "topic": "/contractMarket/tickerV2:XBTUSDTM", "subject": "tickerV2", "data": {
        "symbol": "XBTUSDTM", "sequence": 1638, "bestBidSize": 68, "bestBidPrice": "77358.1", "bestAskPrice": "77358.2",
        "bestAskSize": 2286, "ts": 1776941410555000000}})
    [q] = venue.parse(frame, RECV).events
    assert q == Quote(venue.venue_id, iid(venue, "BTC/USDT:USDT"), 77358.1, 0.068, 77358.2, 2.286, 1776941410555000000, RECV, 1638)


def test_futures_level2_applies_contiguous_changes_and_resyncs_on_a_gap() -> None:
    venue = perp("ETH/USDT:USDT")
    eth = iid(venue, "ETH/USDT:USDT")
    assert venue.rest_endpoint() + str(venue.snapshot_path(eth)) == "https://api-futures.kucoin.com/api/v1/level2/snapshot?symbol=ETHUSDTM"
    frame = futures_change(18, "3000.5,sell,83").replace("XBTUSDTM", "ETHUSDTM")
    [awaiting] = venue.parse(frame, RECV).events  # buffered
    assert isinstance(awaiting, VenueStatus) and awaiting.state == RESYNCING and awaiting.market == PERP
    snap = json.dumps({"code": "200000", "data": {"symbol": "ETHUSDTM", "sequence": 17, "bids": [[3000.0, 100], [2999.5, 20]],
                                                  "asks": [[3000.5, 10], [3001.0, 5]], "ts": 1_700_000_000_000_000_000}})
    _, book = venue.apply_snapshot(eth, snap, RECV).events
    # ETHUSDTM is 0.01 ETH per contract; change 18 sets 3000.5 to 83 contracts.
    assert isinstance(book, Book) and book.seq == 18
    assert book.bids == [(3000.0, 1.0), (2999.5, 0.2)]
    assert book.asks == [(3000.5, 0.83), (3001.0, 0.05)]
    [b19] = venue.parse(futures_change(19, "3000.0,buy,0").replace("XBTUSDTM", "ETHUSDTM"), RECV).events
    assert isinstance(b19, Book) and b19.bids == [(2999.5, 0.2)] and b19.exchange_ts_ns == 1_700_000_000_123 * MS
    assert venue.parse(futures_change(19, "3000.0,buy,5").replace("XBTUSDTM", "ETHUSDTM"), RECV) == NOTHING  # duplicate
    gap = venue.parse(futures_change(21, "3000.0,buy,5").replace("XBTUSDTM", "ETHUSDTM"), RECV)
    [status] = gap.events
    assert status == VenueStatus(venue.venue_id, RESYNCING, "ETHUSDTM: sequence gap: expected 20, got 21", RECV, PERP, eth)
    assert gap.resyncs == (eth,)


@pytest.mark.parametrize("change", ["3000.5,sell", "abc,buy,1", "3000.5,hold,1", "3000.5,buy,-1", "3000.5,buy,1,2"])
def test_malformed_futures_change_is_rejected(change: str) -> None:
    with pytest.raises(FrameError, match="bad change"):
        perp("BTC/USDT:USDT").parse(futures_change(1, change), RECV)


def test_futures_predicted_funding_rate_is_per_the_listings_8h_period_and_mark_price_is_ignored() -> None:
    venue = perp("BTC/USDT:USDT")
    frame = '{"type":"message","topic":"/contract/instrument:XBTUSDTM","subject":"funding.rate","data":{"granularity":60000,"fundingRate":-0.002966,"timestamp":1551770400000}}'
    [f] = venue.parse(frame, RECV).events
    # granularity 60000 is the predicted rate's 1-minute cadence; the period is the listing's
    # fundingRateGranularity 28800000 ms = 8 h.
    assert f == Funding(venue.venue_id, iid(venue, "BTC/USDT:USDT"), -0.002966, 8.0, 0, 1551770400000 * MS, RECV)
    mark = '{"type":"message","topic":"/contract/instrument:XBTUSDTM","subject":"mark.index.price","data":{"granularity":1000,"indexPrice":4000.23,"markPrice":4010.52,"timestamp":1551770400000}}'
    assert venue.parse(mark, RECV) == NOTHING
