"""Row writes on the hot paths (`bot/storage/row_writes.py`) keep the ORM's promises.

Written inline or by the unit of work, what is stored is the same; the object holds the
new values and has nothing left to flush; inside a savepoint the change rolls back with
it; a failed transaction stores nothing; a row gone meanwhile is reported as the ORM
reports it; only plain columns can be set this way. A new row (`insert_row`) is the
session's own object, with its database id and its columns' defaults, found again by
later queries in the same transaction.
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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from werkbot.bot.addresses import Address
from werkbot.bot.storage.database import Database
from werkbot.bot.storage.inline_sql import inline_connection
from werkbot.bot.storage.models import AddressRow, InboxRow, Person
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.bot.storage.row_writes import insert_row, set_columns

ALICE = Address("whatsapp", "+491701111111")
NOW = datetime(2026, 12, 2, 9, 0, 0, 123456, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


@pytest.fixture(autouse=True)
async def _rows_to_change(database: Database) -> None:
    async with database.session() as session:
        await PeopleRepo(session).create_customer(ALICE, NOW)
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
def engine_updates(db: Database, verb: str = "UPDATE") -> Iterator[list[str]]:
    """The UPDATE (or `verb`) statements that went through SQLAlchemy's engine meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(verb):
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


async def test_columns_are_stored_alike_inline_or_by_the_unit_of_work(
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        db_file: Path) -> None:
    async with transaction() as session:
        rows = await _rows(session)
        for row in rows[:2]:
            set_columns(session, row, status="done", handled_at=LATER)
        set_columns(session, rows[2], attempts=1, error="RuntimeError")
        found = await PeopleRepo(session).by_address(ALICE)
        assert found is not None
        set_columns(session, found[1], last_seen_at=LATER, unreachable_at=None)
        assert rows[0].status == "done" and rows[2].attempts == 1  # the object has them
    assert _stored(db_file, "SELECT status, handled_at, attempts, error FROM inbox") == [
        ("done", "2026-12-02 10:00:00.123456", 0, ""),
        ("done", "2026-12-02 10:00:00.123456", 0, ""),
        ("pending", None, 1, "RuntimeError")]
    assert _stored(db_file, "SELECT last_seen_at FROM addresses") == [
        ("2026-12-02 10:00:00.123456",)]


async def test_inline_the_row_is_written_at_once_and_left_clean(database: Database) -> None:
    with engine_updates(database) as through_engine:
        async with database.session() as session:
            row = (await _rows(session))[0]
            set_columns(session, row, status="done", handled_at=LATER)
            assert not session.dirty  # nothing left for the unit of work
            stored = await session.scalar(text("SELECT status FROM inbox WHERE id = :id"),
                                          {"id": row.id})
            assert stored == "done"  # in the transaction already, not at the flush
    assert through_engine == []


async def test_changes_in_a_savepoint_roll_back_with_it(database: Database) -> None:
    async with database.session() as session:
        rows = await _rows(session)

        async def failing_handler() -> None:
            async with session.begin_nested():
                set_columns(session, rows[0], status="done")
                await session.flush()
                raise RuntimeError("the handler failed")

        with pytest.raises(RuntimeError):
            await failing_handler()
        set_columns(session, rows[1], status="done")
    async with database.session() as session:
        assert [row.status for row in await _rows(session)] == ["pending", "done", "pending"]


async def test_a_failed_transaction_stores_none_of_it(
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> None:
    async def crash_before_the_commit() -> None:
        async with transaction() as session:
            set_columns(session, (await _rows(session))[0], status="done")
            raise RuntimeError("crash before the commit")

    with pytest.raises(RuntimeError):
        await crash_before_the_commit()
    async with transaction() as session:
        assert [row.status for row in await _rows(session)] == ["pending"] * 3


async def test_a_row_deleted_meanwhile_is_reported_as_the_orm_reports_it(
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> None:
    async def update_deleted() -> None:
        async with transaction() as session:
            row = (await _rows(session))[0]
            await session.execute(text("DELETE FROM inbox WHERE id = :id"), {"id": row.id})
            set_columns(session, row, status="done")
            await session.flush()

    with pytest.raises(StaleDataError):
        await update_deleted()
    async with transaction() as session:
        assert len(await _rows(session)) == 3  # the delete rolled back with the rest


async def test_only_plain_columns_can_be_set(database: Database) -> None:
    async with database.session() as session:
        row = (await _rows(session))[0]
        with pytest.raises(ValueError, match="not a plain column"):
            set_columns(session, row, id=99)
        with pytest.raises(ValueError, match="not a plain column"):
            set_columns(session, row, no_such_column=1)


BOB = Address("sms", "+491702222222")


async def test_a_new_row_is_the_sessions_own_with_its_defaults(
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        db_file: Path) -> None:
    async with transaction() as session:
        person = await insert_row(session, Person, kind="customer", created_at=NOW)
        address = await insert_row(session, AddressRow, person_id=person.id,
                                   address=str(BOB), channel="sms", created_at=NOW)
        assert person.id > 1 and address.id > 1  # the database's ids (Alice has 1)
        assert (person.display_name, person.language, person.staff_id) == ("", "de", None)
        assert address.position == 0 and address.window_until is None
        assert not session.new and not session.dirty
        found = await PeopleRepo(session).by_address(BOB)
        assert found is not None
        assert found[0] is person and found[1] is address  # one object per row
        set_columns(session, address, last_seen_at=LATER)
        assert address.last_seen_at == LATER
    assert _stored(db_file, "SELECT kind, display_name, language, created_at FROM persons "
                            "ORDER BY id") == [
        ("customer", "", "de", "2026-12-02 09:00:00.123456"),
        ("customer", "", "de", "2026-12-02 09:00:00.123456")]
    assert _stored(db_file, "SELECT address, position, last_seen_at FROM addresses "
                            "WHERE channel = 'sms'") == [
        (str(BOB), 0, "2026-12-02 10:00:00.123456")]


async def test_inline_a_new_row_is_written_at_once(database: Database) -> None:
    with engine_updates(database, "INSERT") as through_engine:
        async with database.session() as session:
            person = await insert_row(session, Person, kind="customer", created_at=NOW)
            stored = await session.scalar(text("SELECT kind FROM persons WHERE id = :id"),
                                          {"id": person.id})
            assert stored == "customer"
    assert through_engine == []


async def test_new_rows_roll_back_with_their_transaction_or_savepoint(
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        db_file: Path) -> None:
    async def crash_before_the_commit() -> None:
        async with transaction() as session:
            await insert_row(session, Person, kind="customer", created_at=NOW)
            raise RuntimeError("crash before the commit")

    async def fail_in_a_savepoint(session: AsyncSession) -> None:
        async with session.begin_nested():
            await insert_row(session, Person, kind="staff", created_at=NOW)
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await crash_before_the_commit()
    async with transaction() as session:
        with pytest.raises(RuntimeError):
            await fail_in_a_savepoint(session)
        await insert_row(session, Person, kind="customer", display_name="Bob",
                         created_at=NOW)
    assert _stored(db_file, "SELECT display_name FROM persons ORDER BY id") == [("",),
                                                                               ("Bob",)]


async def test_a_new_row_needs_its_required_columns_and_no_others(database: Database
                                                                  ) -> None:
    async with database.session() as session:
        with pytest.raises(ValueError, match="needs kind, created_at"):
            await insert_row(session, Person)
        with pytest.raises(ValueError, match="no_such_column"):
            await insert_row(session, Person, kind="customer", created_at=NOW,
                             no_such_column=1)
