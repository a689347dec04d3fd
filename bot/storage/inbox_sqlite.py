"""The inbox store on an SQLite file: one thread hop per group commit.

Through SQLAlchemy and aiosqlite a commit costs a handful of thread round trips
(BEGIN IMMEDIATE, the insert, COMMIT, each handed to aiosqlite's thread and back) plus
the ORM's statement handling on the event loop, which is what webhook acknowledgement
waits on. Here a dedicated thread with its own `sqlite3` connection runs the whole
transaction (BEGIN IMMEDIATE, one multi-row insert that skips known keys and returns
what it inserted, COMMIT) in one call. The SQL is built from the `inbox` table's own
columns and their bind processors, so the stored values are the ones SQLAlchemy writes.
The in-process writer lock is still taken first (as urgent work: a webhook waits on
it), so this connection never races the engine's for SQLite's single write lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from werkbot.bot.storage.database import Database
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.storage.sqlite_connections import open_file, sqlite_file

# SQLite allows 32,766 host parameters per statement; keep well below it.
MAX_PARAMETERS = 30000


class SqliteInboxStore:
    """Inserts inbox rows on a dedicated connection, skipping known de-duplication keys."""

    def __init__(self, db: Database) -> None:
        path = sqlite_file(db.url)
        if path is None:
            raise ValueError(f"not an SQLite file: {db.url}")
        self._db = db
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-sqlite")
        self._connection: sqlite3.Connection | None = None
        table = InboxRow.__table__
        dialect = SQLiteDialect_aiosqlite()
        self._columns = [c.name for c in table.columns if c.name not in ("id", "handled_at")]
        self._processors: list[Callable[[Any], Any] | None] = [
            table.c[name].type.bind_processor(dialect) for name in self._columns]
        self._rows_per_statement = MAX_PARAMETERS // len(self._columns)

    async def insert(self, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """Insert in one transaction; returns the keys that were new."""
        loop = asyncio.get_running_loop()
        async with self._db.write_turn(urgent=True):
            return await loop.run_in_executor(self._executor, self._insert, rows)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    # -- on the writer thread ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = open_file(self._path, self._db.busy_ms)
        return self._connection

    def _insert(self, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        connection = self._connect()
        values = [self._bind(row) for row in rows]
        inserted: set[str] = set()
        connection.execute("BEGIN IMMEDIATE")
        try:
            step = self._rows_per_statement
            for start in range(0, len(values), step):
                chunk = values[start:start + step]
                cursor = connection.execute(self._statement(len(chunk)),
                                            [v for row in chunk for v in row])
                inserted.update(key for (key,) in cursor.fetchall())
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return inserted

    def _bind(self, row: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, process in zip(self._columns, self._processors, strict=True):
            value = row[name]
            out.append(process(value) if process is not None else value)
        return out

    def _statement(self, count: int) -> str:
        one = "(" + ", ".join("?" * len(self._columns)) + ")"
        # Column names come from the model and values are all bound: nothing user-made.
        return (f"INSERT INTO inbox ({', '.join(self._columns)}) VALUES "  # noqa: S608
                f"{', '.join([one] * count)} "
                "ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key")

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
