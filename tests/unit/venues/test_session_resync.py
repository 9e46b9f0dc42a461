"""The session acts on what a REST snapshot's ``Parsed`` asks for: a snapshot too old is fetched again."""

from __future__ import annotations

import asyncio
import json

from arbsniper.instruments import SymbolMap
from arbsniper.model import RESYNCING, UP, MarketEvent, VenueStatus
from arbsniper.venues.base import RestRequest
from arbsniper.venues.binance import Binance
from arbsniper.venues.session import VenueSession


def depth(first: int, last: int) -> bytes:
    return json.dumps({"stream": "btcusdt@depth@100ms", "data": {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": first, "u": last,
                                                                 "b": [["100", "1"]], "a": [["101", "1"]]}}).encode()


def snapshot(last_update_id: int) -> bytes:
    return json.dumps({"lastUpdateId": last_update_id, "bids": [["99", "1"]], "asks": [["102", "1"]]}).encode()


async def test_snapshot_older_than_the_buffered_deltas_is_fetched_again_until_it_fits() -> None:
    venue = Binance("spot", SymbolMap(), ["BTC/USDT"])
    session = VenueSession(venue)
    events: list[MarketEvent] = []
    session._sink = events.append
    answers = [snapshot(40), snapshot(50)]  # the first predates the buffered delta 50..51
    fetched: list[str] = []

    async def fetch(request: RestRequest) -> bytes:
        fetched.append(request.url)
        return answers.pop(0)

    session._fetch = fetch  # type: ignore[method-assign]
    session.on_data(depth(50, 51), 1)  # no book yet: buffered, a snapshot asked for
    for _ in range(300):  # the second fetch waits out the one-per-second limit
        if len(fetched) == 2 and not session._tasks:
            break
        await asyncio.sleep(0.01)
    assert fetched == ["https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000"] * 2
    statuses = [(e.state, e.reason) for e in events if isinstance(e, VenueStatus)]
    assert statuses == [(RESYNCING, "awaiting snapshot"), (RESYNCING, "snapshot 40 older than buffered U=50"), (UP, "book synced")]
    assert venue.books[venue.symbols.instrument_id("BTC/USDT")].seq == 51
