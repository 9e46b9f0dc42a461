"""A venue that cannot be reached is said so, and its quotes never count."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from arbsniper.instruments import SymbolMap
from arbsniper.model import MarketEvent
from arbsniper.venues.binance import Binance
from arbsniper.venues.session import ReconnectPolicy, VenueSession


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket closes


async def test_unreachable_venue_is_logged_and_retried_with_back_off(caplog: pytest.LogCaptureFixture) -> None:
    venue = Binance("spot", SymbolMap(), ["BTC/USDT"], base_url=f"ws://127.0.0.1:{closed_port()}")
    session = VenueSession(venue, policy=ReconnectPolicy(initial_s=0.05, max_s=0.1), seed=1)
    events: list[MarketEvent] = []
    with caplog.at_level(logging.WARNING, logger="arbsniper.venues"):
        task = asyncio.create_task(session.run(events.append))
        await asyncio.sleep(0.8)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    warnings = [r.getMessage() for r in caplog.records if "cannot connect" in r.getMessage()]
    assert warnings == ["binance spot: cannot connect"]  # once, then rate-limited while it keeps failing
    assert session.stats.state == "down" and session.stats.connects == 0
    assert "connect failed" in session.stats.last_down_reason
    assert len(session.stats.down_reasons) >= 3  # kept retrying, with back-off
    assert events == []  # never up: nothing reached the engine
