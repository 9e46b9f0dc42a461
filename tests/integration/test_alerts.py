"""Alerts through apprise to a real local HTTP receiver (apprise's ``json://`` webhook)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from arbsniper.alerts import Alerter
from arbsniper.app import App
from arbsniper.bus.inproc import FanOut
from arbsniper.config import AlertsConfig, Config
from arbsniper.instruments import SymbolMap
from arbsniper.model import Quote, Signal


def make_signal(event: str, oid: str, net: float, ts: int = 1_795_000_000_000) -> Signal:
    return Signal(
        action="BUY_BINANCE_SELL_OKX", symbol="SOL/USDT", spread_pct=round((net + 23) / 100, 4), buy_price=190.0,
        sell_price=191.0, profit_estimate=1.0, timestamp=ts, detected_at=ts - 4, id=oid, event=event,
        buy_exchange="binance", sell_exchange="okx", spread_bps=net + 23.0, fees_bps=20.0, slippage_bps=3.0,
        funding_bps=0.0, net_bps=net, size=50.0, profit_quote=net / 1e4 * 50.0 * 190.0, confidence=68.0,
        latency_us=6.0, buy_instrument="SOL/USDT", sell_instrument="SOL/USDT", quote_currency="USDT",
    )


class Receiver:
    """A webhook endpoint: records every POSTed JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        self.arrived.set()
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, int]]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield rec, port
    finally:
        await runner.cleanup()


async def test_open_above_threshold_reaches_the_webhook_and_the_rest_do_not(receiver: tuple[Receiver, int]) -> None:
    rec, port = receiver
    alerter = Alerter(AlertsConfig(urls=[f"json://127.0.0.1:{port}/hook"], min_net_bps=25.0))
    bus: FanOut[Signal] = FanOut(100)
    consumer = asyncio.create_task(alerter.consume(bus.subscribe("alerts")))
    bus.publish(make_signal("open", "small", 24.0))  # below min_net_bps
    bus.publish(make_signal("open", "big", 42.0))
    bus.publish(make_signal("update", "big", 50.0))  # updates never alert
    bus.publish(make_signal("close", "big", 50.0))
    await asyncio.wait_for(rec.arrived.wait(), 15)
    bus.close()
    await asyncio.wait_for(consumer, 15)
    assert len(rec.bodies) == 1
    [body] = rec.bodies
    assert body["title"] == "Arbitrage SOL/USDT: buy binance sell okx net 42.0 bps"
    # profit 42e-4 × 50 × 190 = 39.90 USDT
    assert "size 50, profit 39.90 USDT, confidence 68" in body["message"]
    assert "spread 65.0 bps, fees 20.0, slippage 3.0, funding +0.0 -> net 42.0 bps" in body["message"]
    assert (alerter.matched, alerter.sent, alerter.failed) == (1, 1, 0)


async def test_unreachable_receiver_counts_a_failure_and_never_raises() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    alerter = Alerter(AlertsConfig(urls=[f"json://127.0.0.1:{port}/hook"], min_net_bps=0.0, timeout_s=5.0))
    bus: FanOut[Signal] = FanOut(100)
    consumer = asyncio.create_task(alerter.consume(bus.subscribe("alerts")))
    bus.publish(make_signal("open", "a", 30.0))
    bus.close()
    await asyncio.wait_for(consumer, 15)
    assert (alerter.sent, alerter.failed) == (0, 1)


async def test_embedded_app_alerts_from_its_own_queue(receiver: tuple[Receiver, int], tmp_path: Path) -> None:
    """``[alerts] urls`` in the config: the running app sends the alert when the engine opens one."""
    rec, port = receiver
    config = Config(data_dir=str(tmp_path), alerts=AlertsConfig(urls=[f"json://127.0.0.1:{port}/hook"], min_net_bps=50.0))
    symbols = SymbolMap()
    binance, okx = symbols.venue_id("binance"), symbols.venue_id("okx")
    sol = symbols.instrument_id("SOL/USDT")
    events: asyncio.Queue[Quote] = asyncio.Queue()

    class Source:
        async def run(self, sink: Any) -> None:
            while True:
                sink(await events.get())

    app = App(config, [Source()], symbols, human_out=None, history=False)
    app.add_alerts()
    task = asyncio.create_task(app.run())
    now = time.time_ns()
    # buy binance @ 190, sell okx @ 191.5: (191.5 − 190) / 190 = 78.95 bps − 20 fees − 3 slippage = 55.95 net
    events.put_nowait(Quote(binance, sol, 189.9, 10.0, 190.0, 10.0, now, now, 1))
    events.put_nowait(Quote(okx, sol, 191.5, 10.0, 191.6, 10.0, now, now, 1))
    await asyncio.wait_for(rec.arrived.wait(), 15)
    app.stop()
    assert await asyncio.wait_for(task, 15) == 0
    [body] = rec.bodies
    assert body["title"] == "Arbitrage SOL/USDT: buy binance sell okx net 55.9 bps"
    assert app.alerter is not None and app.alerter.sent == 1
