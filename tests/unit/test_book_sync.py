"""After a (re)connect, nothing trades on a venue's quotes until its depth book has synced."""

from __future__ import annotations

from arbsniper.model import RESYNCING, UP, VenueStatus
from arbsniper.venues.base import NOTHING
from arbsniper.venues.hyperliquid import Hyperliquid
from arbsniper.venues.okx import Okx
from tests.unit.enginekit import Harness


def test_quotes_wait_for_the_first_book_after_connecting() -> None:
    h = Harness()
    okx = Okx("spot", h.symbols, ["BTC/USDT"])
    events = [VenueStatus(okx.venue_id, UP, "connected", h.now, okx.kind), *okx.on_connected(h.now).events]
    assert [(e.state, e.instrument) for e in events[1:]] == [(RESYNCING, h.i["BTC/USDT"])]
    for ev in events:
        h.engine.on_event(ev)
    h.quote("binance", "BTC/USDT", bid=99_990, ask=100_000)
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)  # BBO before the book: not tradable yet
    assert h.signals == []
    h.engine.on_event(okx.synced(h.i["BTC/USDT"], h.now))  # the parser's word once the book is whole
    h.quote("okx", "BTC/USDT", bid=100_400, ask=100_410)
    assert h.last.event == "open"


def test_venues_without_book_sync_start_tradable() -> None:
    h = Harness(venue_names=("hyperliquid",), instrument_names=("BTC/USDC:USDC",))
    assert Hyperliquid("perp", h.symbols, ["BTC/USDC:USDC"]).on_connected(h.now) == NOTHING
