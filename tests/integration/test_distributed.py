"""The distributed deployment end to end: real processes, real ZeroMQ sockets, a real redis-server.

ingest (synthetic market) ──tcp──► engine shard 0/2 ─┐
                               └─► engine shard 1/2 ─┴─► Redis ──► 2 stream consumers (one group)
                                                               └─► this test, on the channel
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from arbsniper.bus.codec import shard_of
from arbsniper.model import signal_from_json
from arbsniper.sim.synthetic import DEMO_LISTINGS

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = Path(__file__).resolve().parent / "stream_consumer.py"
DEADLINE_S = 30.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Procs:
    """Child processes of one test, each logging to its own file; all stopped at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stopped: set[str] = set()
        self.env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "ARBSNIPER_DATA_DIR": str(tmp / "data"),
                    # Frequent dislocations: both shards see opportunities within seconds.
                    "ARBSNIPER_DEMO__DISLOCATION_EVERY_S": "0.4", "ARBSNIPER_LOG_LEVEL": "INFO"}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - handed to the child
        p = subprocess.Popen([sys.executable, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        self.procs[name] = p
        return p

    def arbsniper(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        return self.start(name, "-m", "arbsniper.cli", *args)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str, timeout: float = 15.0) -> int:
        p = self.procs[name]
        self.stopped.add(name)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            raise AssertionError(f"{name} did not stop on SIGTERM:\n{self.log(name)[-3000:]}") from None

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def close(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(5)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    ps = Procs(tmp_path)
    try:
        yield ps
    finally:
        ps.close()


def get_json(port: int, path: str = "/health") -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
        return json.loads(r.read())


def get_text(port: int, path: str = "/metrics") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
        return r.read().decode()


def wait_for(what: str, cond: Callable[[], Any], procs: Procs, timeout: float = DEADLINE_S) -> Any:
    """Poll ``cond`` until truthy; fail with the children's logs if it never is or one died."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        for name, p in procs.procs.items():
            if p.poll() is not None and name not in procs.stopped:
                raise AssertionError(f"{name} exited with {p.returncode} while waiting for {what}:\n{procs.log(name)[-3000:]}")
        try:
            v = cond()
            if v:
                return v
        except (OSError, ValueError, KeyError, redis.RedisError) as exc:  # not listening (yet)
            last_exc = exc
        time.sleep(0.1)
    logs = "\n".join(f"--- {n}\n{procs.log(n)[-1500:]}" for n in procs.procs)
    raise AssertionError(f"timed out waiting for {what} (last error {last_exc!r})\n{logs}")


class ChannelListener:
    """Collects every message of the signal channel on a thread (subscribed before any engine runs)."""

    def __init__(self, url: str, channel: str = "arbitrage:signals") -> None:
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        while self.pubsub.get_message(timeout=1.0) is None and not self.pubsub.subscribed:
            pass
        self.messages: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self.pubsub.get_message(timeout=0.2)
            except (redis.ConnectionError, OSError):
                return
            if msg and msg["type"] == "message":
                self.messages.append(msg["data"])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.pubsub.close()
        self.client.close()


def stream_entries(r: redis.Redis, key: str = "{signals}:stream") -> list[tuple[str, str, Any]]:
    """Every stream entry as (entry id, uid, Signal), oldest first."""
    out = []
    for entry_id, fields in r.xrange(key):
        out.append((entry_id.decode(), fields[b"uid"].decode(), signal_from_json(fields[b"signal"])))
    return out


def test_ingest_two_engine_shards_and_a_consumer_group_over_real_redis(redis_server, procs, tmp_path):
    r = redis.Redis.from_url(redis_server.url)
    zmq_port, ingest_http, e0_http, e1_http = free_port(), free_port(), free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{zmq_port}"

    # Consumers first: their group exists (from the stream's start) before the first signal.
    for c in ("c1", "c2"):
        procs.start(f"consumer-{c}", str(CONSUMER), "--url", redis_server.url, "--group", "traders",
                    "--consumer", c, "--out", str(tmp_path / f"{c}.jsonl"))
    wait_for("the consumer group", lambda: any(g["name"] == b"traders" for g in r.xinfo_groups("{signals}:stream")), procs)
    channel = ChannelListener(redis_server.url)
    try:
        procs.arbsniper("ingest", "ingest", "--demo", "--seed", "11", "--bind", endpoint, "--http", f"127.0.0.1:{ingest_http}")
        for k, port in ((0, e0_http), (1, e1_http)):
            procs.arbsniper(f"engine{k}", "engine", "--shard", f"{k}/2", "--connect", endpoint,
                            "--redis", redis_server.url, "--http", f"127.0.0.1:{port}")

        # Enough signals that the history had to be trimmed, from both shards.
        def enough() -> bool:
            h0, h1 = get_json(e0_http), get_json(e1_http)
            return h0["redis"]["published"] > 0 and h1["redis"]["published"] > 0 and \
                h0["redis"]["published"] + h1["redis"]["published"] > 1200
        wait_for("signals from both shards", enough, procs)

        ingest = get_json(ingest_http)
        engines = [get_json(e0_http), get_json(e1_http)]
        metrics = {"ingest": get_text(ingest_http), "engine0": get_text(e0_http), "engine1": get_text(e1_http)}

        # Orderly shutdown: the source first, then each engine closes what is open and flushes.
        assert procs.stop("ingest") == 0, procs.log("ingest")
        assert procs.stop("engine0") == 0, procs.log("engine0")
        assert procs.stop("engine1") == 0, procs.log("engine1")
        total = r.xlen("{signals}:stream")

        def consumed_all() -> bool:
            (g,) = [g for g in r.xinfo_groups("{signals}:stream") if g["name"] == b"traders"]
            return g["pending"] == 0 and g["entries-read"] == total
        wait_for("the consumer group to read and ack everything", consumed_all, procs)
        wait_for("the channel listener to see every signal", lambda: len(channel.messages) >= total, procs, 10)
    finally:
        channel.close()
    assert procs.stop("consumer-c1") == 0 and procs.stop("consumer-c2") == 0

    # --- /health: the fields operators rely on -------------------------------------------------
    assert ingest["service"] == "ingest" and ingest["status"] == "ok" and ingest["uptime_s"] > 0
    assert ingest["zmq"]["endpoints"] == [endpoint]
    assert ingest["messages_sent"] > 0 and ingest["drops"] >= 0
    assert set(ingest["venues"]) == {"binance", "coinbase", "bybit", "okx", "kucoin", "bitget", "hyperliquid", "paradex"}
    for v in ingest["venues"].values():
        assert v["connected"] is True and v["messages"] > 0 and v["drops"] >= 0
    for k, h in enumerate(engines):
        assert h["service"] == "engine" and h["status"] == "ok" and h["uptime_s"] > 0 and h["shard"] == f"shard {k}/2"
        assert h["zmq"]["connected"] is True and h["zmq"]["connected_endpoints"] == [endpoint]
        assert h["messages_processed"] > 0 and h["signals_generated"] > 0
        assert h["redis"]["connected"] is True and h["redis"]["dropped"] == 0
        assert {"redis_pending", "redis_capacity"} <= set(h["queues"])
        assert h["instruments"] and all(shard_of(n, 2) == k for n in h["instruments"])
    # The shards split the instruments: nothing held twice, and together they hold every listing.
    held0, held1 = set(engines[0]["instruments"]), set(engines[1]["instruments"])
    assert not held0 & held1
    assert held0 | held1 == {listing.instrument for listing in DEMO_LISTINGS}

    # --- /metrics: Prometheus text with per-venue messages/drops, signals, stage histograms -----
    assert 'arbsniper_info{name="ingest",service="ingest",shard=""' in metrics["ingest"]
    assert 'arbsniper_messages_total{venue="binance"}' in metrics["ingest"]
    assert 'arbsniper_drops_total{venue="binance"}' in metrics["ingest"]
    assert 'arbsniper_stage_latency_seconds_bucket{le="+Inf",stage="receive_to_ingest_publish"}' in metrics["ingest"]
    for k, name in enumerate(("engine0", "engine1")):
        text = metrics[name]
        assert f'arbsniper_info{{name="engine-{k}of2",service="engine",shard="shard {k}/2"' in text
        assert 'arbsniper_signals_total{event="open"}' in text
        assert 'arbsniper_messages_total{venue="binance"}' in text
        for stage in ("ingest_publish_to_engine_receive", "engine_receive_to_signal",
                      "signal_to_redis_publish", "receive_to_redis_publish"):
            assert f'le="+Inf",stage="{stage}"' in text
        assert "arbsniper_redis_connected" in text and "arbsniper_zmq_connected" in text

    # --- Redis: stream, channel, history -------------------------------------------------------
    entries = stream_entries(r)
    published = sum(int(line.split("redis_published=")[1].split()[0])
                    for line in (procs.log("engine0") + procs.log("engine1")).splitlines() if " stopped " in line)
    assert len(entries) == total == published
    uids = [uid for _, uid, _ in entries]
    assert len(set(uids)) == len(uids)

    # Every signal went out on the channel too, once.
    assert sorted(channel.messages) == sorted(fields[b"signal"] for _, fields in r.xrange("{signals}:stream"))

    # The history holds the newest 1000, ordered by timestamp (= score).
    hist = r.zrange("{signals}:history", 0, -1, withscores=True)
    assert len(hist) == 1000 < total
    scores = [s for _, s in hist]
    assert scores == sorted(scores)
    assert all(signal_from_json(m).timestamp == s for m, s in hist)
    cutoff = scores[0]
    newer = {signal_to_key(s) for _, _, s in entries if s.timestamp > cutoff}
    assert newer <= {signal_to_key(signal_from_json(m)) for m, _ in hist}

    # The consumer group saw every signal exactly once, split between its two consumers.
    seen: list[dict[str, Any]] = []
    for c in ("c1", "c2"):
        lines = (tmp_path / f"{c}.jsonl").read_text().splitlines()
        assert lines, f"consumer {c} got nothing"
        seen += [json.loads(line) for line in lines]
    assert sorted(x["uid"] for x in seen) == sorted(uids)

    # Each shard signalled only its own instruments (both legs), and both signalled.
    by_shard: dict[int, int] = {0: 0, 1: 0}
    for _, uid, s in entries:
        k = 0 if uid.startswith("engine-0of2-") else 1 if uid.startswith("engine-1of2-") else -1
        assert k >= 0, uid
        assert shard_of(s.buy_instrument, 2) == k and shard_of(s.sell_instrument, 2) == k
        by_shard[k] += 1
    assert by_shard[0] > 0 and by_shard[1] > 0


def signal_to_key(s: Any) -> tuple[str, str, int, float]:
    return (s.id, s.event, s.timestamp, s.net_bps)


def test_engine_keeps_detecting_while_redis_restarts_and_flushes_what_it_buffered(redis_server, procs, tmp_path):
    r = redis.Redis.from_url(redis_server.url)
    zmq_port, ingest_http, engine_http = free_port(), free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{zmq_port}"
    procs.start("consumer", str(CONSUMER), "--url", redis_server.url, "--group", "traders", "--consumer", "c1",
                "--out", str(tmp_path / "c1.jsonl"))
    wait_for("the consumer group", lambda: any(g["name"] == b"traders" for g in r.xinfo_groups("{signals}:stream")), procs)
    procs.arbsniper("ingest", "ingest", "--demo", "--seed", "5", "--bind", endpoint, "--http", f"127.0.0.1:{ingest_http}")
    procs.arbsniper("engine", "engine", "--connect", endpoint, "--redis", redis_server.url,
                    "--http", f"127.0.0.1:{engine_http}", "--name", "solo")
    wait_for("first signals in Redis", lambda: get_json(engine_http)["redis"]["published"] > 0, procs)

    def health_when(pred: Callable[[dict[str, Any]], bool]) -> Callable[[], dict[str, Any] | None]:
        def check() -> dict[str, Any] | None:
            h = get_json(engine_http)
            return h if pred(h) else None
        return check

    redis_server.kill()
    down = wait_for("the engine to notice Redis is down", health_when(lambda h: not h["redis"]["connected"]), procs)
    published_before = down["redis"]["published"]
    assert down["status"] == "degraded"
    # The hot path keeps going: more market data processed, more signals detected, all buffered.
    during = wait_for("detection to go on while Redis is down", health_when(
        lambda h: h["signals_generated"] >= down["signals_generated"] + 50
        and h["messages_processed"] > down["messages_processed"] and h["redis"]["failures"] >= 3), procs)
    assert during["redis"]["published"] == published_before
    assert during["queues"]["redis_pending"] >= 50
    assert during["redis"]["failures"] > 0 and during["redis"]["dropped"] == 0

    redis_server.start()
    restarted = time.monotonic()
    after = wait_for("the buffer to flush after Redis returns", health_when(
        lambda h: h["redis"]["connected"] and h["redis"]["published"] >= during["signals_generated"]), procs)
    recovery = time.monotonic() - restarted
    print(f"redis SIGKILL: {during['queues']['redis_pending']}+ buffered signals flushed {recovery:.2f} s after the restart")
    assert recovery < 10.0
    assert after["redis"]["reconnects"] >= 1 and after["redis"]["dropped"] == 0
    assert after["queues"]["redis_max_pending"] >= during["queues"]["redis_pending"]

    assert procs.stop("ingest") == 0, procs.log("ingest")
    assert procs.stop("engine") == 0, procs.log("engine")
    log = procs.log("engine")
    assert "Traceback" not in log
    (stopped,) = [line for line in log.splitlines() if " stopped " in line]
    assert "redis_dropped=0" in stopped
    offered = int(stopped.split("signals=")[1].split()[0])

    # The restarted Redis lost what it held before (no persistence), and holds exactly every
    # signal the engine produced after that: seq numbers published_before+1 .. offered, each once.
    entries = stream_entries(r)
    seqs = [int(uid.rsplit(":", 1)[1]) for _, uid, _ in entries]
    assert seqs == list(range(published_before + 1, offered + 1))
    assert r.zcard("{signals}:history") == min(1000, len(seqs))

    # The stream consumer lived through it too: it recreated its group on the new stream and read
    # every signal written after the restart, once.
    def consumed_all() -> bool:
        groups = [g for g in r.xinfo_groups("{signals}:stream") if g["name"] == b"traders"]
        return bool(groups) and groups[0]["pending"] == 0 and groups[0]["entries-read"] == len(entries)
    wait_for("the consumer to catch up after the restart", consumed_all, procs)
    assert procs.stop("consumer") == 0, procs.log("consumer")
    consumed = [json.loads(line)["uid"] for line in (tmp_path / "c1.jsonl").read_text().splitlines()]
    assert len(consumed) == len(set(consumed))
    assert {uid for _, uid, _ in entries} <= set(consumed)


def test_run_with_redis_publishes_every_embedded_signal(redis_server, procs, tmp_path):
    r = redis.Redis.from_url(redis_server.url)
    out = tmp_path / "signals.jsonl"
    with open(out, "wb") as fh:
        p = subprocess.run([sys.executable, "-m", "arbsniper.cli", "run", "--demo", "--seed", "3", "--duration", "8", "--port", "0",
                            "--json", "--no-history", "--redis", redis_server.url],
                           env=procs.env, stdout=fh, stderr=subprocess.PIPE, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    printed = [signal_from_json(line) for line in out.read_text().splitlines()]
    assert printed, "the demo produced no signal in 4 s"
    stored = [s for _, _, s in stream_entries(r)]
    assert [(s.id, s.event, s.timestamp) for s in stored] == [(s.id, s.event, s.timestamp) for s in printed]
    assert r.zcard("{signals}:history") == min(1000, len(printed))
