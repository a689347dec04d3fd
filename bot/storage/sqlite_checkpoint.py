"""Folds SQLite's write-ahead log back into the database file, off the event loop.

By default SQLite does this inside the commit that takes the log past 1,000 pages: it
copies them into the file and syncs both to disk, in the writer's turn, so every webhook
waiting to be stored would wait for as long. Instead the connections
(`sqlite_connections.py`) leave it to this checkpointer (`AUTOCHECKPOINT_PAGES` is only
a safety net):
every `INTERVAL` it runs a checkpoint on a connection and thread of its own, while the
loop goes on serving, and then a second one, for the pages the loop's commits added
meanwhile, in the in-process writer turn (as background work, after waiting webhooks).
That second copy is complete with no transaction of the process open across it, so the
next transaction starts the log from its beginning again, which keeps the file small.
Another process writing at the same time (a CLI command) leaves the rest for the next
round.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from werkbot.bot.storage.database import Database
from werkbot.bot.storage.sqlite_connections import SHORT_BUSY_MS, open_file, sqlite_file

log = logging.getLogger(__name__)
INTERVAL = 1.0  # seconds between checkpoints


class WalCheckpointer:
    """Checkpoints one SQLite file's log every `interval` seconds until cancelled."""

    def __init__(self, db: Database, path: str, interval: float = INTERVAL) -> None:
        self._db = db
        self._path = path
        self._interval = interval
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-checkpoint")
        self._connection: sqlite3.Connection | None = None

    @classmethod
    def of(cls, db: Database, interval: float = INTERVAL) -> WalCheckpointer | None:
        """The checkpointer for `db`, or None when it is not an SQLite file."""
        path = sqlite_file(db.url) if db.is_sqlite else None
        return None if path is None else cls(db, path, interval)

    async def run(self) -> None:
        """Checkpoint every interval until cancelled; a failed round is logged and the
        next one tries again (the safety net keeps the log bounded meanwhile)."""
        failed = False
        try:
            while True:
                await asyncio.sleep(self._interval)
                try:
                    await self.checkpoint()
                except Exception:  # the file locked or gone for a while, or a bug: say so
                    if not failed:
                        log.warning("WAL checkpoint failed; trying again", exc_info=True)
                    failed = True
                else:
                    failed = False
        finally:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
            self._executor.shutdown(wait=False)

    async def checkpoint(self) -> tuple[int, int]:
        """One checkpoint: (pages in the log, pages copied back into the file).

        Twice: first while the loop's commits go on (the bulk of the copy and its
        fsyncs), then in the writer turn for what they added meanwhile. Only a copy no
        open transaction outlasts lets the next one start the log afresh.
        """
        loop = asyncio.get_running_loop()
        pages, copied = await loop.run_in_executor(self._executor, self._checkpoint)
        if pages <= 0:  # nothing written since the log last started again
            return pages, copied
        async with self._db.write_turn():
            return await loop.run_in_executor(self._executor, self._checkpoint)

    # -- on the checkpoint thread --------------------------------------------------------

    def _checkpoint(self) -> tuple[int, int]:
        if self._connection is None:  # never a long wait: the second step holds the turn
            self._connection = open_file(self._path, SHORT_BUSY_MS)
        _busy, pages, copied = self._connection.execute(
            "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(pages), int(copied)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
