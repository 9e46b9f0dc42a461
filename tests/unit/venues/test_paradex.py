"""Paradex JSON: the control plane (acks, errors), and the channel payloads of recordings made before
the venue switched public channels to SBE (21 Sep 2026): every real sample parses to its numbers.
The SBE channel data is tested in ``test_paradex_sbe.py``."""

from __future__ import annotations

import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import PERP, RESYNCING, UP, Book, Funding, Quote, VenueStatus
from arbsniper.venues.base import NOTHING, FrameError
from arbsniper.venues.paradex import Paradex, listed_instruments, native_symbol, unified_instrument
from tests.unit.venues.samples import sample_lines

MS = 1_000_000
RECV = 1_700_000_000_000_000_000


def venue(*instruments: str) -> Paradex:
    return Paradex("perp", SymbolMap(), list(instruments))


def iid(v: Paradex, name: str) -> int:
    found = v.symbols.find_instrument(name)
    assert found is not None
    return found


def sub(channel: str, data: dict[str, object]) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}})


def book_msg(seq: int, kind: str, inserts: list[tuple[str, str, str]] = (), updates: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
             deletes: list[tuple[str, str, str]] = (), market: str = "BTC-USD-PERP") -> str:  # type: ignore[assignment]
    def lv(rows: list[tuple[str, str, str]]) -> list[dict[str, str]]:
        return [{"side": s, "price": p, "size": z} for s, p, z in rows]

    return sub(f"order_book.{market}.deltas", {"seq_no": seq, "market": market, "last_updated_at": 1718267837000 + seq,
                                              "update_type": kind, "inserts": lv(inserts), "updates": lv(updates), "deletes": lv(deletes)})


def test_markets_map_to_usd_quoted_usdc_settled_perpetuals() -> None:
    assert native_symbol("BTC/USD:USDC") == "BTC-USD-PERP"
    assert native_symbol("1000BONK/USD:USDC") == "kBONK-USD-PERP"
    assert unified_instrument("ETH-USD-PERP") == "ETH/USD:USDC"
    assert unified_instrument("kBONK-USD-PERP") == "1000BONK/USD:USDC"
    assert unified_instrument("ETH-USD") is None
    assert unified_instrument("BTC-USD-100000-C") is None
    assert listed_instruments("perp", ["BTC"]) == ["BTC/USD:USDC"]
    with pytest.raises(ValueError):
        native_symbol("BTC/USDT:USDT")


def test_subscribe_messages_follow_the_sample_request_with_one_channel_each() -> None:
    v = venue("BTC/USD:USDC")
    shape = json.loads(sample_lines("paradex", "subscribe_request")[0])
    msgs = [json.loads(m) for m in v.subscribe_messages()]
    assert all(set(m) == set(shape) and m["method"] == "subscribe" and m["jsonrpc"] == "2.0" for m in msgs)
    assert [m["params"]["channel"] for m in msgs] == ["bbo.BTC-USD-PERP", "order_book.BTC-USD-PERP.deltas", "markets_summary.BTC-USD-PERP"]
    assert len({m["id"] for m in msgs}) == 3
    assert v.heartbeat().mode == "server-ping"
    assert v.ws_url() == "wss://ws.api.prod.paradex.trade/v1?sbeSchemaId=1&sbeSchemaVersion=1"  # SBE, negotiated in the URL


def test_acks_and_auth_results_parse_to_nothing_and_errors_are_frame_errors() -> None:
    v = venue("BTC/USD:USDC")
    for line in sample_lines("paradex", "subscribe_ack") + sample_lines("paradex", "auth_response"):
        assert v.parse(line, RECV) == NOTHING
    for line in sample_lines("paradex", "error"):
        with pytest.raises(FrameError, match="venue error"):
            v.parse(line, RECV)


def test_bbo_gives_a_quote_with_the_sequence_number() -> None:
    v = venue("BTC/USD:USDC")
    frame = sub("bbo.BTC-USD-PERP", {"market": "BTC-USD-PERP", "seq_no": 20784, "ask": "30130.15", "ask_size": "0.05",
                                     "bid": "30112.22", "bid_size": "0.04", "last_updated_at": 1681493939981})
    [q] = v.parse(frame, RECV).events
    assert q == Quote(v.venue_id, iid(v, "BTC/USD:USDC"), 30112.22, 0.04, 30130.15, 0.05, 1681493939981 * MS, RECV, 20784)


def test_order_book_snapshot_sample_parses_to_its_levels_and_marks_the_book_up() -> None:
    v = venue("BTC/USD:USDC")
    btc = iid(v, "BTC/USD:USDC")
    up, book = v.parse(sample_lines("paradex", "order_book")[0], RECV).events
    assert up == VenueStatus(v.venue_id, UP, "book synced", RECV, PERP, btc)
    assert book == Book(v.venue_id, btc, [(67629.7, 0.992)], [(69378.6, 3.137)], 1718267837265 * MS, RECV, 14127815)
    # The snapshot feed sends "s" every time: later snapshots replace the book without a new UP.
    [again] = v.parse(sample_lines("paradex", "order_book")[0].replace('"67629.7"', '"67630.1"'), RECV).events
    assert isinstance(again, Book) and again.bids == [(67630.1, 0.992)]


def test_deltas_insert_update_and_delete_levels_in_sequence() -> None:
    v = venue("BTC/USD:USDC")
    v.parse(book_msg(10, "s", inserts=[("BUY", "100", "1"), ("BUY", "99", "2"), ("SELL", "101", "3")]), RECV)
    [b11] = v.parse(book_msg(11, "d", inserts=[("SELL", "102", "4")], updates=[("BUY", "100", "1.5")], deletes=[("BUY", "99", "2")]), RECV).events
    assert isinstance(b11, Book) and b11.seq == 11
    assert b11.bids == [(100.0, 1.5)] and b11.asks == [(101.0, 3.0), (102.0, 4.0)]
    [b12] = v.parse(book_msg(12, "d"), RECV).events  # an empty delta still advances the sequence
    assert isinstance(b12, Book) and b12.seq == 12


def test_sequence_gap_invalidates_and_resubscribes_then_a_new_snapshot_brings_it_back() -> None:
    v = venue("BTC/USD:USDC")
    btc = iid(v, "BTC/USD:USDC")
    v.parse(book_msg(10, "s", inserts=[("BUY", "100", "1"), ("SELL", "101", "3")]), RECV)
    parsed = v.parse(book_msg(12, "d", updates=[("BUY", "100", "2")]), RECV)
    [status] = parsed.events
    assert status == VenueStatus(v.venue_id, RESYNCING, "BTC-USD-PERP: sequence gap: expected 11, got 12", RECV, PERP, btc)
    assert parsed.resyncs == (btc,)
    unsub, resub = (json.loads(m) for m in v.resubscribe_messages(btc))
    assert set(unsub) == set(json.loads(sample_lines("paradex", "unsubscribe_request")[0]))
    assert (unsub["method"], unsub["params"]) == ("unsubscribe", {"channel": "order_book.BTC-USD-PERP.deltas"})
    assert (resub["method"], resub["params"]) == ("subscribe", {"channel": "order_book.BTC-USD-PERP.deltas"})
    assert v.parse(book_msg(13, "d", updates=[("BUY", "100", "5")]), RECV) == NOTHING  # ignored until the new book
    up, book = v.parse(book_msg(20, "s", inserts=[("BUY", "100", "7"), ("SELL", "101", "1")]), RECV).events
    assert up.state == UP and isinstance(book, Book) and book.bids == [(100.0, 7.0)]


@pytest.mark.parametrize(
    "frame",
    [
        "{{not json",
        '{"unexpected":[1,2,3]}',
        sub("bbo.BTC-USD-PERP", {"market": "BTC-USD-PERP", "seq_no": 1, "ask": "2", "ask_size": "1", "bid": "oops", "bid_size": "1"}),
        sub("order_book.BTC-USD-PERP.deltas", {"market": "BTC-USD-PERP", "seq_no": 1, "update_type": "x"}),
        sub("order_book.BTC-USD-PERP.deltas", {"market": "BTC-USD-PERP", "seq_no": 1, "update_type": "s",
                                                "inserts": [{"side": "HOLD", "price": "1", "size": "1"}]}),
        sub("mystery.BTC-USD-PERP", {}),
    ],
)
def test_bad_frames_raise_frame_error(frame: str) -> None:
    with pytest.raises(FrameError):
        venue("BTC/USD:USDC").parse(frame, RECV)


def test_crossed_bbo_reaches_the_engine_to_be_refused() -> None:
    frame = sub("bbo.BTC-USD-PERP", {"market": "BTC-USD-PERP", "seq_no": 1, "ask": "1", "ask_size": "1", "bid": "2", "bid_size": "1"})
    [q] = venue("BTC/USD:USDC").parse(frame, RECV).events
    assert isinstance(q, Quote) and (q.bid, q.ask) == (2.0, 1.0)


def test_crossed_snapshot_invalidates_the_book() -> None:
    v = venue("BTC/USD:USDC")
    [status] = v.parse(book_msg(5, "s", inserts=[("BUY", "102", "1"), ("SELL", "101", "1")]), RECV).events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING and "crossed" in status.reason


def test_markets_summary_sample_gives_funding_for_the_8h_period() -> None:
    v = venue("ORDI/USD:USDC")
    [f] = v.parse(sample_lines("paradex", "markets_summary")[0], RECV).events
    assert f == Funding(v.venue_id, iid(v, "ORDI/USD:USDC"), 0.03919997509811, 8.0, 0, 1718334307698 * MS, RECV)


def test_funding_data_sample_gives_funding_and_sets_the_period_for_summaries() -> None:
    v = venue("TRUMP/USD:USDC")
    trump = iid(v, "TRUMP/USD:USDC")
    [f] = v.parse(sample_lines("paradex", "funding_data")[0], RECV).events
    assert f == Funding(v.venue_id, trump, -0.00014969570582, 8.0, 0, 1771506636154 * MS, RECV)
    four_hours = sample_lines("paradex", "funding_data")[0].replace('"funding_period_hours":8', '"funding_period_hours":4')
    v.parse(four_hours, RECV)
    [s] = v.parse(sub("markets_summary.TRUMP-USD-PERP", {"symbol": "TRUMP-USD-PERP", "funding_rate": "0.0001", "created_at": 5}), RECV).events
    assert isinstance(s, Funding) and (s.rate, s.interval_hours) == (0.0001, 4.0)


def test_trades_sample_is_not_market_state() -> None:
    assert Paradex("perp", SymbolMap()).parse(sample_lines("paradex", "trades")[0], RECV) == NOTHING


def test_open_mode_maps_k_markets_to_1000_units() -> None:
    v = Paradex("perp", SymbolMap())
    [q] = v.parse(sub("bbo.kBONK-USD-PERP", {"market": "kBONK-USD-PERP", "seq_no": 3, "ask": "0.0288", "ask_size": "100",
                                             "bid": "0.0287", "bid_size": "50", "last_updated_at": 1}), RECV).events
    assert isinstance(q, Quote) and v.symbols.instrument_name(q.instrument) == "1000BONK/USD:USDC"
