"""The database handle: one async engine, transactions, and SQLite's single-writer rule.

SQLite (the embedded default) runs in WAL mode with `synchronous=NORMAL`,
`secure_delete` (erased data must not stay readable in the file) and foreign keys on.
Its transactions start with `BEGIN IMMEDIATE`, and an in-process lock keeps to one writer,
so a busy database waits in the event loop instead of failing half-way. Another process
holding SQLite's write lock is waited for up to the busy timeout (30 s; `?timeout=5` in
the URL sets it in seconds), then the transaction fails ("database is locked"): a webhook
is answered 503 and redelivered, the workers retry. PostgreSQL (asyncpg) needs neither:
several processes share it with `FOR UPDATE SKIP LOCKED`; pooled connections are pinged
before use, so after a database restart the pool reconnects instead of failing once per
stale connection.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from werkbot.bot.storage.inline_sql import InlineSession, Prepared, watch_inline_connections
from werkbot.bot.storage.sqlite_connections import (
    SHORT_BUSY_MS,
    aiosqlite_creator,
    apply_pragmas,
    begin_unless_locked,
    end_transaction,
    quiet_driver_logs,
    sqlite_connection_of,
    sqlite_file,
)
from werkbot.bot.storage.sqlite_peek import DuePeek

log = logging.getLogger(__name__)
MIGRATE_URL_ENV = "_WERKBOT_MIGRATE_URL"  # `serve` hands the URL to its migration child
BUSY_TIMEOUT = 30.0  # seconds SQLite waits for another process's write lock


class Database:
    """Owns the engine; hands out transactions as sessions or core connections."""

    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        self.busy_timeout = sqlite_busy_timeout(url) if self.is_sqlite else 0.0
        self.busy_ms = round(self.busy_timeout * 1000)  # as SQLite's PRAGMA takes it
        path = sqlite_file(url) if self.is_sqlite else None
        if self.is_sqlite:
            ensure_sqlite_dir(url)
            quiet_driver_logs()
            kwargs["connect_args"] = {"timeout": self.busy_timeout}
        if path is not None:  # a file: aiosqlite, its sqlite3 connection kept for inline_sql
            # Nothing to reset when a connection goes back to the pool: its transaction
            # has ended on the sqlite3 connection (the `commit`/`rollback` listeners), and
            # outside one it is in autocommit mode.
            kwargs = {"async_creator": aiosqlite_creator(path, self.busy_timeout),
                      "pool_reset_on_return": None}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine, self.busy_ms)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False,
                                            sync_session_class=InlineSession)
        self._write_lock = WriterLock() if self.is_sqlite else None
        self._inline = path is not None  # sqlite3 on the loop: bot/storage/inline_sql.py
        if self._inline:
            watch_inline_connections()
        self._peek = DuePeek(path)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self._writer(), self._sessions() as session, session.begin():
            if self._inline:  # the connection now: its first statement (a claim) runs inline
                await session.connection()
            yield session

    @asynccontextmanager
    async def connect(self, *, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A core connection inside one transaction (the hot paths use this).

        `urgent` work (storing webhooks someone is waiting on) goes before queued
        background work for SQLite's single writer.
        """
        async with self._writer(urgent), self.engine.begin() as conn:
            yield conn

    def write_turn(self, *, urgent: bool = False) -> AbstractAsyncContextManager[None]:
        """SQLite's in-process writer turn, for work on a connection of its own."""
        return self._writer(urgent)

    def may_find(self, statement: Prepared, values: Mapping[str, Any]) -> bool:
        """Whether a claim's SELECT `statement` may find a row: False only when a read of
        what is committed finds none (an SQLite file; elsewhere always True).
        bot/storage/sqlite_peek.py says why the workers ask before claiming."""
        return self._peek.finds(statement, values)

    def urgent_waited(self) -> float | None:
        """Seconds the oldest urgent work (webhooks to store) has waited for the writer;
        None when none waits. Long background work yields once this passes its budget."""
        return None if self._write_lock is None else self._write_lock.urgent_waited()

    @asynccontextmanager
    async def _writer(self, urgent: bool = False) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
            return
        await self._write_lock.acquire(urgent)
        try:
            yield
        finally:
            self._write_lock.release()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False
        return True

    async def checkpoint(self) -> None:
        """Fold the WAL into the main file, so deleted data leaves no readable copy there."""
        if self.is_sqlite:
            # On the driver connection, outside any transaction: SQLite refuses a checkpoint
            # inside the BEGIN IMMEDIATE that every SQLAlchemy transaction here starts with.
            # Briefly: it waits for readers, in the writer's turn; the checkpointer
            # (`sqlite_checkpoint.py`) folds back what is left a second later.
            async with self._writer(), self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection
                await driver.execute(f"PRAGMA busy_timeout={SHORT_BUSY_MS}")
                try:
                    cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    await cursor.close()
                finally:
                    await driver.execute(f"PRAGMA busy_timeout={self.busy_ms}")

    async def close(self) -> None:
        self._peek.close()
        await self.engine.dispose()


class WriterLock:
    """SQLite's one writer per process, with urgent holders first.

    Urgent waiters (the inbox storing webhooks someone waits on) go before background work
    (handling, sending); background work that has waited longer than `PATIENCE` gets the
    turn after an urgent one anyway, so handling slows under a flood but never stops. Urgent
    work waits for at most one background turn: while another process holds SQLite's lock
    each turn can last the whole busy timeout, and webhooks must not wait for several. The
    lock is handed over directly to the next waiter; `release` is synchronous, so it cannot
    be lost to a cancellation half-way.
    """

    PATIENCE = 0.05

    def __init__(self) -> None:
        self._held = False
        self._holder_urgent = False
        self._urgent: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._background: deque[tuple[float, asyncio.Future[None]]] = deque()

    def urgent_waited(self) -> float | None:
        if not self._urgent:
            return None
        return asyncio.get_running_loop().time() - self._urgent[0][0]

    async def acquire(self, urgent: bool) -> None:
        if not self._held and not self._urgent and not self._background:
            self._held, self._holder_urgent = True, urgent
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        (self._urgent if urgent else self._background).append((loop.time(), waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            elif urgent:
                self._urgent = deque(w for w in self._urgent if w[1] is not waiter)
            else:
                self._background = deque(w for w in self._background if w[1] is not waiter)
            raise

    def release(self) -> None:
        now = asyncio.get_running_loop().time()
        while True:
            if self._background and (not self._urgent or (
                    self._holder_urgent and now - self._background[0][0] > self.PATIENCE)):
                self._holder_urgent = False
                waiter = self._background.popleft()[1]
            elif self._urgent:
                self._holder_urgent = True
                waiter = self._urgent.popleft()[1]
            else:
                self._held = False
                return
            if not waiter.done():  # a waiter cancelled meanwhile is skipped
                waiter.set_result(None)
                return


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of an SQLite database file (SQLite creates only the file)."""
    if not url.startswith("sqlite"):
        return
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def sqlite_busy_timeout(url: str) -> float:
    """Seconds to wait for SQLite's write lock: the URL's `timeout` (as for `sqlite3`)."""
    value = make_url(url).query.get("timeout")
    if isinstance(value, tuple):
        value = value[-1] if value else None
    if value is None:
        return BUSY_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"database.url: timeout={value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 3600:
        raise ValueError("database.url: timeout must be between 0 and 3600 seconds")
    return seconds


def _configure_sqlite(engine: AsyncEngine, busy_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        apply_pragmas(dbapi_connection, busy_ms)

    # Transactions begin and end on the sqlite3 connection directly: through aiosqlite,
    # each would be thread hand-overs while the writer's turn is held. Only a write lock
    # held by another process is waited for on aiosqlite's thread. The driver's own
    # commit or rollback that follows finds nothing to do.

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        raw = _sqlite_of(conn)
        if raw is None or not begin_unless_locked(raw, busy_ms):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine.sync_engine, "commit")
    def _on_commit(conn: Connection) -> None:
        raw = _sqlite_of(conn)
        if raw is not None:
            end_transaction(raw, "COMMIT")

    @event.listens_for(engine.sync_engine, "rollback")
    def _on_rollback(conn: Connection) -> None:
        raw = _sqlite_of(conn)
        if raw is not None:
            end_transaction(raw, "ROLLBACK")

    @event.listens_for(engine.sync_engine.pool, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        # A task cancelled during a call on aiosqlite's thread: the pool closes the
        # connection on that thread, after whatever runs there. Its transaction ends now,
        # so the write lock it holds does not keep every other writer waiting meanwhile.
        raw = sqlite_connection_of(record.driver_connection)
        if raw is not None:
            try:
                end_transaction(raw, "ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("rolling back an invalidated connection failed: %s", exc)


def _sqlite_of(conn: Connection) -> sqlite3.Connection | None:
    """The sqlite3 connection under `conn`; None if there is none, or if `conn` was
    invalidated (the `invalidate` listener has ended its transaction)."""
    if conn.invalidated:
        return None
    return sqlite_connection_of(conn.connection.driver_connection)
