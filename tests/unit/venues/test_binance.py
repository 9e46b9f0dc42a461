"""Binance parser on the real samples: numbers as sent, spot and USD-M book rules, acks, errors."""

from __future__ import annotations

import io
import json

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import RESYNCING, UP, Book, Funding, Quote, VenueStatus
from arbsniper.parse import parse_stream
from arbsniper.venues.base import NOTHING, FrameError, Parsed
from arbsniper.venues.binance import Binance
from arbsniper.venues.metadata import TRADING, InstrumentMeta
from tests.conftest import FIXTURES
from tests.unit.venues.samples import sample_lines

RECV = 1_700_000_000_000_000_000


def _open(market: str) -> Binance:
    return Binance(market, SymbolMap())


def test_spot_book_ticker_sample_parses_to_its_numbers() -> None:
    v = _open("spot")
    [q] = v.parse(sample_lines("binance", "spot_bookTicker")[0], RECV).events
    assert isinstance(q, Quote)
    assert v.symbols.instrument_name(q.instrument) == "NKN/USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.seq) == (0.3521, 672.0, 0.3526, 3199.0, 499869768)
    assert q.exchange_ts_ns == RECV  # spot bookTicker has no time of its own
    [q] = v.parse(sample_lines("binance", "spot_bookTicker")[4], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BLZ/ETH"
    assert (q.bid, q.ask) == (0.00006547, 0.0000656)


def test_usdm_book_ticker_sample_maps_to_linear_perp_with_event_time() -> None:
    v = _open("perp")
    [q] = v.parse(sample_lines("binance", "futures_bookTicker")[4], RECV).events
    assert v.symbols.instrument_name(q.instrument) == "BTC/USDT:USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size) == (33134.42, 0.17, 33139.39, 0.38)
    assert q.exchange_ts_ns == 1612137603571 * 1_000_000
    assert q.seq == 185130926750


def test_mark_price_samples_give_funding_rate_and_next_time_interval_unknown_without_metadata() -> None:
    v = _open("perp")
    out = [v.parse(line, RECV).events for line in sample_lines("binance", "futures_markPrice")]
    rates = [(f.rate, f.next_funding_ts_ns // 1_000_000, f.interval_hours) for [f] in out if isinstance(f, Funding)]
    # markPrice carries no interval: without the listing it is unknown (0), which the engine ignores
    assert rates == [(0.0001, 1569916800000, 0.0), (0.0001564, 1597564800000, 0.0), (0.00038167, 1562306400000, 0.0)]


def test_mark_price_takes_the_funding_interval_from_metadata() -> None:
    meta = InstrumentMeta(venue="binance", market="perp", native_symbol="BTCUSDT", instrument="BTC/USDT:USDT", status=TRADING,
                          funding_interval_hours=4.0)
    v = Binance("perp", SymbolMap(), [meta])
    [f] = v.parse(sample_lines("binance", "futures_markPrice")[0], RECV).events
    assert isinstance(f, Funding) and (f.rate, f.interval_hours) == (0.0001, 4.0)


def test_spot_depth_snapshot_plus_diffs_follow_spot_rules() -> None:
    v = _open("spot")
    diffs = sample_lines("binance", "spot_depth_diff")
    first = v.parse(diffs[0], RECV)  # first event: no book yet -> buffered, snapshot requested
    [status] = first.events
    assert isinstance(status, VenueStatus) and status.state == RESYNCING
    iid = status.instrument
    assert first.resyncs == (iid,)
    assert v.snapshot_path(iid) == "/api/v3/depth?symbol=NKNUSDT&limit=1000"
    for line in diffs[1:3]:
        assert v.parse(line, RECV) == NOTHING  # still buffering, the snapshot already asked for
    snapshot = sample_lines("binance", "spot_depth_snapshot_rest")[0]
    applied = v.apply_snapshot(iid, snapshot, RECV)
    assert applied.resyncs == ()
    synced, book = applied.events
    assert isinstance(synced, VenueStatus) and synced.state == UP
    assert isinstance(book, Book)
    # snapshot 499869752: event 1 (u=752) dropped, events 2-3 replayed from the buffer
    assert v.books[iid].seq == 499869757
    for line in diffs[3:]:
        parsed = v.parse(line, RECV)
        assert parsed.resyncs == ()
        [b] = parsed.events
        assert isinstance(b, Book)
    lb = v.books[iid]
    assert lb.seq == 499869775
    assert b.bids[0] == (0.3521, 672.0) and b.asks[0] == (0.3525, 1123.0)  # = bookTicker u=499869769
    bids = dict(b.bids)
    assert bids[0.352] == 1290.0 and bids[0.3518] == 3631.0 and bids[0.3517] == 4265.0
    assert 0.3534 not in dict(lb.top_asks(1000)) and 0.3543 not in dict(lb.top_asks(1000))


def test_usdm_depth_snapshot_plus_diffs_follow_pu_chain() -> None:
    v = _open("perp")
    diffs = sample_lines("binance", "futures_depth_diff")
    [status] = v.parse(diffs[0], RECV).events
    iid = status.instrument
    for line in diffs[1:4]:
        v.parse(line, RECV)
    synced, _ = v.apply_snapshot(iid, sample_lines("binance", "futures_depth_snapshot_rest")[0], RECV).events
    assert synced.state == UP
    assert v.books[iid].seq == 600859607423  # event 4 (U = lastUpdateId) applied, 1-3 dropped
    for line in diffs[4:]:
        [b] = v.parse(line, RECV).events
    assert v.books[iid].seq == 600859624129
    assert b.bids[0] == (7.611, 6.0) and b.asks[0] == (7.612, 297.0)
    asks, bids = dict(b.asks), dict(b.bids)
    assert asks[7.615] == 1502.0 and asks[7.616] == 3209.0 and bids[7.608] == 237.0
    assert b.exchange_ts_ns == 1626992742273 * 1_000_000


def test_spot_depth_gap_drops_book_and_requests_resync() -> None:
    v = _open("spot")
    diffs = sample_lines("binance", "spot_depth_diff")
    [status] = v.parse(diffs[0], RECV).events
    iid = status.instrument
    v.apply_snapshot(iid, sample_lines("binance", "spot_depth_snapshot_rest")[0], RECV)
    v.parse(diffs[1], RECV)
    parsed = v.parse(diffs[3], RECV)  # diffs[2] (U=755..757) never arrived
    [gap] = parsed.events
    assert isinstance(gap, VenueStatus) and gap.state == RESYNCING and "gap" in gap.reason
    assert gap.instrument == iid and not v.books[iid].valid
    assert parsed.resyncs == (iid,)


def test_usdm_pu_mismatch_drops_book() -> None:
    v = _open("perp")
    diffs = sample_lines("binance", "futures_depth_diff")
    iid = v.parse(diffs[0], RECV).events[0].instrument
    v.apply_snapshot(iid, sample_lines("binance", "futures_depth_snapshot_rest")[0], RECV)
    v.parse(diffs[3], RECV)
    parsed = v.parse(diffs[5], RECV)  # pu=600859609417 but last u=600859607423
    [gap] = parsed.events
    assert gap.state == RESYNCING and "pu=600859609417" in gap.reason
    assert parsed.resyncs == (iid,)


def test_ack_is_nothing_and_server_shutdown_asks_for_a_reconnect() -> None:
    v = _open("spot")
    assert v.parse(sample_lines("binance", "subscribe_ack")[0], RECV) == NOTHING
    for line in sample_lines("binance", "spot_serverShutdown"):
        assert v.parse(line, RECV) == Parsed(reconnect="server shutdown announced")


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"code": 2, "msg": "Invalid request: unknown variable", "id": 3}',
        '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"abc","B":"1","a":"100","A":"1"}}',
        '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"-1","B":"1","a":"100","A":"1"}}',
        '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","B":"1","a":"100","A":"1"}}',
        '{"hello": 1}',
    ],
    ids=["not-json", "venue-error", "non-numeric", "negative", "missing-bid", "unknown-shape"],
)
def test_bad_frames_raise_frame_error(frame: str) -> None:
    with pytest.raises(FrameError):
        _open("spot").parse(frame, RECV)


def test_crossed_quote_reaches_the_engine_to_be_refused() -> None:
    frame = '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"101","B":"1","a":"100","A":"1"}}'
    [q] = _open("spot").parse(frame, RECV).events
    assert isinstance(q, Quote) and (q.bid, q.ask) == (101.0, 100.0)


def test_usdm_subscribes_book_ticker_and_depth_on_the_public_tier() -> None:
    v = Binance("perp", SymbolMap(), ["BTC/USDT:USDT", "ETH/USDT:USDT"], base_url="ws://h:1/{market}")
    assert v.ws_url() == "ws://h:1/perp/public/stream"  # since 2026-04-23 the unrouted /stream has no /market data
    [msg] = v.subscribe_messages()
    assert msg == '{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@depth@100ms","ethusdt@bookTicker","ethusdt@depth@100ms"],"id":1}'
    # symbols not subscribed are ignored, not errors
    assert v.parse(sample_lines("binance", "futures_bookTicker")[0], RECV) == NOTHING
    assert Binance("spot", SymbolMap(), ["BTC/USDT"], base_url="ws://h:1/{market}").ws_url() == "ws://h:1/spot/stream"


def test_subscribe_batches_stay_within_100_streams_and_4000_bytes() -> None:
    insts = [f"C{i:03d}/USDT" for i in range(300)]  # 600 streams
    msgs = Binance("spot", SymbolMap(), insts).subscribe_messages()
    assert [len(json.loads(m)["params"]) for m in msgs] == [100] * 6
    assert [json.loads(m)["id"] for m in msgs] == [1, 2, 3, 4, 5, 6]
    long = [f"LONGBASENAME{i:03d}/USDT" for i in range(100)]  # 31-character streams: bytes bind before the count
    msgs = Binance("spot", SymbolMap(), long).subscribe_messages()
    assert all(len(m.encode()) <= 4000 for m in msgs) and len(msgs) == 2
    assert sum(len(json.loads(m)["params"]) for m in msgs) == 200


def _unwrap(line: str) -> str:
    doc = json.loads(line)
    return json.dumps(doc["data"], separators=(",", ":")) if "stream" in doc else line


def _wrap(line: str) -> str:
    doc = json.loads(line)
    if "stream" in doc:
        return line
    return json.dumps({"stream": f"{doc.get('s', '').lower()}@bookTicker", "data": doc}, separators=(",", ":"))


@pytest.mark.parametrize(
    ("name", "market"),
    [("spot_bookTicker", "spot"), ("futures_bookTicker", "perp"), ("futures_markPrice", "perp"), ("spot_serverShutdown", "spot")],
)
def test_raw_and_wrapped_stream_payloads_parse_alike(name: str, market: str) -> None:
    lines = sample_lines("binance", name)
    wrapped = [_open(market).parse(_wrap(line) if name.endswith("bookTicker") else line, RECV) for line in lines]
    raw = [_open(market).parse(_unwrap(line), RECV) for line in lines]
    assert raw == wrapped and any(p.events or p.reconnect for p in raw)


@pytest.mark.parametrize("market", ["spot", "perp"])
def test_raw_and_wrapped_depth_streams_build_the_same_book(market: str) -> None:
    prefix = "spot" if market == "spot" else "futures"
    diffs = sample_lines("binance", f"{prefix}_depth_diff")
    snapshot = sample_lines("binance", f"{prefix}_depth_snapshot_rest")[0]
    out = []
    for form in (lambda x: x, _unwrap):
        v = _open(market)
        iid = v.parse(form(diffs[0]), RECV).events[0].instrument
        results = [v.parse(form(line), RECV) for line in diffs[1:4]]
        results.append(v.apply_snapshot(iid, snapshot, RECV))
        results += [v.parse(form(line), RECV) for line in diffs[4:]]
        out.append(results)
    assert out[0] == out[1]
    assert isinstance(out[1][-1].events[-1], Book)


def test_a_raw_spot_book_ticker_without_event_type_is_a_quote() -> None:
    frame = '{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}'
    v = _open("spot")
    [q] = v.parse(frame, RECV).events
    assert isinstance(q, Quote) and v.symbols.instrument_name(q.instrument) == "BNB/USDT"
    assert (q.bid, q.bid_size, q.ask, q.ask_size, q.seq) == (25.3519, 31.21, 25.3652, 40.66, 400900217)


def test_parse_tool_accepts_raw_stream_frames() -> None:
    lines = [_unwrap(line) for line in sample_lines("binance", "spot_bookTicker")]
    out, err = io.StringIO(), io.StringIO()
    frames, events, bad = parse_stream("binance", "spot", lines, out, err)
    assert (frames, events, bad) == (6, 6, 0), err.getvalue()
    first = json.loads(out.getvalue().splitlines()[0])
    assert (first["kind"], first["instrument"], first["bid"], first["bid_size"]) == ("quote", "NKN/USDT", 0.3521, 672.0)


def test_too_many_subscriptions_reply_is_a_venue_error() -> None:
    with pytest.raises(FrameError, match="Too many subscriptions"):
        _open("spot").parse('{"error":{"code":4,"msg":"Too many subscriptions"},"id":19}', RECV)


def test_metadata_names_the_instrument_and_its_unit_sizes_pass_as_base_units() -> None:
    meta = InstrumentMeta(venue="binance", market="perp", native_symbol="1000PEPEUSDT", instrument="1000PEPE/USDT:USDT",
                          status=TRADING, contract_size=1.0)
    v = Binance("perp", SymbolMap(), metadata=[meta])  # open mode with the listing (parse, replay)
    frame = '{"e":"bookTicker","u":7,"s":"1000PEPEUSDT","b":"0.0123","B":"1500","a":"0.0124","A":"2500","T":1,"E":2}'
    [q] = v.parse(frame, RECV).events
    assert v.symbols.instrument_name(q.instrument) == "1000PEPE/USDT:USDT" and (q.bid_size, q.ask_size) == (1500.0, 2500.0)


def test_sizes_follow_a_listing_whose_unit_is_not_one_base_unit() -> None:
    # Binance lists every size in base units (contract_size 1); a record saying otherwise is obeyed
    meta = InstrumentMeta(venue="binance", market="spot", native_symbol="NKNUSDT", instrument="NKN/USDT", status=TRADING,
                          contract_size=0.5)
    v = Binance("spot", SymbolMap(), [meta])
    [q] = v.parse(sample_lines("binance", "spot_bookTicker")[0], RECV).events
    assert (q.bid_size, q.ask_size) == (336.0, 1599.5)  # 672 and 3199 units of 0.5
    diffs = sample_lines("binance", "spot_depth_diff")
    iid = v.parse(diffs[0], RECV).events[0].instrument
    _, book = v.apply_snapshot(iid, sample_lines("binance", "spot_depth_snapshot_rest")[0], RECV).events
    assert isinstance(book, Book) and book.bids[0] == (0.3521, 336.0)  # snapshot ["0.35210000","672.00000000"]


def test_usdm_funding_comes_from_the_polled_premium_index() -> None:
    meta = InstrumentMeta(venue="binance", market="perp", native_symbol="BTCUSDT", instrument="BTC/USDT:USDT", status=TRADING,
                          funding_interval_hours=8.0)
    v = Binance("perp", SymbolMap(), [meta], rest_url="http://h:2/{market}")
    [req] = v.poll_requests()
    assert (req.method, req.url, v.poll_interval_s) == ("GET", "http://h:2/perp/fapi/v1/premiumIndex", 30.0)
    body = (FIXTURES / "binance" / "rest_premiumIndex.json").read_bytes()
    [f] = v.on_poll(req, body, RECV).events
    assert isinstance(f, Funding) and v.symbols.instrument_name(f.instrument) == "BTC/USDT:USDT"
    assert (f.rate, f.interval_hours, f.next_funding_ts_ns, f.exchange_ts_ns) == (
        0.00038246, 8.0, 1597392000000 * 1_000_000, 1597370495002 * 1_000_000)
    rows = b'[{"symbol":"ETHUSDT","lastFundingRate":"0.0001","nextFundingTime":1,"time":1},' + body + b"]"
    assert len(v.on_poll(req, rows, RECV).events) == 1  # ETHUSDT is not subscribed here
    with pytest.raises(FrameError, match="premiumIndex"):
        v.on_poll(req, b'{"code":-1}', RECV)
