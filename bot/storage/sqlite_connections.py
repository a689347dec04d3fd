"""The SQLite connections werkbot opens, and what each is set to.

The engine's connections are aiosqlite's (`aiosqlite_creator`, given to SQLAlchemy's
aiosqlite dialect through the documented `async_creator`), and the `sqlite3` connection
under each is remembered (`sqlite_connection_of`). The ORM's statements run on
aiosqlite's thread. Transactions begin and end on the `sqlite3` connection directly
(`Database`'s listeners), and so do the statements run for every event (`inline_sql.py`):
SQLite answers them in microseconds, while each call through aiosqlite is a hand-over
between threads and back, which under load waits for the busy event loop as long as the
writer's turn is held. Only a write lock held by another process (a CLI command, a
backup) is waited for on aiosqlite's thread (`begin_unless_locked`). Using the one
connection from two threads is safe: the engine's calls on it are awaited one at a time
within its transaction, and one writer at a time holds `Database`'s writer lock.

The inbox store and the checkpointer open connections of their own (`open_file`), each
used from one thread. Every connection gets the same PRAGMAs as it opens.
"""

from __future__ import annotations

import logging
import sqlite3
import weakref
from collections.abc import Callable
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url

SHORT_BUSY_MS = 200  # the checkpointer's busy timeout: it tries again a second later
# WAL pages after which a commit folds the log back into the file itself. Far above what
# the server's checkpointer (`sqlite_checkpoint.py`) lets pile up: only a process
# without one (a CLI command) or a checkpointer that cannot keep up gets there.
AUTOCHECKPOINT_PAGES = 10_000
ITER_CHUNK_SIZE = 64  # rows aiosqlite fetches per hand-over (its own default)


def quiet_driver_logs() -> None:
    """aiosqlite logs every call at DEBUG with its arguments, the statements' parameters:
    personal data. Its level is raised to INFO (its warnings and errors still show)."""
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def apply_pragmas(connection: Any, busy_ms: int) -> None:
    """What every SQLite connection werkbot opens is set to, as soon as it is open:
    write-ahead log, `synchronous=NORMAL`, foreign keys on, `secure_delete` (erased data
    must not stay readable in the file), how long to wait for another process's write
    lock, and checkpoints left to the checkpointer (a commit that folds the log back
    would hold the writer's turn, and so every waiting webhook, for its writes and two
    fsyncs).
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


_SQLITE_OF: weakref.WeakKeyDictionary[aiosqlite.Connection, sqlite3.Connection] = (
    weakref.WeakKeyDictionary())


def sqlite_connection_of(driver: object) -> sqlite3.Connection | None:
    """The `sqlite3` connection under an aiosqlite connection `aiosqlite_creator` opened."""
    if isinstance(driver, aiosqlite.Connection):
        return _SQLITE_OF.get(driver)
    return None


def begin_unless_locked(connection: sqlite3.Connection, busy_ms: int) -> bool:
    """`BEGIN IMMEDIATE` on `connection`, at once, without waiting: False (and nothing
    begun) while another process holds SQLite's write lock. `busy_ms`: the connection's
    busy timeout, restored afterwards."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        return False
    finally:
        connection.execute(f"PRAGMA busy_timeout={busy_ms}")
    return True


def end_transaction(connection: sqlite3.Connection, statement: str) -> None:
    """`COMMIT` or `ROLLBACK` on `connection` if a transaction is open."""
    if connection.in_transaction:
        connection.execute(statement)


def sqlite_file(url: str) -> str | None:
    """The database file of an SQLite URL, or None when there is no shared file."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


class _EndsAtOnce(aiosqlite.Connection):
    """aiosqlite's connection, whose `commit` and `rollback` return at once when no
    transaction is open, as `sqlite3`'s do: `Database` ends every transaction on the
    `sqlite3` connection itself, and the engine's own commit that follows would otherwise
    be a hand-over to aiosqlite's thread and back for nothing, with the writer's turn
    held until the busy loop came round to it."""

    async def commit(self) -> None:
        if self.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if self.in_transaction:
            await super().rollback()


def aiosqlite_creator(path: str, lock_wait: float) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine`: aiosqlite on `path`, remembering
    the `sqlite3` connection under it for `bot/storage/inline_sql.py`.

    `lock_wait`: seconds a transaction waits for another process's write lock.
    """

    async def connect() -> aiosqlite.Connection:  # the engine's connect listener sets PRAGMAs
        opened: list[sqlite3.Connection] = []

        class Remembered(sqlite3.Connection):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                opened.append(self)

        def connector() -> sqlite3.Connection:  # what `aiosqlite.connect` would run
            return sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=lock_wait, factory=Remembered)

        driver = await _EndsAtOnce(connector, ITER_CHUNK_SIZE)
        _SQLITE_OF[driver] = opened[0]
        return driver

    return connect
