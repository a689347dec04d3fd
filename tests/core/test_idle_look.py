"""A worker that finds nothing to do costs nothing and takes no lock (SQLite).

The dispatcher and the outbox sender look for due rows after every round and at every
poll. On an SQLite file they first read whether anything is due (bot/storage/sqlite_peek.py)
and open a write transaction only when something is: an idle server does not queue for
the write lock behind a backup or a CLI command, and a look that finds nothing holds no
snapshot that a checkpoint would have to wait for. Due work is never hidden by it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from tests.conftest import menu_bundle
from werkbot.bot.adapter import SendError
from werkbot.bot.addresses import Address
from werkbot.bot.server import DISPATCHER, OUTBOX
from werkbot.bot.settings import Settings
from werkbot.bot.storage.database import Database
from werkbot.bot.storage.inline_sql import Prepared
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.storage.sqlite_peek import DuePeek
from werkbot.bot.testing import Harness, make_settings
from werkbot.bot.testing import text as text_event

CUSTOMER = Address("whatsapp", "+491701234567")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Another process's write lock is waited for a fifth of a second, not 30 s.
    return make_settings(tmp_path, database={
        "url": f"sqlite+aiosqlite:///{tmp_path / 'werkbot.db'}?timeout=0.2"})


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    async with Harness(settings, menu_bundle()) as h:
        yield h


@contextmanager
def writer_elsewhere(path: str) -> Iterator[None]:
    """Another process (a backup, `werkbot db ...`) holding SQLite's write lock."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def db_path(settings: Settings) -> str:
    return settings.database.url.removeprefix("sqlite+aiosqlite:///").split("?")[0]


async def test_idle_workers_do_not_wait_for_another_writer(
        harness: Harness, settings: Settings) -> None:
    await harness.say(CUSTOMER, "hilfe")  # the tables in use, nothing left due
    with writer_elsewhere(db_path(settings)):
        assert await harness.app[DISPATCHER].handle_batch() == 0
        assert await harness.app[OUTBOX].send_due() == 0


async def test_due_work_is_claimed_even_while_another_writer_holds_the_lock(
        harness: Harness, settings: Settings) -> None:
    await harness.feed(text_event(CUSTOMER, "hilfe", at=harness.clock.now()))
    with writer_elsewhere(db_path(settings)), pytest.raises(OperationalError, match="locked"):
        await harness.app[DISPATCHER].handle_batch()  # it tried: the look saw the row
    await harness.run()
    assert len(harness.adapter("whatsapp").to(CUSTOMER)) == 1


async def test_a_reply_due_for_a_retry_is_found_when_its_time_comes(
        harness: Harness, settings: Settings) -> None:
    adapter = harness.adapter("whatsapp")
    adapter.failures.append(SendError("provider busy", code="20429", retryable=True))
    await harness.say(CUSTOMER, "hilfe")
    assert adapter.to(CUSTOMER) == []
    assert await harness.app[OUTBOX].send_due() == 0  # waiting for its retry
    harness.clock.advance(timedelta(minutes=5))
    assert await harness.app[OUTBOX].send_due() == 1
    assert len(adapter.to(CUSTOMER)) == 1


async def test_a_look_holds_no_snapshot_a_checkpoint_would_wait_for(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
        assert db.may_find(Prepared(select(text("n")).select_from(text("t"))), {})
        other = sqlite3.connect(path, isolation_level=None)
        try:
            busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            other.close()
        assert busy == 0
        assert Path(f"{path}-wal").stat().st_size == 0
    finally:
        await db.close()


def test_a_look_that_cannot_read_says_maybe_and_says_so_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "not-a-database.db"
    broken.write_bytes(b"this is no SQLite file" * 100)
    peek = DuePeek(str(broken))
    due = Prepared(select(InboxRow.id).limit(1))
    with caplog.at_level(logging.WARNING):
        assert peek.finds(due, {}) is True
        assert peek.finds(due, {}) is True
    peek.close()
    assert [r.getMessage() for r in caplog.records].count(
        "looking for due rows failed (DatabaseError); claiming instead") == 1


def test_without_a_file_of_its_own_every_look_is_maybe() -> None:
    due = Prepared(select(InboxRow.id).limit(1))
    assert DuePeek(None).finds(due, {}) is True
