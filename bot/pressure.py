"""Webhook requests in flight, so background work can give way to them during a burst.

Acknowledging a webhook is cheap and someone waits for it (a provider that times out
delivers again); handling an event costs milliseconds and waits safely in the durable
inbox. So during a burst (at least `BURST` requests in flight at once, while the
dispatcher's last claim filled a whole batch) the background workers, the dispatcher and
the outbox sender, pause between rounds (outside their transactions, so SQLite's writer
is free for the webhooks it waits for) until a `SLICE` passes without a burst's worth in
flight: a burst is taken in at the speed of the inbox and handled right after it (and a
batch under way makes way for a waiting webhook within the dispatcher's burst budget). A
flood that never stops still gets its events handled and its replies sent, with
`BURST_SHARE` of the time between them: each round of t seconds moves the end of the
shared pause on by t * (1 - share) / share (at least `MIN_PAUSE`, never further than
`MAX_PAUSE` from now). The pause is shared: the sender sends what the
dispatcher handled while the dispatcher waits, and the two together keep to the share.

At ordinary load nothing pauses. A steady stream keeps a request or two in flight most of
the time (each waits a few milliseconds for its group commit); waiting for none at all
there would hold every reply back by up to `MAX_PAUSE` for no one's benefit. Nor while the
dispatcher keeps up (its claims find less than a batch): many people writing at once,
each waiting for the answer before writing again, send waves of webhooks, and pausing
their handling would only make each of them wait longer, while no backlog builds up.
"""

from __future__ import annotations

import asyncio

# Requests in flight at once that make it a burst: above what a steady stream piles up
# behind one long batch, below what a flood keeps open (bench/README.md).
BURST = 16
# Of the time, handling's while a flood never stops: acknowledging is what the provider
# waits for, and what is not handled during the flood is handled right after it.
BURST_SHARE = 0.05
MIN_PAUSE = 0.05  # seconds
MAX_PAUSE = 1.0  # seconds: a batch is handled at least once a second under any flood
SLICE = 0.02  # seconds without a burst's worth in flight that end it


class Pressure:
    """Counts requests in flight; `give_way()` waits while a burst lasts."""

    def __init__(self, burst: int = BURST) -> None:
        self.requests = 0
        self.burst = burst
        self.peak = 0  # the most in flight at once since `give_way` last looked
        # Set by the dispatcher after each claim: it found a whole batch due, so events
        # come in faster than it handles them (or a backlog is being worked off).
        self.behind = True
        self._quiet_until = 0.0  # loop time until which background work waits in a burst

    def enter(self) -> None:
        self.requests += 1
        self.peak = max(self.peak, self.requests)

    def leave(self) -> None:
        self.requests = max(0, self.requests - 1)

    @property
    def bursting(self) -> bool:
        return self.requests >= self.burst and self.behind

    @staticmethod
    def pause_after(busy: float) -> float:
        """The longest pause after `busy` seconds of handling during a burst."""
        return min(MAX_PAUSE, max(MIN_PAUSE, busy * (1 - BURST_SHARE) / BURST_SHARE))

    async def after_round(self, busy: float) -> None:
        """A background worker's round took `busy` seconds: during a burst, wait for the
        shared pause (which this round lengthens); otherwise just let the loop turn."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self.bursting:
            self._quiet_until = now
            await asyncio.sleep(0)
            return
        until = max(now, self._quiet_until) + self.pause_after(busy)
        self._quiet_until = min(until, now + MAX_PAUSE)
        await self.give_way(self._quiet_until - now)

    async def give_way(self, limit: float = MIN_PAUSE) -> None:
        """Let the loop serve requests; during a burst, return once it has passed or
        after `limit`.

        A burst has passed when a whole `SLICE` went by without `burst` requests in flight
        at once. Not the first moment with fewer: a group commit answers every waiting
        request together, and under a flood the count drops to nothing and is back a
        millisecond later.
        """
        await asyncio.sleep(0)
        if not self.bursting:
            return
        loop = asyncio.get_running_loop()
        until = loop.time() + limit
        while (left := until - loop.time()) > 0:
            self.peak = self.requests
            await asyncio.sleep(min(SLICE, left))
            if self.peak < self.burst:
                return
