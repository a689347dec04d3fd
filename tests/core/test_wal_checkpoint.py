"""SQLite's write-ahead log is folded back by the checkpointer, not by commits on the loop."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import text

from werkbot.bot.storage.database import Database
from werkbot.bot.storage.sqlite_checkpoint import WalCheckpointer
from werkbot.bot.storage.sqlite_connections import AUTOCHECKPOINT_PAGES
from werkbot.bot.testing import Harness

ROW = "x" * 4000  # about a page per row
WRITTEN = 800  # rows: about 3.2 MB through the log


async def _write(db: Database, rows: int) -> None:
    for start in range(0, rows, 10):
        async with db.session() as session:
            for n in range(start, start + 10):
                await session.execute(text("INSERT INTO t VALUES (:n, :x)"), {"n": n, "x": ROW})
        await asyncio.sleep(0.001)  # a server between transactions: serving requests


def _log_bytes(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


async def test_the_log_stays_small_while_commits_leave_checkpoints_alone(
        tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER, x TEXT)"))
            # A commit folds the log back only far beyond what the checkpointer lets
            # pile up.
            assert (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == (
                AUTOCHECKPOINT_PAGES)
        await _write(db, WRITTEN // 4)
        unattended = _log_bytes(path)
        assert unattended > WRITTEN // 4 * len(ROW)  # nothing folded it back meanwhile

        checkpointer = WalCheckpointer.of(db, interval=0.01)
        assert checkpointer is not None
        running = asyncio.create_task(checkpointer.run())
        try:
            await asyncio.sleep(0.05)  # the first round folds back what piled up
            await _write(db, WRITTEN)
            await asyncio.sleep(0.05)
            pages, copied = await checkpointer.checkpoint()
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        # The log started again from its beginning after each round: its file stayed far
        # smaller than what went through it.
        assert _log_bytes(path) < WRITTEN * len(ROW) / 2
        assert pages == copied  # all of it is in the database file
        async with db.session() as session:
            count = (await session.execute(text("SELECT count(*) FROM t"))).scalar()
        assert count == WRITTEN // 4 + WRITTEN
    finally:
        await db.close()


async def test_a_server_on_sqlite_runs_a_checkpointer(harness: Harness) -> None:
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "wal-checkpoint" in names
    assert os.path.exists(harness.settings.database.url.split("///", 1)[1])
