"""A wake-up that arrives while a worker's last (empty) look is running is not lost.

Lost, the worker sleeps a whole poll interval with work waiting: under steady load the
dispatcher and the outbox settled into ~50 messages/s and replies ~0.7 s late.
"""

from __future__ import annotations

import asyncio

from werkbot.bot.pressure import Pressure
from werkbot.bot.worker import WorkerLoop


class Work:
    """Stands in for a round of work: the first look finds nothing, but work arrives (and
    the wake-up is set) while that look is still running; the second look sees it."""

    def __init__(self) -> None:
        self.worker = WorkerLoop("test", self.look, Pressure())
        self.looks = 0
        self.second_look = asyncio.Event()

    async def look(self) -> int:
        self.looks += 1
        if self.looks == 1:
            await asyncio.sleep(0)
            self.worker.wake.set()  # the inbox committed a new event just now
        else:
            self.second_look.set()
        return 0


async def test_a_worker_looks_again_at_once_after_a_wake_up_during_its_look() -> None:
    work = Work()
    task = asyncio.create_task(work.worker.run(poll_seconds=60))  # polling takes a minute
    try:
        await asyncio.wait_for(work.second_look.wait(), 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class Idle:
    """Nothing to do: every look finds nothing."""

    def __init__(self) -> None:
        self.worker = WorkerLoop("test", self.look, Pressure())
        self.looks = 0

    async def look(self) -> int:
        self.looks += 1
        return 0


async def test_a_worker_stops_when_cancelled_as_it_is_woken() -> None:
    """Shutdown cancels the workers; a wake-up at that very moment must not undo it.

    (Python 3.11's `asyncio.wait_for` returns the result instead of raising when the
    awaited event completes together with the cancellation: the loop went on forever and
    `werkbot serve` hung on SIGTERM.) Every small gap between wake-up and cancel is tried.
    """
    for gap in range(6):
        idle = Idle()
        task = asyncio.create_task(idle.worker.run(poll_seconds=60))
        while idle.looks == 0:
            await asyncio.sleep(0)
        for _ in range(3):
            await asyncio.sleep(0)  # now waiting for a wake-up
        idle.worker.wake.set()
        for _ in range(gap):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        assert task in done and task.cancelled(), f"still running (gap {gap})"

