"""A WAL checkpoint after erasure, so erased rows leave no readable copy in SQLite's files.

`secure_delete` (on in the core) zeroes freed bytes in the pages; the checkpoint folds the
WAL, which still holds the old page images, into the main file and truncates it.
"""

from __future__ import annotations

import asyncio
import logging

from werkbot.bot.services import Services

log = logging.getLogger(__name__)
_checkpoints: set[asyncio.Task[None]] = set()


def request_checkpoint(services: Services) -> None:
    """Checkpoint the SQLite WAL once the current transaction has committed.

    The task waits for the single-writer lock the running transaction holds, so it runs
    right after the commit (or rollback, which is harmless).
    """
    if not services.db.is_sqlite:
        return
    task = asyncio.get_running_loop().create_task(_checkpoint(services), name="wal-checkpoint")
    _checkpoints.add(task)
    task.add_done_callback(_checkpoints.discard)


async def _checkpoint(services: Services) -> None:
    try:
        await services.db.checkpoint()  # waits for the writer lock, i.e. for the commit
    except Exception:
        log.warning("WAL checkpoint after erasure failed; SQLite checkpoints later",
                    exc_info=True)


async def wait_for_checkpoints() -> None:
    """Wait for requested checkpoints (tests, shutdown)."""
    while _checkpoints:
        await asyncio.gather(*list(_checkpoints), return_exceptions=True)
