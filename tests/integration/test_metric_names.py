"""Every mode's ``/metrics`` serves exactly the families and stages the README's table gives it.

Real servers, scraped over HTTP: the embedded app with every optional part on (dashboard,
trading, alerts, Redis publisher), an ingest and an engine talking over a real ZeroMQ socket to a
real redis-server, the distributed dashboard and the trader on the same Redis.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arbsniper.app import App
from arbsniper.bus.redis import RedisSignalPublisher
from arbsniper.config import AlertsConfig, Config, RedisConfig
from arbsniper.instruments import SymbolMap
from arbsniper.model import MarketEvent, Quote
from arbsniper.services.engine import EngineService
from arbsniper.services.ingest import IngestService
from arbsniper.sim.synthetic import SyntheticSource
from arbsniper.trading.service import TraderService
from arbsniper.venues.base import EventSink
from arbsniper.web.app import Dashboard
from tests.conftest import free_port
from tests.metrics_doc import families, stages

pytestmark = pytest.mark.redis

# A closed local port: alerts are attempted and counted as failed, nothing leaves the machine.
ALERTS = AlertsConfig(urls=["json://127.0.0.1:9/alerts"], min_net_bps=0.0)


class ScriptedSource:
    """Market events handed over by the test, pushed the way a venue connector pushes them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[MarketEvent] = asyncio.Queue()

    async def run(self, sink: EventSink) -> None:
        while True:
            sink(await self.queue.get())


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200 and resp.headers["content-type"].startswith("text/plain")
        return await resp.text()


def served(text: str) -> tuple[set[str], set[str]]:
    """The ``arbsniper_*`` families (from ``# TYPE``) and the stages a scrape holds."""
    names = set(re.findall(r"^# TYPE (arbsniper_\w+) ", text, re.M))
    stage_names = set(re.findall(r'^arbsniper_stage_latency_seconds_count\{stage="(\w+)"\}', text, re.M))
    return names, stage_names


def check_mode(mode: str, text: str) -> None:
    names, stage_names = served(text)
    documented = {r.name for r in families() if mode in r.modes}
    assert names == documented, f"{mode}: served but not documented {sorted(names - documented)}, " \
                                f"documented but not served {sorted(documented - names)}"
    documented_stages = {s for s, modes in stages().items() if mode in modes}
    assert stage_names == documented_stages, mode
    assert re.search(rf'^arbsniper_info\{{.*service="{mode}".*\}} 1\.0$', text, re.M), mode


def config(tmp_path: Path, redis_url: str, **kw: Any) -> Config:
    return Config(data_dir=str(tmp_path), redis=RedisConfig(url=redis_url), **kw)


async def test_embedded_run_serves_the_documented_names(tmp_path: Path, redis_server: Any) -> None:
    symbols = SymbolMap()
    binance, okx, btc = symbols.venue_id("binance"), symbols.venue_id("okx"), symbols.instrument_id("BTC/USDT")
    source = ScriptedSource()
    cfg = config(tmp_path, redis_server.url, alerts=ALERTS)
    app = App(cfg, [source], symbols, human_out=None, trade=True)
    url = app.add_dashboard("127.0.0.1", 0, None)
    app.add_alerts()
    app.add_redis(RedisSignalPublisher(cfg.redis))
    task = asyncio.create_task(app.run())
    try:
        now = time.time_ns()
        source.queue.put_nowait(Quote(binance, btc, 100.0, 1.0, 101.0, 1.0, now, now, 1))
        source.queue.put_nowait(Quote(okx, btc, 102.0, 2.0, 103.0, 2.0, now, now, 1))

        async def published() -> bool:
            return app.redis is not None and app.redis.published >= 1

        await until(published, "the open signal in Redis")
        text = await scrape(url + "metrics")
    finally:
        app.stop()
        assert await asyncio.wait_for(task, 15) == 0
    check_mode("run", text)
    assert 'arbsniper_messages_total{venue="okx"} 1.0' in text
    assert 'arbsniper_signals_total{event="open"} 1.0' in text
    assert 'arbsniper_queue_depth{queue="signals:trader"}' in text


async def test_ingest_and_engine_serve_the_documented_names(tmp_path: Path, redis_server: Any) -> None:
    cfg = config(tmp_path, redis_server.url)
    symbols = SymbolMap()
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    ingest = IngestService(cfg, [SyntheticSource(symbols, demo=cfg.demo, seed=1)], symbols, bind=[endpoint],
                           http=("127.0.0.1", 0))
    engine = EngineService(cfg, connect=[endpoint], http=("127.0.0.1", 0), name="e1")
    await ingest.start()
    await engine.start()
    tasks = [asyncio.create_task(ingest.run()), asyncio.create_task(engine.run())]
    try:
        async def flowing() -> bool:
            return sum(engine.processed.values()) > 0 and engine.redis.published > 0

        await until(flowing, "events through the engine and signals in Redis")
        assert ingest.ops is not None and engine.ops is not None
        texts = {"ingest": await scrape(ingest.ops.url + "metrics"), "engine": await scrape(engine.ops.url + "metrics")}
    finally:
        ingest.stop.set()
        engine.stop.set()
        assert await asyncio.wait_for(asyncio.gather(*tasks), 15) == [0, 0]
    for mode, text in texts.items():
        check_mode(mode, text)
    assert re.search(r'^arbsniper_messages_total\{venue="binance"\} [1-9]', texts["engine"], re.M)
    assert 'arbsniper_venue_up{market="any",venue="binance"} ' in texts["ingest"]  # judged by its traffic


async def test_dashboard_and_trader_serve_the_documented_names(tmp_path: Path, redis_server: Any) -> None:
    cfg = config(tmp_path, redis_server.url, alerts=ALERTS)
    dashboard = Dashboard(cfg, host="127.0.0.1", port=0, token=None)
    trader = TraderService(cfg, http=("127.0.0.1", free_port()))
    tasks = [asyncio.create_task(dashboard.run()), asyncio.create_task(trader.run())]
    try:
        async def connected() -> bool:
            return dashboard.source.connected and trader.source.reader.connected

        await until(connected, "both readers on Redis")
        assert trader.http is not None
        texts = {"dashboard": await scrape(dashboard.url + "metrics"),
                 "trader": await scrape(f"http://{trader.http[0]}:{trader.http[1]}/metrics")}
    finally:
        dashboard.stop()
        trader.stop.set()
        assert await asyncio.wait_for(asyncio.gather(*tasks), 15) == [0, 0]
    for mode, text in texts.items():
        check_mode(mode, text)
    assert "arbsniper_redis_connected 1.0" in texts["dashboard"] and "arbsniper_redis_connected 1.0" in texts["trader"]
