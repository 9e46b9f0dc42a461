"""``runtime.run_until_stopped``: when a role stops, in which order it shuts down, its exit code."""

from __future__ import annotations

import asyncio
import os
import signal

from arbsniper.runtime import run_until_stopped


class Role:
    """A producer that runs until cancelled, a consumer that ends when its input closes, and a log."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.input_closed = asyncio.Event()

    async def producer(self) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.log.append("producer cancelled")
            raise

    async def consumer(self) -> None:
        await self.input_closed.wait()
        self.log.append("consumer done")

    async def drain(self) -> None:
        self.log.append("drain")
        self.input_closed.set()

    async def close(self) -> None:
        self.log.append("close")

    async def run(self, *extra: asyncio.Task[None], **kw: object) -> int:
        producers = [asyncio.create_task(self.producer()), *extra]
        consumers = [asyncio.create_task(self.consumer())]
        return await run_until_stopped(producers, consumers, drain=self.drain, close=self.close, **kw)  # type: ignore[arg-type]


async def test_duration_stops_cleanly_in_order_cancel_drain_consumers_close():
    role = Role()
    assert await role.run(duration=0.05) == 0
    assert role.log == ["producer cancelled", "drain", "consumer done", "close"]


async def test_stop_event_stops_cleanly():
    role = Role()
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    assert await role.run(stop=stop) == 0
    assert role.log[-1] == "close"


async def test_sigterm_stops_cleanly_and_the_handler_is_removed_afterwards():
    role = Role()
    asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
    assert await role.run() == 0
    assert role.log == ["producer cancelled", "drain", "consumer done", "close"]
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)  # nothing left installed


async def test_a_failing_producer_stops_the_role_with_1_after_a_full_shutdown():
    async def boom() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("source died")

    role = Role()
    assert await role.run(asyncio.create_task(boom(), name="source")) == 1
    assert role.log == ["producer cancelled", "drain", "consumer done", "close"]


async def test_a_producer_that_returns_stops_the_role_cleanly():
    role = Role()
    assert await role.run(asyncio.create_task(asyncio.sleep(0.01), name="finite source")) == 0
    assert role.log[-1] == "close"


async def test_a_consumer_failing_while_draining_and_a_failing_drain_give_1_but_close_still_runs():
    role = Role()

    async def bad_consumer() -> None:
        await role.input_closed.wait()
        raise RuntimeError("history write failed")

    async def bad_drain() -> None:
        role.input_closed.set()
        raise RuntimeError("flush failed")

    consumers = [asyncio.create_task(bad_consumer())]
    code = await run_until_stopped([], consumers, duration=0.01, drain=bad_drain, close=role.close)
    assert code == 1 and role.log == ["close"]


async def test_a_failing_drain_cancels_the_consumers_instead_of_waiting_for_them():
    role = Role()

    async def broken_drain() -> None:
        raise RuntimeError("could not close the input")

    consumers = [asyncio.create_task(role.consumer())]  # its input never closes
    code = await asyncio.wait_for(run_until_stopped([], consumers, duration=0.01, drain=broken_drain,
                                                    close=role.close), 5)
    assert code == 1 and consumers[0].cancelled() and role.log == ["close"]
