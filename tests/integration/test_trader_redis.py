"""`arbsniper trader --redis`: signals from a real Redis stream through a consumer group, acked after use.

Starts a real ``redis-server`` on a free local port (skipped when the binary is absent).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from arbsniper.config import Config, RedisConfig, TradingConfig
from arbsniper.model import Signal, signal_from_json, signal_to_json
from arbsniper.trading.ledger import Ledger
from arbsniper.trading.market import MarketRules, SignalMarketView
from arbsniper.trading.paper import PaperExecutor
from arbsniper.trading.risk import KillSwitch
from arbsniper.trading.runner import Runner
from arbsniper.trading.sources import RedisStreamSource

pytestmark = pytest.mark.redis
ROOT = Path(__file__).resolve().parents[2]
STREAM = "arb:{signals}:stream"
REDIS = RedisConfig(prefix="arb:")  # the engines' layout: XADD <prefix>{signals}:stream * signal <json> uid <uid>


@pytest.fixture
def redis_url(tmp_path):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    client.close()
    proc.terminate()
    proc.wait(10)


def _signal(event: str, oid: str = "BTC/USDT:binance>okx:1", **kw) -> Signal:
    now_ms = time.time_ns() // 1_000_000
    fields = dict(action="BUY_BINANCE_SELL_OKX", symbol="BTC/USDT", spread_pct=1.0, buy_price=100.0, sell_price=101.0,
                  profit_estimate=1.0, timestamp=now_ms, detected_at=now_ms, id=oid, event=event,
                  buy_exchange="binance", sell_exchange="okx", spread_bps=100.0, fees_bps=20.0, slippage_bps=0.0,
                  funding_bps=0.0, net_bps=80.0, size=0.5, profit_quote=0.4, confidence=70.0, latency_us=5.0,
                  buy_instrument="BTC/USDT", sell_instrument="BTC/USDT", quote_currency="USDT")
    fields.update(kw)
    return Signal(**fields)


def _runner(tmp_path) -> Runner:
    config = Config(data_dir=str(tmp_path), trading=TradingConfig(
        latency_ms=0.0, inventory={"default": {"USDT": 10_000.0, "BTC": 2.0}}))
    market = SignalMarketView(config)
    executor = PaperExecutor(market, MarketRules(config), config.trading.latency_s)
    return Runner(config, executor, market, Ledger(tmp_path / "trading-paper.sqlite"),
                  kill=KillSwitch(tmp_path / "trading.halt"), out=None)


async def test_stream_signals_are_traded_once_and_acked(tmp_path, redis_url):
    client = redis.Redis.from_url(redis_url)
    for k, s in enumerate((_signal("open"), _signal("update", net_bps=85.0), _signal("close", close_reason="spread_gone"))):
        client.xadd(STREAM, {"signal": signal_to_json(s), "uid": f"e:{k}"})
    client.xadd(STREAM, {"signal": b"not json", "uid": "e:3"})
    source = RedisStreamSource(REDIS, url=redis_url, block_ms=100)
    runner = _runner(tmp_path)
    task = asyncio.create_task(runner.run(source))
    for _ in range(200):
        if runner.signals_seen >= 2 and client.xpending(STREAM, "traders")["pending"] == 0:
            break
        await asyncio.sleep(0.02)
    source.closed = True
    await task
    await source.close()
    ledger = Ledger(tmp_path / "trading-paper.sqlite", create=False)
    trades = ledger.trades()
    assert len(trades) == 1  # the update of the same opportunity was not traded again
    # paper fill at the signal's own prices (the standalone view): 0.5 × (101 − 100) − fees
    # (binance spot 10 bps on 50 = 0.05, okx spot 10 bps on 50.5 = 0.0505) = 0.3995
    assert trades[0]["pnl"] == pytest.approx(0.3995)
    assert ledger.refusals() == {"already_traded": 1}
    assert client.xpending(STREAM, "traders")["pending"] == 0  # everything acked, the bad entry too
    assert source.bad == 1
    ledger.close()
    client.close()


async def test_unacked_signals_are_delivered_again_after_a_restart(redis_url):
    client = redis.Redis.from_url(redis_url)
    client.xadd(STREAM, {"signal": signal_to_json(_signal("open", oid="a")), "uid": "e:a"})
    first = RedisStreamSource(REDIS, url=redis_url, block_ms=100)
    got = await first.receive()
    assert [d.signal.id for d in got] == ["a"]
    await first.close()  # "crashed" before acking
    client.xadd(STREAM, {"signal": signal_to_json(_signal("open", oid="b")), "uid": "e:b"})
    second = RedisStreamSource(REDIS, url=redis_url, block_ms=100)
    again = await second.receive()
    assert [d.signal.id for d in again] == ["a"]  # the pending one first
    await second.ack(again)
    new = await second.receive()
    assert [d.signal.id for d in new] == ["b"]
    await second.ack(new)
    assert client.xpending(STREAM, "traders")["pending"] == 0
    await second.close()
    client.close()


def test_trader_command_reads_the_stream_and_writes_the_paper_ledger(tmp_path, redis_url):
    client = redis.Redis.from_url(redis_url)
    client.xadd(STREAM, {"signal": signal_to_json(_signal("open", oid="cli-1")), "uid": "e:cli-1"})
    # The signal is written before the trader process starts: on a loaded machine its start-up alone can
    # outlast the default 1 s signal age, so the test allows an older signal (staleness has its own tests).
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "ARBSNIPER_TRADING__LATENCY_MS": "5",
           "ARBSNIPER_TRADING__MAX_SIGNAL_AGE_MS": "60000"}
    proc = subprocess.run([sys.executable, "-m", "arbsniper.cli", "trader", "--redis", redis_url, "--prefix", "arb:",
                           "--data-dir", str(tmp_path), "--duration", "4"], env=env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "FILL" in proc.stderr
    ledger = Ledger(tmp_path / "trading-paper.sqlite", create=False)
    assert [t["opportunity_id"] for t in ledger.trades()] == ["cli-1"]
    ledger.close()
    client.close()


def test_signals_an_engine_publishes_are_traded_by_a_distributed_trader(tmp_path, redis_server):
    """The wiring end to end: `run --demo --redis` (no trading of its own) → Redis stream →
    `arbsniper trader --redis` → its paper ledger, and every entry acknowledged."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARBSNIPER_")}
    env.update({"PYTHONPATH": str(ROOT / "src"), "ARBSNIPER_DEMO__DISLOCATION_EVERY_S": "0.4",
                "ARBSNIPER_TRADING__MAX_SIGNAL_AGE_MS": "60000"})
    url = redis_server.url
    trader = subprocess.Popen([sys.executable, "-m", "arbsniper.cli", "trader", "--redis", url,
                               "--data-dir", str(tmp_path / "trader"), "--duration", "12"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        engine = subprocess.run([sys.executable, "-m", "arbsniper.cli", "run", "--demo", "--no-trade", "--no-web",
                                 "--redis", url, "--duration", "8", "--seed", "3", "--data-dir", str(tmp_path / "engine")],
                                env=env, capture_output=True, text=True, timeout=60)
        assert engine.returncode == 0, engine.stderr[-2000:]
        _, err = trader.communicate(timeout=60)
    finally:
        if trader.poll() is None:
            trader.kill()
    assert trader.returncode == 0, err[-2000:]
    client = redis.Redis.from_url(url)
    entries = client.xrange("{signals}:stream")
    assert entries
    assert client.xpending("{signals}:stream", "traders")["pending"] == 0  # every entry handled, then acked
    published = {signal_from_json(fields[b"signal"]).id for _, fields in entries}
    client.close()
    ledger = Ledger(tmp_path / "trader" / "trading-paper.sqlite", create=False)
    traded = {t["opportunity_id"] for t in ledger.trades()}
    ledger.close()
    assert traded, err[-2000:]
    assert traded <= published  # the trader traded what the engine published, nothing else
