"""Bitget parser: every shared sample parses to its numbers; checksums, resubscription, funding."""

from __future__ import annotations

import json
import zlib

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import PERP, RESYNCING, SPOT, UP, Book, Funding, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, PONG, FrameError
from arbsniper.venues.bitget import Bitget, inst_type, listed_instruments, native_symbol, unified_instrument
from arbsniper.venues.metadata import InstrumentMeta
from tests.unit.venues.samples import sample_lines

MS = 1_000_000
RECV = 1_700_000_000_000_000_000


def venue(market: str, *instruments: str) -> Bitget:
    return Bitget(market, SymbolMap(), list(instruments))


def iid(v: Bitget, name: str) -> int:
    found = v.symbols.find_instrument(name)
    assert found is not None
    return found


def signed_crc(text: str) -> int:
    crc = zlib.crc32(text.encode())
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def books_frame(action: str, inst_id: str, bids: list[list[str]], asks: list[list[str]], checksum: int | None, ts: int = 1730332800000,
                inst_type: str = "SPOT", seq: int | None = None, pseq: int | None = None) -> str:
    """A v2 ``books`` frame; ``checksum=None`` leaves the field out, ``seq``/``pseq`` add the 2026 numbers."""
    data: dict[str, object] = {"asks": asks, "bids": bids}
    if checksum is not None:
        data["checksum"] = checksum
    if seq is not None:
        data |= {"seq": seq, "pseq": pseq}
    data["ts"] = str(ts)
    return json.dumps({"action": action, "arg": {"instType": inst_type, "channel": "books", "instId": inst_id},
                       "data": [data], "ts": ts + 2})


# --- symbols, subscriptions ----------------------------------------------------------------


def test_native_symbols_and_their_inst_types() -> None:
    assert (native_symbol("spot", "BTC/USDC"), inst_type("spot", "BTCUSDC")) == ("BTCUSDC", "SPOT")
    assert (native_symbol("perp", "BTC/USDT:USDT"), inst_type("perp", "BTCUSDT")) == ("BTCUSDT", "USDT-FUTURES")
    assert (native_symbol("perp", "BTC/USDC:USDC"), inst_type("perp", "BTCPERP")) == ("BTCPERP", "USDC-FUTURES")
    assert (native_symbol("perp", "BTC/USD:BTC"), inst_type("perp", "BTCUSD")) == ("BTCUSD", "COIN-FUTURES")


def test_unified_instrument_reverses_inst_ids() -> None:
    assert unified_instrument("spot", "BTCUSDC") == "BTC/USDC"
    assert unified_instrument("perp", "BTCUSDT") == "BTC/USDT:USDT"
    assert unified_instrument("perp", "BTCPERP") == "BTC/USDC:USDC"
    assert unified_instrument("perp", "BTCUSDZ24") is None


def test_listed_instruments_cover_usdt_and_usdc_spot_with_conversion_and_usdt_perps() -> None:
    assert listed_instruments("spot", ["SOL"]) == ["SOL/USDT", "SOL/USDC", "USDC/USDT"]
    assert listed_instruments("perp", ["SOL"]) == ["SOL/USDT:USDT"]


def test_spot_subscribes_books1_and_books_in_the_sample_request_shape() -> None:
    v = venue("spot", "BTC/USDT", "ETH/USDT")
    [msg] = [json.loads(m) for m in v.subscribe_messages()]
    shape = json.loads(sample_lines("bitget", "v1_spot_subscribe_request")[0])
    assert set(msg) == set(shape) and msg["op"] == "subscribe"
    assert msg["args"] == [
        {"instType": "SPOT", "channel": "books1", "instId": "BTCUSDT"},
        {"instType": "SPOT", "channel": "books1", "instId": "ETHUSDT"},
        {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"},
        {"instType": "SPOT", "channel": "books", "instId": "ETHUSDT"},
    ]


def test_futures_subscribe_in_the_sample_request_shape() -> None:
    [msg] = [json.loads(m) for m in venue("perp", "DASH/USDT:USDT").subscribe_messages()]
    shape = json.loads(sample_lines("bitget", "v1_mix_subscribe_request")[0])
    assert set(msg) == set(shape) and set(msg["args"][0]) == set(shape["args"][0])
    assert msg["args"][0] == {"instType": "USDT-FUTURES", "channel": "books1", "instId": "DASHUSDT"}


def test_futures_also_subscribe_ticker_for_funding_and_chunk_args() -> None:
    v = venue("perp", *[f"C{i}/USDT:USDT" for i in range(20)])
    msgs = [json.loads(m) for m in v.subscribe_messages()]
    args = [a for m in msgs for a in m["args"]]
    assert len(args) == 60 and [len(m["args"]) for m in msgs] == [50, 10]
    assert {a["channel"] for a in args} == {"books1", "books", "ticker"}
    assert all(a["instType"] == "USDT-FUTURES" for a in args)


def test_subscribe_requests_stay_within_4096_bytes_of_args() -> None:
    # 81-82-byte args (LONGNAME000000000000USDT): 50 of them would be 4 119 bytes, 49 are 4 037
    long_names = venue("perp", *[f"LONGNAME{i:012d}/USDT:USDT" for i in range(20)])
    msgs = long_names.subscribe_messages()
    assert [len(json.loads(m)["args"]) for m in msgs] == [49, 11]
    assert all(len(m[m.index("[") + 1 : m.rindex("]")]) <= 4096 for m in msgs)


def test_subscription_limits_are_bitgets() -> None:
    limits = Bitget.subscription_limits
    assert (limits.max_requests_per_hour, limits.max_requests_per_s, limits.max_connections) == (240, 10.0, 100)
    # 50 channels a connection (Bitget's recommendation; the hard limit is 1000), 3 per futures instrument
    assert (limits.max_streams_per_connection, limits.instruments_per_connection(), limits.max_args_per_request) == (50, 16, 50)
    assert (Bitget.max_instruments_per_connection, Bitget.max_messages_per_s) == (16, 5.0)


def test_heartbeat_is_text_ping_every_30s_and_pong_is_a_pong_without_events() -> None:
    v = venue("spot", "BTC/USDT")
    hb = v.heartbeat()
    assert (hb.mode, hb.payload, hb.interval_s) == ("text", "ping", 30.0)
    assert v.parse("pong", RECV) == PONG
    assert v.ws_url() == "wss://ws.bitget.com/v2/ws/public"


def test_request_too_many_asks_for_a_new_connection() -> None:
    parsed = venue("spot", "BTC/USDT").parse('{"event":"error","code":30006,"msg":"request too many"}', RECV)
    assert parsed.events == () and parsed.reconnect == "bitget 30006: request too many (subscriptions refused)"


def test_acks_parse_to_nothing() -> None:
    v = venue("spot", "BTC/USDT")
    acks = sample_lines("bitget", "v2_subscribe_ack") + sample_lines("bitget", "v1_subscribe_ack") + sample_lines("bitget", "v1_spot_ticker")
    for line in acks + sample_lines("bitget", "v1_mix_ticker")[:2]:
        assert v.parse(line, RECV) == NOTHING


# --- BBO ------------------------------------------------------------------------------------


def test_spot_books1_sample_parses_to_the_best_bid_and_ask() -> None:
    v = venue("spot", "BTC/USDC")
    [q] = v.parse(sample_lines("bitget", "v2_spot_books1")[0], RECV).events
    assert q == Quote(v.venue_id, iid(v, "BTC/USDC"), 72354.67, 1.1646, 72377.25, 0.00408, 1730332859984 * MS, RECV)


def test_futures_books1_samples_give_a_quote_and_skip_the_one_sided_book() -> None:
    v = venue("perp", "ADA/USDT:USDT", "AQT/USDT:USDT")
    lines = sample_lines("bitget", "v2_futures_books1")
    [q] = v.parse(lines[0], RECV).events
    assert q == Quote(v.venue_id, iid(v, "ADA/USDT:USDT"), 0.3553, 112096.0, 0.3555, 10230.0, 1730332859988 * MS, RECV)
    assert v.parse(lines[1], RECV) == NOTHING  # no bids at all


def test_futures_ticker_sample_gives_funding_and_with_ticker_bbo_a_quote() -> None:
    v = venue("perp", "STORJ/USDT:USDT")
    storj = iid(v, "STORJ/USDT:USDT")
    line = sample_lines("bitget", "v2_futures_ticker")[0]
    [f] = v.parse(line, RECV).events
    # The frame has no funding period and this parser no listing: 0, "not known", never a guess.
    assert f == Funding(v.venue_id, storj, 0.0001, 0.0, 1730361600000 * MS, 1730332823155 * MS, RECV)
    meta = InstrumentMeta(venue="bitget", market="perp", native_symbol="STORJUSDT", instrument="STORJ/USDT:USDT", status="trading",
                          funding_interval_hours=4.0)
    listed = Bitget("perp", SymbolMap(), [meta])
    [f4] = listed.parse(line, RECV).events
    assert isinstance(f4, Funding) and f4.interval_hours == 4.0  # the listing's fundInterval
    v.bbo_channel = "ticker"
    q, f2 = v.parse(line, RECV).events
    assert q == Quote(v.venue_id, storj, 0.4705, 1367.3, 0.4708, 2535.3, 1730332823155 * MS, RECV)
    assert f2 == f
    # Sizes are coins, not contracts: 1367.3 STORJ (the sample's baseVolume 2 878 355.9 x ~0.47 = its quoteVolume 1.355 M)
    assert Bitget.sizes_in_contracts is False and listed.contract_size("STORJUSDT") == 1.0


def test_dated_coin_future_ticker_is_not_subscribed_and_ignored() -> None:
    v = venue("perp", "BTC/USD:BTC")
    assert v.parse(sample_lines("bitget", "v2_futures_ticker")[1], RECV) == NOTHING  # BTCUSDZ24 is not the perpetual BTCUSD


def test_books5_and_books15_samples_parse_to_depth_snapshots() -> None:
    v = venue("spot", "BTC/USDT", "MANTA/USDT")
    [b5] = v.parse(sample_lines("bitget", "v2_spot_books5")[0], RECV).events
    assert isinstance(b5, Book)
    assert b5.bids[0] == (21040.76, 0.0417) and b5.bids[-1] == (21040.6, 1.3357)
    assert b5.asks[0] == (21041.11, 0.0445) and len(b5.asks) == 5
    assert b5.exchange_ts_ns == 1656413855484 * MS
    [b15] = v.parse(sample_lines("bitget", "v2_spot_books15")[0], RECV).events
    assert isinstance(b15, Book) and b15.bids == [(0.7139, 20.98)] and b15.asks == [(0.7146, 7.03)]


# --- books with checksum ------------------------------------------------------------------------


def test_v2_books_snapshot_samples_build_books_without_checking_the_zero_checksum() -> None:
    v = venue("spot", "BRETT/USDT")
    up, b = v.parse(sample_lines("bitget", "v2_spot_books")[0], RECV).events
    assert up == VenueStatus(v.venue_id, UP, "book synced", RECV, SPOT, iid(v, "BRETT/USDT"))
    assert isinstance(b, Book)
    assert b.bids == [(0.09694, 1213.91)] and b.asks == [(0.09707, 1600.0), (0.09711, 511.87)]
    assert b.exchange_ts_ns == 1730332800391 * MS
    f = venue("perp", "BEL/USDT:USDT")
    _, fb = f.parse(sample_lines("bitget", "v2_futures_books")[0], RECV).events
    assert isinstance(fb, Book) and fb.bids == [(0.542, 468.0), (0.5419, 1576.0)] and fb.asks == [(0.5426, 51.0)]


def test_update_before_any_snapshot_is_ignored() -> None:
    v = venue("spot", "LMWR/USDT")
    assert v.parse(sample_lines("bitget", "v2_spot_books")[1], RECV) == NOTHING
    f = venue("perp", "AXS/USDT:USDT")
    assert f.parse(sample_lines("bitget", "v2_futures_books")[1], RECV) == NOTHING


def test_real_v2_update_on_a_different_book_fails_its_checksum_and_resubscribes() -> None:
    v = venue("spot", "LMWR/USDT")
    lmwr = iid(v, "LMWR/USDT")
    v.parse(books_frame("snapshot", "LMWRUSDT", [["0.12300", "10"]], [["0.12400", "5"]], 0), RECV)
    parsed = v.parse(sample_lines("bitget", "v2_spot_books")[1], RECV)  # venue checksum 1073441524
    [status] = parsed.events
    assert isinstance(status, VenueStatus)
    assert (status.state, status.market, status.instrument) == (RESYNCING, SPOT, lmwr)
    assert status.reason.startswith("LMWRUSDT: checksum mismatch (venue 1073441524")
    assert parsed.resyncs == (lmwr,)
    assert v.snapshot_path(lmwr) is None
    assert [json.loads(m) for m in v.resubscribe_messages(lmwr)] == [
        {"op": "unsubscribe", "args": [{"instType": "SPOT", "channel": "books", "instId": "LMWRUSDT"}]},
        {"op": "subscribe", "args": [{"instType": "SPOT", "channel": "books", "instId": "LMWRUSDT"}]},
    ]
    # Updates are ignored until the fresh snapshot, which brings the book back up.
    assert v.parse(books_frame("update", "LMWRUSDT", [["0.12306", "1"]], [], 123), RECV) == NOTHING
    up, book = v.parse(books_frame("snapshot", "LMWRUSDT", [["0.12306", "3326.85"]], [["0.12400", "5"]], 0), RECV).events
    assert isinstance(book, Book) and book.bids == [(0.12306, 3326.85)]
    assert up == VenueStatus(v.venue_id, UP, "book synced", RECV, SPOT, lmwr)


def test_update_with_the_right_checksum_applies_and_deletes_zero_sizes() -> None:
    v = venue("perp", "AXS/USDT:USDT")
    v.parse(books_frame("snapshot", "AXSUSDT", [["5.081", "10"], ["5.080", "7"]], [["5.085", "3"]], 0, inst_type="USDT-FUTURES"), RECV)
    # After the update the book is bids 5.081x536.2 (5.080 deleted), asks 5.085x144.6, 5.090x1.
    checksum = signed_crc("5.081:536.2:5.085:144.6:5.090:1")
    frame = books_frame("update", "AXSUSDT", [["5.081", "536.2"], ["5.080", "0"]], [["5.085", "144.6"], ["5.090", "1"]], checksum,
                        ts=1730332859988, inst_type="USDT-FUTURES")
    [b] = v.parse(frame, RECV).events
    assert isinstance(b, Book)
    assert b.bids == [(5.081, 536.2)] and b.asks == [(5.085, 144.6), (5.09, 1.0)]
    assert b.exchange_ts_ns == 1730332859988 * MS


# --- 2026: seq / pseq, messages without a checksum ------------------------------------------------


def test_books_without_a_checksum_field_are_not_a_mismatch() -> None:
    v = venue("spot", "BTC/USDT")
    v.parse(books_frame("snapshot", "BTCUSDT", [["100", "1"]], [["101", "1"]], None, seq=10, pseq=0), RECV)
    parsed = v.parse(books_frame("update", "BTCUSDT", [["100", "2"]], [], None, seq=11, pseq=10), RECV)
    [b] = parsed.events  # no checksum given: applied, never resynced (a 0 would resync every update)
    assert isinstance(b, Book) and b.bids == [(100.0, 2.0)] and b.seq == 11 and parsed.resyncs == ()


def test_pseq_must_equal_the_previous_seq_else_the_book_resyncs() -> None:
    v = venue("perp", "BTC/USDT:USDT")
    btc = iid(v, "BTC/USDT:USDT")
    v.parse(books_frame("snapshot", "BTCUSDT", [["100", "1"]], [["101", "1"]], 0, inst_type="USDT-FUTURES", seq=451275591390, pseq=0), RECV)
    cs = signed_crc("100:3:101:1")
    [b] = v.parse(books_frame("update", "BTCUSDT", [["100", "3"]], [], cs, inst_type="USDT-FUTURES", seq=451275591395, pseq=451275591390),
                  RECV).events
    assert isinstance(b, Book) and b.seq == 451275591395
    parsed = v.parse(books_frame("update", "BTCUSDT", [["100", "4"]], [], None, inst_type="USDT-FUTURES", seq=451275591399,
                                 pseq=451275591397), RECV)  # 451275591395 .. 451275591397 never came
    [status] = parsed.events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING
    assert status.reason == "BTCUSDT: sequence gap: pseq=451275591397 but last seq=451275591395"
    assert parsed.resyncs == (btc,)


def test_a_checksum_that_is_present_is_still_checked_next_to_seq() -> None:
    v = venue("spot", "BTC/USDT")
    v.parse(books_frame("snapshot", "BTCUSDT", [["100", "1"]], [["101", "1"]], 0, seq=1, pseq=0), RECV)
    parsed = v.parse(books_frame("update", "BTCUSDT", [["100", "2"]], [], signed_crc("100:1:101:1"), seq=2, pseq=1), RECV)
    assert parsed.resyncs and "checksum mismatch" in parsed.events[0].reason  # type: ignore[union-attr]


@pytest.mark.parametrize("kind,market,instrument", [("spot", "spot", "CULT/USDT"), ("mix", "perp", "DASH/USDT:USDT")])
def test_real_v1_books_snapshot_and_six_updates_all_pass_their_checksums(kind: str, market: str, instrument: str) -> None:
    v = venue(market, instrument)
    lines = sample_lines("bitget", f"v1_{kind}_books_snapshot") + sample_lines("bitget", f"v1_{kind}_books_update")
    parsed = [v.parse(line, RECV) for line in lines]
    events = [e for p in parsed for e in p.events]
    assert [type(e) for e in events] == [VenueStatus] + [Book] * 7  # UP once, then seven books
    books = events[1:]
    last = books[-1]
    assert isinstance(last, Book)
    if kind == "spot":
        assert last.bids[:2] == [(0.00003505, 285020.0), (0.00003504, 529739.0)]
        assert last.asks[:2] == [(0.0000353, 145214.0), (0.00003545, 20609328.0)]
        assert last.exchange_ts_ns == 1649290080450 * MS
    else:
        assert last.bids[:2] == [(113.46, 21.79), (113.45, 37.63)]
        assert last.asks[:2] == [(113.52, 10.54), (113.53, 0.51)]
        assert last.exchange_ts_ns == 1649290079276 * MS
    assert all(p.resyncs == () for p in parsed)


def test_v1_update_with_one_size_changed_fails_the_checksum() -> None:
    v = venue("perp", "DASH/USDT:USDT")
    v.parse(sample_lines("bitget", "v1_mix_books_snapshot")[0], RECV)
    tampered = sample_lines("bitget", "v1_mix_books_update")[0].replace('"4.96"', '"4.97"', 1)
    parsed = v.parse(tampered, RECV)
    [status] = parsed.events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING and status.market == PERP
    assert parsed.resyncs == (status.instrument,)


def test_crossed_book_after_update_is_resynced() -> None:
    v = venue("spot", "BTC/USDT")
    v.parse(books_frame("snapshot", "BTCUSDT", [["100", "1"]], [["101", "1"]], 0), RECV)
    checksum = signed_crc("102:1:101:1")
    [status] = v.parse(books_frame("update", "BTCUSDT", [["102", "1"], ["100", "0"]], [], checksum), RECV).events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING and "crossed" in status.reason


@pytest.mark.parametrize(
    "frame",
    [
        "garbage",
        '{"event":"error","code":30001,"msg":"instType:SPOT,channel:books,instId:NOPE doesn\'t exist"}',
        '{"action":"snapshot","arg":{"instType":"SPOT","channel":"books1","instId":"BTCUSDT"},"data":[{"asks":[["x","1"]],"bids":[["1","1"]],"ts":"1"}]}',
        '{"action":"snapshot","arg":{"instType":"SPOT","channel":"books1","instId":"BTCUSDT"},"data":[{"asks":[["2","1"]],"bids":[["-1","1"]],"ts":"1"}]}',
        '{"action":"snapshot","arg":{"instType":"SPOT","channel":"books1","instId":"BTCUSDT"},"data":{"asks":[]}}',
        '{"action":"snapshot","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[]}',
        '{"hello":1}',
    ],
)
def test_bad_frames_raise_frame_error(frame: str) -> None:
    with pytest.raises(FrameError):
        venue("spot", "BTC/USDT").parse(frame, RECV)


def test_crossed_books1_reaches_the_engine_to_be_refused() -> None:
    frame = '{"action":"snapshot","arg":{"instType":"SPOT","channel":"books1","instId":"BTCUSDT"},"data":[{"asks":[["1","1"]],"bids":[["2","1"]],"ts":"1"}]}'
    [q] = venue("spot", "BTC/USDT").parse(frame, RECV).events
    assert isinstance(q, Quote) and (q.bid, q.ask) == (2.0, 1.0)


def test_other_api_versions_without_v2_fields_produce_nothing() -> None:
    v = venue("perp", "DASH/USDT:USDT", "BTC/USDT:USDT")
    v3 = sample_lines("bitget", "v3_uta_futures_ticker") + sample_lines("bitget", "v3_uta_books") + sample_lines("bitget", "v3_uta_books1")
    for line in sample_lines("bitget", "v1_mix_ticker")[2:] + v3:
        assert v.parse(line, RECV) == NOTHING
