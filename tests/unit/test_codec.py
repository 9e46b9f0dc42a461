"""The ZeroMQ wire format: exact round trips, process-local ids, versioning, topics and shards."""

from __future__ import annotations

import msgspec
import pytest

from arbsniper.bus.codec import (
    BROADCAST_TOPIC,
    BUCKETS,
    WIRE_VERSION,
    Decoder,
    Encoder,
    WireError,
    bucket_of,
    shard_of,
    shard_prefixes,
    topic_for,
)
from arbsniper.instruments import SymbolMap
from arbsniper.model import ANY, DOWN, PERP, RESYNCING, Book, Funding, Quote, VenueStatus

T0 = 1_800_000_000_000_000_000  # ns: needs 64 bits, as every real timestamp does


def ingest_side() -> tuple[SymbolMap, Encoder]:
    s = SymbolMap()
    s.venue_id("okx")  # 0
    s.venue_id("binance")  # 1
    s.instrument_id("ETH/USDT")  # 0
    s.instrument_id("BTC/USDT")  # 1
    s.instrument_id("BTC/USDT:USDT")  # 2
    return s, Encoder(s)


def engine_side() -> tuple[SymbolMap, Decoder, list[int]]:
    s = SymbolMap()
    s.venue_id("binance")  # 0 here, 1 on the ingest
    s.instrument_id("BTC/USDT")  # 0 here, 1 on the ingest
    grown: list[int] = []
    return s, Decoder(s, on_new_ids=lambda: grown.append(1)), grown


def test_quote_round_trip_keeps_every_value_and_maps_names_to_the_engines_own_ids():
    _, enc = ingest_side()
    _, dec, grown = engine_side()
    q = Quote(1, 1, 97_000.5, 0.25, 97_001.0, 1.5, T0 + 7, T0 + 900, 42)
    topic, payload = enc.encode(q, T0 + 1000)
    ev, sent_ns = dec.decode(topic, payload)
    assert ev == Quote(0, 0, 97_000.5, 0.25, 97_001.0, 1.5, T0 + 7, T0 + 900, 42)
    assert sent_ns == T0 + 1000
    assert grown == []  # both names were already known to the engine


def test_quote_payload_is_80_bytes():
    # 1 version byte + msgpack: array header 1, tag 1, "binance" 1+7, 4 float64 × 9, two 64-bit
    # timestamps × 9, seq 42 in 1, epoch (uint32) 5, sent_ns 9  =  1 + 1 + 1 + 8 + 36 + 18 + 1 + 5 + 9 = 80.
    _, enc = ingest_side()
    _, payload = enc.encode(Quote(1, 1, 97_000.5, 0.25, 97_001.0, 1.5, T0, T0, 42), T0)
    assert payload[0] == WIRE_VERSION
    assert len(payload) == 80


def test_book_funding_and_status_round_trip():
    _, enc = ingest_side()
    s, dec, grown = engine_side()
    book = Book(0, 2, [(97_000.0, 1.0), (96_999.5, 2.0)], [(97_001.0, 0.5)], T0, T0 + 5, 9)
    ev, _ = dec.decode(*enc.encode(book, T0 + 6))
    okx, perp = s.find_venue("okx"), s.find_instrument("BTC/USDT:USDT")
    assert (okx, perp) == (1, 1)  # new names, interned in the engine's own order
    assert grown  # the engine was told to grow its arrays
    assert ev == Book(okx, perp, [(97_000.0, 1.0), (96_999.5, 2.0)], [(97_001.0, 0.5)], T0, T0 + 5, 9)

    fund = Funding(0, 2, 0.0001, 8.0, T0 + 3_600_000_000_000, T0, T0 + 5)
    ev, _ = dec.decode(*enc.encode(fund, T0 + 6))
    assert ev == Funding(okx, perp, 0.0001, 8.0, T0 + 3_600_000_000_000, T0, T0 + 5)

    st = VenueStatus(1, DOWN, "heartbeat timeout", T0, PERP, ANY)
    topic, payload = enc.encode(st, T0 + 1)
    assert topic == BROADCAST_TOPIC  # a whole-connection status goes to every shard
    ev, _ = dec.decode(topic, payload)
    assert ev == VenueStatus(0, DOWN, "heartbeat timeout", T0, PERP, ANY)

    one = VenueStatus(0, RESYNCING, "sequence gap", T0, PERP, 2)
    topic, payload = enc.encode(one, T0 + 1)
    assert topic == topic_for("BTC/USDT:USDT")  # one book's status goes where its instrument goes
    ev, _ = dec.decode(topic, payload)
    assert ev == VenueStatus(okx, RESYNCING, "sequence gap", T0, PERP, perp)


def test_payload_of_another_wire_version_is_rejected():
    _, enc = ingest_side()
    _, dec, _ = engine_side()
    topic, payload = enc.encode(Quote(1, 1, 1.0, 1.0, 2.0, 1.0, T0, T0, 1), T0)
    with pytest.raises(WireError, match="wire version 1"):  # version 1 had no ingest epoch
        dec.decode(topic, bytes([1]) + payload[1:])


@pytest.mark.parametrize("payload", [b"", b"\x02", b"\x02\x93\x01\xa1x", b"\x02not msgpack at all",
                                     b"\x02" + msgspec.msgpack.encode([9, "binance", 1.0])])
def test_malformed_payloads_raise_wire_error(payload):
    _, dec, _ = engine_side()
    with pytest.raises(WireError):
        dec.decode(topic_for("BTC/USDT"), payload)


@pytest.mark.parametrize("topic", [b"zz|BTC/USDT|", b"BTC/USDT", b"00|btc/usdt|", b"00|BTC/USDT|x"])
def test_malformed_or_mislabelled_topics_raise_wire_error(topic):
    _, enc = ingest_side()
    _, dec, _ = engine_side()
    _, payload = enc.encode(Quote(1, 1, 1.0, 1.0, 2.0, 1.0, T0, T0, 1), T0)
    with pytest.raises(WireError):
        dec.decode(topic, payload)


def test_quote_on_the_broadcast_topic_is_rejected():
    _, enc = ingest_side()
    _, dec, _ = engine_side()
    _, payload = enc.encode(Quote(1, 1, 1.0, 1.0, 2.0, 1.0, T0, T0, 1), T0)
    with pytest.raises(WireError, match="broadcast"):
        dec.decode(BROADCAST_TOPIC, payload)


def test_decoder_refuses_instruments_it_does_not_accept():
    _, enc = ingest_side()
    s = SymbolMap()
    dec = Decoder(s, accept=lambda name: name == "ETH/USDT")
    _, payload = enc.encode(Quote(1, 1, 1.0, 1.0, 2.0, 1.0, T0, T0, 1), T0)
    with pytest.raises(WireError, match="not handled here"):
        dec.decode(topic_for("BTC/USDT"), payload)
    assert s.find_instrument("BTC/USDT") is None


def test_topic_of_an_instrument_is_never_a_prefix_of_another():
    # ZeroMQ subscriptions are prefix matches: BTC/USD must not receive BTC/USDT's events.
    names = ["BTC/USD", "BTC/USDT", "BTC/USDT:USDT", "BTC/USD:USDC", "ETH/USDT"]
    for a in names:
        for b in names:
            if a != b:
                assert not topic_for(b).startswith(topic_for(a)), (a, b)


def test_instruments_compared_with_each_other_share_a_shard():
    # Same base and kind = compared through a conversion rate: they must live on one engine.
    for n in range(1, 17):
        assert shard_of("BTC/USD", n) == shard_of("BTC/USDT", n) == shard_of("BTC/USDC", n)
        assert shard_of("ETH/USDT:USDT", n) == shard_of("ETH/USD:USDC", n)
    assert bucket_of("BTC/USDT") == int(topic_for("BTC/USDT")[:2], 16)


def test_shard_prefixes_split_the_buckets_without_overlap():
    parts = [set(shard_prefixes(k, 3)) for k in range(3)]
    assert [len(p) for p in parts] == [86, 85, 85]  # 256 = 86 + 85 + 85
    assert len(parts[0] | parts[1] | parts[2]) == BUCKETS
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert topic_for("BTC/USDT")[:3] in parts[shard_of("BTC/USDT", 3)]
    with pytest.raises(ValueError):
        shard_prefixes(2, 2)
