"""Database errors in the outbox and the SQLite busy timeout, on the in-process harness.

The end-to-end versions (PostgreSQL restarted, SQLite locked by another process) are in
`tests/e2e/test_database_faults.py`; these pin the two mechanisms down deterministically.
A reply that went out while the database failed to record it is recorded once the
database answers again, never sent a second time when its lease runs out; a final
failure is still reported.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.conftest import menu_bundle
from werkbot.bot import outbox as outbox_module
from werkbot.bot.adapter import SendError
from werkbot.bot.addresses import Address
from werkbot.bot.events import DeliveryStatus, Unreachable
from werkbot.bot.server import OUTBOX
from werkbot.bot.settings import Settings
from werkbot.bot.storage.database import BUSY_TIMEOUT, WriterLock, sqlite_busy_timeout
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.bot.testing import Harness

CUSTOMER = Address("whatsapp", "+491701234567")


def locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


@pytest.fixture
async def harness(settings: Settings, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[Harness]:
    monkeypatch.setattr(outbox_module, "RECORD_RETRY", 0.01)
    async with Harness(settings, menu_bundle()) as h:
        yield h


# Through SQLAlchemy, or from a statement run on SQLite's connection directly.
@pytest.mark.parametrize("failure", [locked, lambda: sqlite3.OperationalError("disk I/O error")])
async def test_a_send_whose_record_failed_is_recorded_later_and_not_sent_again(
        harness: Harness, monkeypatch: pytest.MonkeyPatch,
        failure: Callable[[], Exception]) -> None:
    outbox = harness.app[OUTBOX]
    record = outbox._record  # noqa: SLF001 - a database failure at exactly this step
    failures = [failure(), failure()]

    async def flaky(outcomes: Sequence[Any]) -> list[DeliveryStatus | Unreachable]:
        if failures:
            raise failures.pop(0)
        return await record(outcomes)

    monkeypatch.setattr(outbox, "_record", flaky)
    assert len(await harness.say(CUSTOMER, "hilfe")) == 1
    assert failures == []
    async with harness.services.db.session() as session:
        (row,) = (await session.scalars(select(OutboxRow))).all()
        assert (row.status, row.attempts, row.lease_until) == ("sent", 1, None)
    await harness.advance(outbox_module.LEASE + timedelta(minutes=1))
    assert len(harness.adapter("whatsapp").to(CUSTOMER)) == 1


async def test_a_final_failure_is_reported_after_the_report_failed_once(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    outbox = harness.app[OUTBOX]
    report = outbox._report  # noqa: SLF001 - a failure at exactly this step
    failures = [locked()]

    async def flaky(events: Sequence[Any]) -> None:
        if failures:
            raise failures.pop(0)
        await report(events)

    monkeypatch.setattr(outbox, "_report", flaky)
    harness.adapter("whatsapp").failures.append(SendError("invalid number", code="21211"))
    await harness.say(CUSTOMER, "hilfe")
    assert failures == []
    async with harness.services.db.session() as session:
        row = await session.scalar(select(OutboxRow))
        assert row is not None and row.status == "failed"
        reported = await session.scalar(
            select(InboxRow).where(InboxRow.kind == "DeliveryStatus"))
        assert reported is not None and reported.status == "done"


async def test_an_error_that_is_not_the_database_is_not_retried(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    outbox = harness.app[OUTBOX]
    calls = 0

    async def broken(outcomes: Sequence[Any]) -> list[DeliveryStatus | Unreachable]:
        nonlocal calls
        calls += 1
        raise KeyError("a bug")

    monkeypatch.setattr(outbox, "_record", broken)
    with pytest.raises(KeyError):
        await harness.say(CUSTOMER, "hilfe")
    assert calls == 1


@pytest.mark.parametrize(("url", "seconds"), [
    ("sqlite+aiosqlite:///var/werkbot.db", BUSY_TIMEOUT),
    ("sqlite+aiosqlite:///var/werkbot.db?timeout=2", 2.0),
    ("sqlite+aiosqlite:///var/werkbot.db?timeout=0.5", 0.5),
])
def test_the_busy_timeout_comes_from_the_url(url: str, seconds: float) -> None:
    assert sqlite_busy_timeout(url) == seconds


@pytest.mark.parametrize("value", ["soon", "-1", "86400"])
def test_a_bad_busy_timeout_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="timeout"):
        sqlite_busy_timeout(f"sqlite+aiosqlite:///var/werkbot.db?timeout={value}")


async def test_urgent_work_waits_for_at_most_one_background_turn() -> None:
    """While another process holds SQLite's lock, every turn lasts the busy timeout: a
    webhook must not wait behind background turns that keep coming back."""
    lock = WriterLock()
    got: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await lock.acquire(urgent)
        got.append(name)

    async def queue(name: str, urgent: bool) -> asyncio.Task[None]:
        task = asyncio.create_task(take(name, urgent))
        await asyncio.sleep(0)
        return task

    await lock.acquire(urgent=False)  # the outbox, say, blocked on the other process
    tasks = [await queue("dispatcher", False)]
    await asyncio.sleep(WriterLock.PATIENCE * 2)  # it has waited long: patience is over
    tasks.append(await queue("inbox", True))
    lock.release()
    await asyncio.sleep(0)
    assert got == ["inbox"]  # not the patient background work again
    tasks.append(await queue("outbox", False))
    tasks.append(await queue("inbox again", True))
    lock.release()
    await asyncio.sleep(0)
    assert got == ["inbox", "dispatcher"]  # after an urgent turn, the patient one
    lock.release()
    await asyncio.sleep(0)
    assert got == ["inbox", "dispatcher", "inbox again"]
    lock.release()
    await asyncio.sleep(0)
    assert got == ["inbox", "dispatcher", "inbox again", "outbox"]
    lock.release()
    await asyncio.gather(*tasks)
