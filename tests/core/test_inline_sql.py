"""Hot statements run raw on SQLite (`bot/storage/inline_sql.py`) keep the engine's promises.

What they store must be what SQLAlchemy would store (a reply queued raw is claimed by the
sender at its time, not before), the objects they load must be the session's own (a
change to the sender's address is saved at commit, a second lookup sees it), they roll
back with a savepoint, and without the inline connection the same calls run through the
engine with the same results.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from werkbot.bot.addresses import Address
from werkbot.bot.replies import TextReply
from werkbot.bot.storage.database import Database
from werkbot.bot.storage.inline_sql import InlineSession, Prepared, inline_connection
from werkbot.bot.storage.models import AddressRow, OutboxRow, Person
from werkbot.bot.storage.repos import OutboxRepo, PeopleRepo, StateRepo

ALICE = Address("whatsapp", "+491701111111")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=BERLIN)


async def _alice(session: AsyncSession) -> None:
    await PeopleRepo(session).create_customer(ALICE, NOW)


async def test_the_dispatchers_session_runs_inline(database: Database) -> None:
    async with database.session() as session:
        # From its first statement on (the claim), not only after the ORM touched it.
        assert inline_connection(session) is not None
        await _alice(session)
        assert inline_connection(session) is not None


async def _store_alice(database: Database) -> None:
    async with database.session() as session:
        await _alice(session)


async def _look_up_alice(session: AsyncSession) -> tuple[PeopleRepo, Person, AddressRow]:
    people = PeopleRepo(session)
    found = await people.by_address(ALICE)
    assert found is not None
    return people, found[0], found[1]


async def test_a_reply_queued_inline_is_stored_as_the_engine_stores_it(
        database: Database, db_file: Path) -> None:
    async with database.session() as session:
        await _alice(session)
        await OutboxRepo(session).enqueue(ALICE, [TextReply(text="inline")], NOW)
        # The same row through the ORM's unit of work, for comparison.
        session.add(OutboxRow(address=str(ALICE), kind="text", payload="{}", status="queued",
                              attempts=0, next_attempt_at=NOW, created_at=NOW,
                              updated_at=NOW))
    with sqlite3.connect(db_file) as raw:
        stored = raw.execute("SELECT next_attempt_at, created_at FROM outbox ORDER BY id"
                             ).fetchall()
    assert stored[0] == stored[1]
    assert stored[0][0] == "2026-12-02 09:00:00.123456"  # UTC, as SQLAlchemy writes it
    async with database.session() as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
    assert [row.next_attempt_at for row in rows] == [NOW.astimezone(UTC)] * 2


async def test_a_reply_queued_inline_is_claimed_at_its_time_not_before(
        database: Database) -> None:
    from werkbot.bot.outbox import LEASE, ClaimedReply, _claim_statement

    claim = Prepared(_claim_statement(True))
    later = NOW + timedelta(minutes=5)
    async with database.session() as session:
        await _alice(session)
        await OutboxRepo(session).enqueue(ALICE, [TextReply(text="later")], later)
    async with database.session() as session:
        early = await claim.all(session, {"now": later - timedelta(microseconds=1),
                                          "lease_until": later + LEASE})
        due = await claim.all(session, {"now": later, "lease_until": later + LEASE})
    assert early == []
    (row,) = [ClaimedReply(*found) for found in due]
    # What RETURNING gives is read as the engine reads it (a UTC datetime, not text).
    assert (row.address, row.attempts, row.created_at) == (str(ALICE), 1,
                                                           later.astimezone(UTC))
    async with database.session() as session:
        stored = await session.scalar(select(OutboxRow))
    assert stored is not None
    assert (stored.status, stored.lease_until) == ("sending", (later + LEASE).astimezone(UTC))


async def test_the_sender_lookup_gives_the_sessions_own_objects(database: Database) -> None:
    seen = NOW + timedelta(hours=1)
    await _store_alice(database)
    async with database.session() as session:
        people, person, address = await _look_up_alice(session)
        assert person in session and address in session
        assert not session.dirty  # loaded, not changed
        assert address.created_at == NOW.astimezone(UTC)
        address.last_seen_at = seen
        again = await people.by_address(ALICE)
        assert again is not None and again[1] is address
        assert again[1].last_seen_at == seen  # the change not flushed yet is kept
    async with database.session() as session:
        stored = await session.scalar(select(AddressRow.last_seen_at))
    assert stored == seen.astimezone(UTC)


async def test_inline_writes_roll_back_with_their_savepoint(database: Database) -> None:
    async with database.session() as session:
        await _alice(session)
        found = await PeopleRepo(session).by_address(ALICE)
        assert found is not None
        person_id = found[0].id

        async def failing_handler() -> None:
            async with session.begin_nested():
                await StateRepo(session).save(person_id, {"step": "address"}, NOW, stored=None)
                await OutboxRepo(session).enqueue(ALICE, [TextReply(text="gone")], NOW)
                raise RuntimeError("the handler failed")

        with pytest.raises(RuntimeError):
            await failing_handler()
        await StateRepo(session).save(person_id, {"step": "kept"}, NOW, stored=None)
    async with database.session() as session:
        assert await StateRepo(session).load(person_id) == {"step": "kept"}
        assert (await session.scalars(select(OutboxRow))).all() == []


async def test_without_the_inline_connection_the_engine_gives_the_same(
        engine_sessions: async_sessionmaker[AsyncSession]) -> None:
    async with engine_sessions() as session, session.begin():
        await _alice(session)
        assert inline_connection(session) is None
        found = await PeopleRepo(session).by_address(ALICE)
        assert found is not None
        await StateRepo(session).save(found[0].id, {"step": "x"}, NOW, stored=None)
        await OutboxRepo(session).enqueue(ALICE, [TextReply(text="engine")], NOW)
    async with engine_sessions() as session, session.begin():
        again = await PeopleRepo(session).by_address(ALICE)
        assert again is not None and again[1].address == str(ALICE)
        assert await StateRepo(session).load(again[0].id) == {"step": "x"}
        row = await session.scalar(select(OutboxRow))
        assert row is not None and row.next_attempt_at == NOW.astimezone(UTC)


async def test_a_session_forgets_the_connection_when_its_transaction_ends(
        database: Database) -> None:
    sessions = async_sessionmaker(database.engine, expire_on_commit=False,
                                  sync_session_class=InlineSession)
    async with sessions() as session:
        async with session.begin():
            await _alice(session)
            assert inline_connection(session) is not None
        # The connection went back to the pool: nothing may run on it outside a transaction.
        assert inline_connection(session) is None
        async with session.begin():
            assert await PeopleRepo(session).by_address(ALICE) is not None
            assert inline_connection(session) is not None


async def test_an_expired_object_is_loaded_again_from_the_row(database: Database) -> None:
    await _store_alice(database)
    async with database.session() as session:
        people, _, address = await _look_up_alice(session)
        session.expire(address)  # e.g. after a rolled-back savepoint
        again = await people.by_address(ALICE)
        assert again is not None and again[1] is address
        assert again[1].created_at == NOW.astimezone(UTC)  # readable without a lazy load
