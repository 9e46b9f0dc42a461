"""SIGKILL and restart of an engine and of an ingest (real processes, real ZeroMQ, a real Redis).

Each test checks the stream's uids (``<instance>:<seq>``): none duplicated, and each engine
incarnation's written sequence numbers contiguous from 1 (a signal Redis confirmed is never
missing behind a later one), and that signals flow again within ``RECOVERY_S`` of the restart.
The Redis kill is in ``test_distributed`` (the engine buffers and flushes what it held).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration.test_distributed import Procs, free_port, get_json, stream_entries, wait_for

pytestmark = pytest.mark.redis

RECOVERY_S = 20.0  # from the restart command to a new signal in Redis (includes the interpreter's start)
OPEN_SET = "{signals}:open:solo"


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    ps = Procs(tmp_path)
    try:
        yield ps
    finally:
        ps.close()


def sigkill(procs: Procs, name: str) -> None:
    """The way a crash or an OOM kill ends a process: no handler runs, nothing is flushed."""
    procs.stopped.add(name)
    p = procs.procs[name]
    p.kill()
    p.wait(5)


def by_instance(entries: list[tuple[str, str, Any]]) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for _, uid, _ in entries:
        instance, _, seq = uid.rpartition(":")
        seqs[instance].append(int(seq))
    return seqs


def assert_none_lost_none_duplicated(entries: list[tuple[str, str, Any]], incarnations: int) -> dict[str, list[int]]:
    uids = [uid for _, uid, _ in entries]
    assert len(uids) == len(set(uids)), "a signal was written twice"
    seqs = by_instance(entries)
    assert len(seqs) == incarnations
    for instance, got in seqs.items():
        assert got == list(range(1, len(got) + 1)), f"{instance}: a gap or a reorder in {got[:20]}..."
    return seqs


def start_engine(procs: Procs, name: str, endpoint: str, url: str, http: int) -> None:
    procs.arbsniper(name, "engine", "--connect", endpoint, "--redis", url, "--http", f"127.0.0.1:{http}", "--name", "solo")


def test_engine_sigkill_and_restart_closes_the_leftovers_and_signals_again(redis_server, procs):
    r = redis.Redis.from_url(redis_server.url)
    zmq_port, ingest_http, e1, e2 = free_port(), free_port(), free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{zmq_port}"
    procs.arbsniper("ingest", "ingest", "--demo", "--seed", "5", "--bind", endpoint, "--http", f"127.0.0.1:{ingest_http}")
    start_engine(procs, "engine1", endpoint, redis_server.url, e1)
    wait_for("signals, some of them open in Redis",
             lambda: get_json(e1)["redis"]["published"] >= 20 and r.hlen(OPEN_SET) > 0, procs)
    sigkill(procs, "engine1")
    leftovers = {k.decode() for k in r.hkeys(OPEN_SET)}
    assert leftovers, "nothing was open at the kill"

    restarted = time.monotonic()
    start_engine(procs, "engine2", endpoint, redis_server.url, e2)
    h = wait_for("the new engine's own signals in Redis", lambda: (lambda h: h if h["redis"]["published"] >
                 h["redis"]["restart_closed"] > 0 else None)(get_json(e2)), procs, RECOVERY_S)
    recovery = time.monotonic() - restarted
    assert h["redis"]["restart_closed"] == len(leftovers)
    print(f"engine SIGKILL: {len(leftovers)} leftovers closed, signals again {recovery:.2f} s after the restart")

    assert procs.stop("ingest") == 0, procs.log("ingest")
    assert procs.stop("engine2") == 0, procs.log("engine2")
    assert "Traceback" not in procs.log("engine2")
    entries = stream_entries(r)
    seqs = assert_none_lost_none_duplicated(entries, 2)
    (old,) = [i for i in seqs if i.startswith("solo-") and i in {u.rpartition(":")[0] for _, u, s in entries
                                                                      if s.id in leftovers and s.event == "open"}]
    restart_closes = [s for _, uid, s in entries if s.close_reason == "engine_restart"]
    assert {s.id for s in restart_closes} == leftovers and len(restart_closes) == len(leftovers)
    assert all(not uid.startswith(old + ":") for _, uid, s in entries if s.close_reason == "engine_restart")
    # Every opportunity ever opened was closed exactly once (the killed one's by its successor).
    opened = [s.id for _, _, s in entries if s.event == "open"]
    closed = [s.id for _, _, s in entries if s.event == "close"]
    assert sorted(opened) == sorted(closed) and len(set(opened)) == len(opened)
    assert r.hlen(OPEN_SET) == 0  # the orderly stop closed the rest
    assert recovery < RECOVERY_S


def test_ingest_sigkill_and_restart_quotes_are_taken_again_not_refused_as_old(redis_server, procs):
    r = redis.Redis.from_url(redis_server.url)
    zmq_port, i1, i2, e = free_port(), free_port(), free_port(), free_port()
    endpoint = f"tcp://127.0.0.1:{zmq_port}"
    procs.arbsniper("ingest1", "ingest", "--demo", "--seed", "5", "--bind", endpoint, "--http", f"127.0.0.1:{i1}")
    start_engine(procs, "engine", endpoint, redis_server.url, e)
    # Long enough that the first run's sequence numbers are far above where a new run starts.
    wait_for("the first run's signals", lambda: get_json(e)["signals_by_event"]["open"] >= 10
             and get_json(e)["messages_processed"] > 5000, procs)
    sigkill(procs, "ingest1")
    before = get_json(e)
    restarted = time.monotonic()
    procs.arbsniper("ingest2", "ingest", "--demo", "--seed", "6", "--bind", endpoint, "--http", f"127.0.0.1:{i2}")
    after = wait_for("new opportunities from the restarted ingest", lambda: (lambda h: h if h["signals_by_event"]["open"]
                     > before["signals_by_event"]["open"] and h["messages_processed"] > before["messages_processed"] + 2000
                     else None)(get_json(e)), procs, RECOVERY_S)
    recovery = time.monotonic() - restarted
    refused = after["engine"]["out_of_order"] - before["engine"]["out_of_order"]
    print(f"ingest SIGKILL: opportunities again {recovery:.2f} s after the restart, {refused} quotes refused as old")
    # Before the fix every quote of the new run was refused until its numbers passed the old ones.
    assert refused == 0

    assert procs.stop("ingest2") == 0, procs.log("ingest2")
    assert procs.stop("engine") == 0, procs.log("engine")
    log = procs.log("engine")
    assert "Traceback" not in log
    (stopped,) = [line for line in log.splitlines() if " stopped " in line]
    offered = int(stopped.split("signals=")[1].split()[0])
    seqs = assert_none_lost_none_duplicated(stream_entries(r), 1)
    assert [len(v) for v in seqs.values()] == [offered]  # every signal the engine made is in the stream
    assert recovery < RECOVERY_S
