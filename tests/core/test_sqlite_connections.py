"""The engine's SQLite connections (`bot/storage/sqlite_connections.py`): aiosqlite's,
with the hot statements on the `sqlite3` connection under them.

Another process holding SQLite's write lock (a CLI command, a backup) is waited for on
aiosqlite's thread: the server goes on serving meanwhile, and the transaction goes on
when the lock is free. What runs inline and what runs through aiosqlite is one
transaction on one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import text

from werkbot.bot.storage.database import Database
from werkbot.bot.storage.inline_sql import inline_connection


async def test_a_write_lock_of_another_process_is_waited_for_while_the_loop_serves(
        tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = Database(f"sqlite+aiosqlite:///{path}?timeout=20")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
        other.execute("BEGIN IMMEDIATE")  # another process writes

        async def write() -> None:
            async with db.session() as session:
                await session.execute(text("INSERT INTO t VALUES (1)"))

        writing = asyncio.create_task(write())
        served = 0
        for _ in range(20):  # meanwhile the loop serves others
            await asyncio.sleep(0.01)
            served += 1
        assert served == 20 and not writing.done()  # still waiting, not failed
        other.execute("COMMIT")
        await writing
        assert other.execute("SELECT n FROM t").fetchall() == [(1,)]
    finally:
        other.close()
        await db.close()


async def test_inline_and_engine_statements_are_one_transaction(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
        async with db.session() as session:
            raw = inline_connection(session)
            assert raw is not None
            raw.execute("INSERT INTO t VALUES (1)")
            # The engine's connection sees the inline row before the commit.
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 1
            await session.rollback()
        async with db.session() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await db.close()


async def test_a_transaction_cancelled_on_the_drivers_thread_leaves_no_lock(
        tmp_path: Path) -> None:
    # An office browser that goes away cancels its request while a statement of it
    # runs on aiosqlite's thread; SQLAlchemy then gives up that connection.
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}?timeout=20")
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
        started = asyncio.Event()

        async def long_read() -> None:
            async with db.session() as session:
                started.set()
                await session.execute(text(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "WHERE x < 3000000) SELECT count(*) FROM c"))

        reading = asyncio.create_task(long_read())
        await started.wait()
        await asyncio.sleep(0.05)  # the read is on aiosqlite's thread now
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        # The next writer does not wait for the given-up connection's write lock (it
        # would wait the whole 20 s busy timeout and fail).
        async with asyncio.timeout(10), db.session() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
        async with db.session() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    finally:
        await db.close()
