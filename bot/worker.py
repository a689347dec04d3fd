"""The background worker loop the dispatcher and the outbox sender share.

A worker runs rounds (claim some due rows, work them off) while they find work, sleeps
until woken (`wake`) or the poll interval ends, and stops when cancelled. Between rounds
it gives way to webhooks during a burst (bot/pressure.py). An error outside the round's
own handling (the database down, restarting or locked) is logged and tried again a
second later, until it passes: the traceback the first time, one line while it persists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from werkbot.bot.pressure import Pressure

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # pause after a failed round before trying again

Round = Callable[[], Awaitable[int]]  # one round: claims and works off due rows; the count


class WorkerLoop:
    """Runs `work` (one round) until it finds nothing, then waits for `wake` or the poll."""

    def __init__(self, name: str, work: Round, pressure: Pressure) -> None:
        self.name = name
        self._round = work
        self.pressure = pressure
        self.wake = asyncio.Event()

    async def run(self, poll_seconds: float = 0.5) -> None:
        """Work until cancelled."""
        failures = 0
        while True:
            # Cleared before looking, never after: a wake-up that comes while the last
            # (empty) look is running must not be lost to a whole poll interval.
            self.wake.clear()
            try:
                loop = asyncio.get_running_loop()
                began = loop.time()
                while await self._round():
                    # Outside the round's transaction (the writer is free): during a burst
                    # the webhooks in flight are answered first.
                    await self.pressure.after_round(loop.time() - began)
                    began = loop.time()
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.exception("%s loop failed; retrying", self.name)
                else:
                    log.warning("%s loop failed again (%s, %d in a row); retrying",
                                self.name, type(exc).__name__, failures)
                await asyncio.sleep(RETRY_SECONDS)
            else:
                if failures:
                    log.info("%s loop recovered after %d failures", self.name, failures)
                failures = 0
            # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation
            # that arrives just as the event is set, and the worker would never stop.
            with suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds):
                    await self.wake.wait()

    async def drain(self) -> int:
        """Run rounds until one finds nothing (tests, scripted scenarios); the total."""
        total = 0
        while done := await self._round():
            total += done
        return total
