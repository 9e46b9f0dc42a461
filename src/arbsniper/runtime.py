"""The one way a process role runs until it is told to stop (``run``, ``ingest``, ``engine``,
``dashboard``, ``trader``).

A role hands over two kinds of tasks:

- *producers* (venue sources, the engine loop, a ZeroMQ or Redis reader, timers) run until the
  stop and are then cancelled;
- *consumers* (history writer, dashboard server, trader …) end on their own once their input is
  closed, so that whatever was queued before the stop is still handled.

It stops on SIGINT or SIGTERM, on ``stop`` being set (``App.stop()``, tests), after ``duration``
seconds, or as soon as any of those tasks ends: one that raised is a failure; one that returned
(a finite source) stops the role cleanly. Nothing keeps running half-dead. Then, in this order:
producers are cancelled and awaited; ``drain()`` hands the last data on and closes the
consumers' input (the engine closes what is open, a fan-out is closed); the consumers are
awaited; ``close()`` releases what the role holds (sockets, connections, the ops server).
Signals stay caught until the end, so a second Ctrl-C cannot cut a flush short.

The exit code is 0 for a clean stop and 1 when a task, ``drain`` or ``close`` failed; every
failure is logged once. A failed ``drain`` cancels the consumers rather than wait for an input
that may never close.

Shutdown is bounded whatever a producer is doing: producers get ``SHUTDOWN_S`` to end once
cancelled; one that swallowed its cancellation (e.g. through Python 3.11's ``wait_for``) is
cancelled again, then left behind and logged, and the exit code is 1. Consumers are not cut
short: they are flushing what was queued before the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger("arbsniper.runtime")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SHUTDOWN_S = 5.0  # the most a stop waits for cancelled producers to end

Step = Callable[[], Awaitable[None]]


async def run_until_stopped(
    producers: Iterable[asyncio.Task[Any]],
    consumers: Iterable[asyncio.Task[Any]] = (),
    *,
    duration: float | None = None,
    stop: asyncio.Event | None = None,
    drain: Step | None = None,
    close: Step | None = None,
    shutdown_s: float = SHUTDOWN_S,
) -> int:
    """Run the role's tasks until stopped (see the module docstring); returns the exit code."""
    producers, consumers = list(producers), list(consumers)
    loop = asyncio.get_running_loop()
    stop = stop if stop is not None else asyncio.Event()
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    failed = False
    done: set[asyncio.Task[Any]] = set()
    waiter = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _ = await asyncio.wait([waiter, *producers, *consumers], timeout=duration,
                                     return_when=asyncio.FIRST_COMPLETED)
        done.discard(waiter)
        for t in done:
            if not _failed(t):
                log.info("task %s ended; stopping", t.get_name())
            else:
                failed = True
    finally:
        waiter.cancel()
        try:
            if not await _cancel_all(producers, shutdown_s):
                failed = True
            if await _step("drain", drain):
                failed = True
                for t in consumers:  # their input may never close now: do not wait for it
                    t.cancel()
        finally:
            try:
                await asyncio.gather(*consumers, return_exceptions=True)
                failed |= any(_failed(t) for t in consumers if t not in done)
                failed |= await _step("close", close)
            finally:
                for sig in STOP_SIGNALS:
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        loop.remove_signal_handler(sig)
    return 1 if failed else 0


def _failed(task: asyncio.Task[Any]) -> bool:
    """True (and logged) when a finished task raised."""
    if task.cancelled() or task.exception() is None:
        return False
    log.error("task %s failed: %r", task.get_name(), task.exception(), exc_info=task.exception())
    return True


async def _cancel_all(tasks: Iterable[asyncio.Task[Any]], bound_s: float) -> bool:
    """Cancel tasks and wait at most ``bound_s`` for them; False (and logged) when some would not end."""
    tasks = list(tasks)
    for t in tasks:
        t.cancel()
    if not tasks:
        return True
    done, pending = await asyncio.wait(tasks, timeout=bound_s)
    for t in done:
        if not t.cancelled():
            t.exception()  # retrieved: a producer failing as it stops is not an unhandled error
    for t in pending:  # it swallowed the cancellation: once more, then leave it
        t.cancel()
        log.error("task %s did not stop within %.1f s of being cancelled; leaving it", t.get_name(), bound_s)
    return not pending


async def _step(what: str, step: Step | None) -> bool:
    """Run one shutdown step; True (and logged) when it raised."""
    if step is None:
        return False
    try:
        await step()
    except Exception as exc:
        log.error("%s failed: %r", what, exc, exc_info=exc)
        return True
    return False
