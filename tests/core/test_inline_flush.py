"""Changed rows flushed inline on SQLite (`bot/storage/inline_flush.py`) keep the ORM's promises.

What is stored is what the unit of work stores; the objects are clean afterwards; what
the inline flush cannot write as plainly (a new row beside the changes, a savepoint) is
left to the unit of work whole; a failed write ends the transaction, with nothing of it
stored; a row gone meanwhile is reported as the ORM reports it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from werkbot.bot.addresses import Address
from werkbot.bot.storage.database import Database
from werkbot.bot.storage.inline_sql import inline_connection
from werkbot.bot.storage.models import AddressRow, InboxRow, Person
from werkbot.bot.storage.repos import PeopleRepo

ALICE = Address("whatsapp", "+491701111111")
BOB = Address("sms", "+491702222222")
NOW = datetime(2026, 12, 2, 9, 0, 0, 123456, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


@pytest.fixture(autouse=True)
async def _rows_to_change(database: Database) -> None:
    async with database.session() as session:
        people = PeopleRepo(session)
        await people.create_customer(ALICE, NOW)
        await people.create_customer(BOB, NOW)
        session.add_all(_inbox(n) for n in range(3))


def _inbox(n: int) -> InboxRow:
    return InboxRow(dedup_key=f"k{n}", kind="TextEvent", sender=str(ALICE), payload="{}",
                    status="pending", available_at=NOW, created_at=NOW, attempts=0, error="")


@pytest.fixture(params=["inline", "engine"])
def transaction(request: pytest.FixtureRequest, database: Database,
                engine_sessions: async_sessionmaker[AsyncSession]
                ) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """A session in a transaction: inline, or the same through aiosqlite's thread (the
    ORM's own flush), which must behave alike."""
    if request.param == "inline":
        return database.session

    @asynccontextmanager
    async def session() -> AsyncIterator[AsyncSession]:
        async with engine_sessions() as session, session.begin():
            assert inline_connection(session) is None
            yield session

    return session


@contextmanager
def engine_updates(db: Database) -> Iterator[list[str]]:
    """The UPDATE statements that went through SQLAlchemy's engine meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE"):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _rows(session: AsyncSession) -> list[InboxRow]:
    return list((await session.scalars(select(InboxRow).order_by(InboxRow.id))).all())


def _stored(db_file: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_file) as raw:
        return raw.execute(sql).fetchall()


async def test_changed_rows_are_written_inline_as_the_orm_writes_them(
        database: Database, db_file: Path) -> None:
    with engine_updates(database) as through_engine:
        async with database.session() as session:
            rows = await _rows(session)
            for row in rows[:2]:
                row.status, row.handled_at = "done", LATER
            rows[2].attempts, rows[2].error = 1, "RuntimeError"
            found = await PeopleRepo(session).by_address(ALICE)
            assert found is not None
            found[1].last_seen_at = LATER
            await session.flush()
            assert not session.dirty  # clean, as after the unit of work's own UPDATEs
    assert through_engine == []
    assert _stored(db_file, "SELECT status, handled_at, attempts, error FROM inbox") == [
        ("done", "2026-12-02 10:00:00.123456", 0, ""),
        ("done", "2026-12-02 10:00:00.123456", 0, ""),
        ("pending", None, 1, "RuntimeError")]
    async with database.session() as session:
        seen = await session.scalar(select(AddressRow.last_seen_at)
                                    .where(AddressRow.address == str(ALICE)))
    assert seen == LATER


@pytest.mark.parametrize("transaction", ["engine"], indirect=True)
async def test_the_same_changes_through_the_engine_store_the_same(
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        db_file: Path) -> None:
    async with transaction() as session:
        for row in (await _rows(session))[:2]:
            row.status, row.handled_at = "done", LATER
    assert _stored(db_file, "SELECT status, handled_at FROM inbox ORDER BY id")[:2] == [
        ("done", "2026-12-02 10:00:00.123456")] * 2


async def test_a_value_set_to_what_it_was_writes_nothing(database: Database) -> None:
    with engine_updates(database) as through_engine:
        async with database.session() as session:
            row = (await _rows(session))[0]
            raw = inline_connection(session)
            assert raw is not None
            changes = raw.total_changes
            row.status = "pending"
            await session.flush()
            assert not session.dirty
            assert raw.total_changes == changes
    assert through_engine == []


async def test_a_new_row_beside_the_changes_leaves_the_flush_to_the_orm(
        database: Database) -> None:
    with engine_updates(database) as through_engine:
        async with database.session() as session:
            (await _rows(session))[0].status = "done"
            person = Person(kind="customer", display_name="", language="de", created_at=NOW)
            session.add(person)
            await session.flush()
            # The new person's address may only point at it once it is inserted.
            moved = await session.scalar(select(AddressRow)
                                         .where(AddressRow.address == str(BOB)))
            assert moved is not None
            moved.person_id = person.id
    assert any(sql.startswith("UPDATE inbox") for sql in through_engine)
    async with database.session() as session:
        assert (await _rows(session))[0].status == "done"
        owner = await session.scalar(select(AddressRow.person_id)
                                     .where(AddressRow.address == str(BOB)))
        assert owner == person.id


async def test_changes_in_a_savepoint_roll_back_with_it(database: Database) -> None:
    async with database.session() as session:
        rows = await _rows(session)

        async def failing_handler() -> None:
            async with session.begin_nested():
                rows[0].status = "done"
                await session.flush()
                raise RuntimeError("the handler failed")

        with pytest.raises(RuntimeError):
            await failing_handler()
        rows[1].status = "done"
    async with database.session() as session:
        assert [row.status for row in await _rows(session)] == ["pending", "done", "pending"]


async def test_a_failed_write_needs_a_rollback_and_stores_nothing(
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> None:
    async def failing_flush() -> None:
        async with transaction() as session:
            rows = await _rows(session)
            rows[0].status = "done"
            rows[1].dedup_key = rows[2].dedup_key  # unique: the UPDATE fails
            with pytest.raises(IntegrityError):
                await session.flush()
            await session.execute(text("SELECT 1"))  # the transaction is over

    with pytest.raises(InvalidRequestError, match="rolled back"):
        await failing_flush()
    async with transaction() as session:
        assert [row.status for row in await _rows(session)] == ["pending"] * 3


async def test_a_row_deleted_meanwhile_is_reported_as_the_orm_reports_it(
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> None:
    async def update_deleted() -> None:
        async with transaction() as session:
            row = (await _rows(session))[0]
            await session.execute(text("DELETE FROM inbox WHERE id = :id"), {"id": row.id})
            row.status = "done"
            await session.flush()

    with pytest.raises(StaleDataError):
        await update_deleted()
    async with transaction() as session:
        assert len(await _rows(session)) == 3  # the delete rolled back with the rest
