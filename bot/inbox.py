"""The durable inbox: events are stored before any webhook is acknowledged.

`InboxWriter.store(events)` returns only once the events are committed. Concurrent
webhooks are grouped into one transaction (group commit): the writer task takes what
has queued up while the previous commit ran, inserts it with one statement that skips
known de-duplication keys, commits once and wakes every waiting request. Many requests,
few commits, and nothing acknowledged before it is on disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from werkbot.bot.clock import Clock
from werkbot.bot.events import Event
from werkbot.bot.metrics import Metrics
from werkbot.bot.storage.database import Database
from werkbot.bot.storage.inbox_store import inbox_store
from werkbot.bot.storage.repos import inbox_values
from werkbot.bot.untrusted import clean_event

log = logging.getLogger(__name__)
MAX_BATCH = 256


@dataclass(slots=True)
class _Pending:
    events: Sequence[Event]
    done: asyncio.Future[int]


class InboxWriter:
    """Stores inbound events with group commit; `store` resolves after the commit."""

    def __init__(self, db: Database, clock: Clock, metrics: Metrics,
                 on_stored: Callable[[], None]) -> None:
        self._clock = clock
        self._metrics = metrics
        self._on_stored = on_stored
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._store = inbox_store(db)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._store.close()

    async def store(self, events: Sequence[Event]) -> int:
        """Store events durably; returns how many were new (the rest were duplicates).

        Every event is stored cleaned of control and bidi-override characters
        (`bot.untrusted`): whatever the adapter, staff never see them."""
        if not events:
            return 0
        events = [clean_event(event) for event in events]
        if self._task is None or self._task.done():
            raise RuntimeError("inbox writer is not running")
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(events, done))
        return await done

    async def _run(self) -> None:
        failures = 0
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(0)  # let requests that are already parsed join this commit
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                counts = await self._commit(batch)
            except Exception as exc:
                failures += 1
                if failures == 1:  # the traceback once, then a line per failed commit
                    log.exception("inbox commit failed for %d requests", len(batch))
                else:
                    log.warning("inbox commit failed again for %d requests (%s, %d in a row)",
                                len(batch), type(exc).__name__, failures)
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                continue
            if failures:
                log.info("inbox commits work again after %d failures", failures)
                failures = 0
            for item, count in zip(batch, counts, strict=True):
                if not item.done.done():
                    item.done.set_result(count)
            self._on_stored()

    async def _commit(self, batch: list[_Pending]) -> list[int]:
        now = self._clock.now()
        seen: set[str] = set()
        rows = []
        for item in batch:
            for event in item.events:
                if event.id not in seen:
                    seen.add(event.id)
                    rows.append(inbox_values(event, now))
        inserted = await self._store.insert(rows)
        known = {row["dedup_key"] for row in rows} - inserted
        counted: set[str] = set()
        counts = []
        new_in: dict[str, int] = {}  # per channel: one metric update per commit
        again_in: dict[str, int] = {}
        for item in batch:
            new = 0
            for event in item.events:
                channel = event.sender.channel
                if event.id in known or event.id in counted:
                    again_in[channel] = again_in.get(channel, 0) + 1
                else:
                    counted.add(event.id)
                    new_in[channel] = new_in.get(channel, 0) + 1
                    new += 1
            counts.append(new)
        for channel, n in new_in.items():
            self._metrics.events_in.labels(channel).inc(n)
        for channel, n in again_in.items():
            self._metrics.duplicates.labels(channel).inc(n)
        return counts
