"""A wake-up that arrives while a worker's last (empty) look is running is not lost.

Lost, the worker sleeps a whole poll interval with work waiting: under steady load the
dispatcher and the outbox settled into ~50 messages/s and replies ~0.7 s late.
"""

from __future__ import annotations

import asyncio
from typing import Any

from werkbot.bot.dispatcher import Dispatcher
from werkbot.bot.outbox import OutboxSender
from werkbot.bot.pressure import Pressure


class Worker:
    """Stands in for the worker: its first look finds nothing, but work arrives (and the
    wake-up is set) while that look is still running; the second look sees it."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.pressure = Pressure()
        self.looks = 0
        self.second_look = asyncio.Event()

    async def look(self) -> Any:
        self.looks += 1
        if self.looks == 1:
            await asyncio.sleep(0)
            self.wake.set()  # the inbox committed a new event just now
        else:
            self.second_look.set()
        return 0


async def _second_look_without_polling(run: Any, worker: Worker) -> None:
    task = asyncio.create_task(run(worker, poll_seconds=60))  # polling would take a minute
    try:
        await asyncio.wait_for(worker.second_look.wait(), 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_dispatcher_looks_again_at_once_after_a_wake_up_during_its_look() -> None:
    worker = Worker()
    worker.handle_next = worker.look  # type: ignore[attr-defined]
    await _second_look_without_polling(Dispatcher.run, worker)


async def test_outbox_looks_again_at_once_after_a_wake_up_during_its_look() -> None:
    worker = Worker()
    worker.send_due = worker.look  # type: ignore[attr-defined]
    await _second_look_without_polling(OutboxSender.run, worker)


class Idle:
    """A worker with nothing to do: every look finds nothing."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.pressure = Pressure()
        self.looks = 0

    async def look(self) -> Any:
        self.looks += 1
        return 0


async def _stops_when_cancelled_as_it_is_woken(run: Any, attach: Any) -> None:
    """Shutdown cancels the workers; a wake-up at that very moment must not undo it.

    (Python 3.11's `asyncio.wait_for` returns the result instead of raising when the
    awaited event completes together with the cancellation: the loop went on forever and
    `werkbot serve` hung on SIGTERM.) Every small gap between wake-up and cancel is tried.
    """
    for gap in range(6):
        worker = Idle()
        attach(worker)
        task = asyncio.create_task(run(worker, poll_seconds=60))
        while worker.looks == 0:
            await asyncio.sleep(0)
        for _ in range(3):
            await asyncio.sleep(0)  # now waiting for a wake-up
        worker.wake.set()
        for _ in range(gap):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
        assert task in done and task.cancelled(), f"still running (gap {gap})"


async def test_dispatcher_stops_when_cancelled_as_it_is_woken() -> None:
    def attach(worker: Idle) -> None:
        worker.handle_next = worker.look  # type: ignore[attr-defined]

    await _stops_when_cancelled_as_it_is_woken(Dispatcher.run, attach)


async def test_outbox_stops_when_cancelled_as_it_is_woken() -> None:
    def attach(worker: Idle) -> None:
        worker.send_due = worker.look  # type: ignore[attr-defined]

    await _stops_when_cancelled_as_it_is_woken(OutboxSender.run, attach)
