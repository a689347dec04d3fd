"""SQLite's in-process writer lock survives waiters that are cancelled (shutdown)."""

from __future__ import annotations

import asyncio

from werkbot.bot.storage.database import WriterLock


async def test_a_cancelled_waiter_is_skipped_and_the_lock_goes_to_the_next() -> None:
    lock = WriterLock()
    await lock.acquire(urgent=False)
    cancelled = asyncio.create_task(lock.acquire(urgent=True))
    waiting = asyncio.create_task(lock.acquire(urgent=False))
    await asyncio.sleep(0)
    cancelled.cancel()  # cancelled, but its handler has not run yet when release comes
    lock.release()
    await asyncio.wait_for(waiting, 1)  # the next waiter holds it now
    await asyncio.gather(cancelled, return_exceptions=True)
    lock.release()
    await asyncio.wait_for(lock.acquire(urgent=False), 1)  # and it is free again after


async def test_urgent_waiters_cancelled_before_their_turn_leave_no_trace() -> None:
    lock = WriterLock()
    await lock.acquire(urgent=False)
    gone = [asyncio.create_task(lock.acquire(urgent=True)) for _ in range(3)]
    await asyncio.sleep(0)
    for task in gone:
        task.cancel()
    await asyncio.gather(*gone, return_exceptions=True)
    assert lock.urgent_waited() is None
    lock.release()
    await asyncio.wait_for(lock.acquire(urgent=True), 1)
