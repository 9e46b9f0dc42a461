"""Defect 8: an engine must not refuse a restarted ingest's quotes as out of order.

A restarted ingest (or a reconnected venue) numbers its quotes from 1 again; before the fix the
engine kept the old run's last sequence number per slot and refused everything below it.
"""

from __future__ import annotations

import time

from arbsniper.bus.codec import Encoder
from arbsniper.config import load_config
from arbsniper.instruments import SymbolMap
from arbsniper.model import ANY, UP, Quote, VenueStatus
from arbsniper.services.engine import EngineService


def ingest_run() -> tuple[Encoder, int, int]:
    """A fresh ingest process: its own symbol map and its own epoch."""
    symbols = SymbolMap()
    return Encoder(symbols), symbols.venue_id("binance"), symbols.instrument_id("BTC/USDT")


def send(service: EngineService, enc: Encoder, v: int, i: int, seq: int, bid: float) -> None:
    now = time.time_ns()
    topic, payload = enc.encode(Quote(v, i, bid, 1.0, bid + 1.0, 1.0, 0, now, seq), now)
    service.on_message(topic, payload, now)


def engine() -> EngineService:
    return EngineService(load_config(environ={}), connect=["tcp://127.0.0.1:1"], redis_url="redis://127.0.0.1:1/0",
                         http=None)


def test_a_restarted_ingest_counting_from_one_again_is_not_out_of_order():
    service = engine()
    old, v, i = ingest_run()
    for seq in range(1, 201):
        send(service, old, v, i, seq, 100.0)
    st = service.engine.state
    assert st.out_of_order == 0
    new, v2, i2 = ingest_run()
    assert new.epoch != old.epoch
    for seq in range(1, 4):
        send(service, new, v2, i2, seq, 101.0 + seq)
    iid = service.symbols.instrument_id("BTC/USDT")
    vid = service.symbols.venue_id("binance")
    assert st.out_of_order == 0
    assert st.bid[iid][vid] == 104.0 and st.seq[iid][vid] == 3
    assert service.decoder.new_epochs == 1


def test_within_one_ingest_run_an_older_sequence_number_is_still_refused():
    service = engine()
    enc, v, i = ingest_run()
    send(service, enc, v, i, 10, 100.0)
    send(service, enc, v, i, 9, 99.0)
    st = service.engine.state
    assert st.out_of_order == 1
    assert st.bid[service.symbols.instrument_id("BTC/USDT")][service.symbols.venue_id("binance")] == 100.0


def test_a_venue_that_reconnects_orders_its_quotes_afresh():
    service = engine()
    enc, v, i = ingest_run()
    send(service, enc, v, i, 500, 100.0)
    now = time.time_ns()
    topic, payload = enc.encode(VenueStatus(v, UP, "connected", now, ANY, ANY), now)
    service.on_message(topic, payload, now)  # the session's new connection
    send(service, enc, v, i, 1, 101.0)
    st = service.engine.state
    assert st.out_of_order == 0
    assert st.bid[service.symbols.instrument_id("BTC/USDT")][service.symbols.venue_id("binance")] == 101.0
