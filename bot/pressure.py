"""Webhook requests in flight, so background work can give way to them during a burst.

Acknowledging a webhook is cheap and someone waits for it (a provider that times out
delivers again); handling an event costs milliseconds and waits safely in the durable
inbox. So while requests are being answered, the dispatcher pauses between batches
(outside its transaction, so SQLite's writer is free for the webhooks it waits for) until
they are done, for at most `MAX_PAUSE`: a burst is taken in at the speed of the inbox and
handled right after it, and a flood that never stops still gets a batch handled every
`MAX_PAUSE`. At ordinary load the pause is nothing (no request is in flight).
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

MAX_PAUSE = 0.05  # seconds: at least ~20 batches/s are handled under a never-ending flood


class Pressure:
    """Counts requests in flight; `give_way()` waits while there are any."""

    def __init__(self) -> None:
        self.requests = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.requests += 1
        self._idle.clear()

    def leave(self) -> None:
        self.requests -= 1
        if self.requests <= 0:
            self.requests = 0
            self._idle.set()

    async def give_way(self, limit: float = MAX_PAUSE) -> None:
        """Let the loop serve requests: return when none is in flight, or after `limit`."""
        await asyncio.sleep(0)
        if self.requests:
            with suppress(TimeoutError):  # not wait_for, which can lose a cancellation
                async with asyncio.timeout(limit):
                    await self._idle.wait()
