"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every call (cursor, execute, fetch, close) on a worker thread and wakes
the event loop for each result: about four hand-overs per statement, which measured at
~450 µs of a ~600 µs statement, while SQLite itself answers an indexed query or a WAL
write in tens of microseconds. This module gives SQLAlchemy's aiosqlite dialect (through
`create_async_engine(..., async_creator=...)`) a connection with aiosqlite's async
surface that calls `sqlite3` directly on the event loop.

What makes blocking the loop safe here: within the process one writer at a time holds
`Database`'s writer lock, so no statement waits for another of ours; reads never wait in
WAL mode. The one wait left is another *process* holding SQLite's write lock (a CLI
command, a backup tool): `BEGIN IMMEDIATE` is therefore tried without a busy handler
and, while the database is locked, retried with `asyncio.sleep` (the loop keeps serving)
until the database's busy timeout has passed; statements inside the transaction then hold the lock.
Everything else keeps a short busy timeout, so nothing blocks the loop for long.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.engine import make_url

SHORT_BUSY_MS = 200  # busy timeout for everything else (checkpoints, schema reads)
# WAL pages after which a commit folds the log back into the file itself. Far above what
# the server's checkpointer (`sqlite_checkpoint.py`) lets pile up: only a process
# without one (a CLI command) or a checkpointer that cannot keep up gets there.
AUTOCHECKPOINT_PAGES = 10_000


def apply_pragmas(connection: Any, busy_ms: int) -> None:
    """What every SQLite connection werkbot opens is set to, as soon as it is open:
    write-ahead log, `synchronous=NORMAL`, foreign keys on, `secure_delete` (erased data
    must not stay readable in the file), how long to wait for another process's write
    lock, and checkpoints left to the checkpointer (a commit on the event loop that
    folds the log back would stop the loop for its writes and two fsyncs).
    `connection`: a DB-API connection (`sqlite3`'s or SQLAlchemy's adapted)."""
    cursor = connection.cursor()
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       "secure_delete=ON", f"busy_timeout={busy_ms}",
                       f"wal_autocheckpoint={AUTOCHECKPOINT_PAGES}"):
            cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def open_file(path: str, busy_ms: int) -> sqlite3.Connection:
    """A `sqlite3` connection of werkbot's own to `path` (the inbox store's, the
    checkpointer's): autocommit unless a statement begins a transaction, usable from the
    thread that owns it, PRAGMAs applied."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                 timeout=busy_ms / 1000)
    apply_pragmas(connection, busy_ms)
    return connection


class _Immediately:
    """Stands in for aiosqlite's job queue: SQLAlchemy puts the isolation-level setter
    there; here it runs at once."""

    def put_nowait(self, job: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = job
        try:
            result = function()
        except Exception as exc:  # handed to the waiting caller, as aiosqlite does
            future.set_exception(exc)
        else:
            future.set_result(result)


class InlineCursor:
    """aiosqlite's cursor surface over a `sqlite3.Cursor`, without a thread."""

    def __init__(self, cursor: sqlite3.Cursor, lock_wait: float) -> None:
        self._cursor = cursor
        self._lock_wait = lock_wait

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        if sql.lstrip()[:15].upper() == "BEGIN IMMEDIATE":
            await _begin_immediate(self._cursor, self._lock_wait)
        elif parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]
                          ) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """aiosqlite's connection surface over a `sqlite3.Connection`, without a thread."""

    def __init__(self, connection: sqlite3.Connection, lock_wait: float) -> None:
        self._conn = connection
        self._lock_wait = lock_wait
        self._tx = _Immediately()

    @property
    def _connection(self) -> sqlite3.Connection | None:  # SQLAlchemy checks it is open
        return self._conn

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The `sqlite3` connection itself (`bot/storage/inline_sql.py` runs on it)."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor(), self._lock_wait)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


async def _begin_immediate(cursor: sqlite3.Cursor, lock_wait: float) -> None:
    connection = cursor.connection
    deadline = time.monotonic() + lock_wait
    delay = 0.001
    connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(delay)  # another process writes: wait without blocking
            delay = min(delay * 2, 0.05)
    finally:
        connection.execute(f"PRAGMA busy_timeout={SHORT_BUSY_MS}")


def sqlite_file(url: str) -> str | None:
    """The database file of an SQLite URL, or None when there is no shared file."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def inline_creator(path: str, lock_wait: float) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` opening `path` inline.

    `lock_wait`: seconds a transaction waits for another process's write lock.
    """

    async def connect() -> InlineConnection:  # the engine's connect listener sets PRAGMAs
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        return InlineConnection(connection, lock_wait)

    return connect
