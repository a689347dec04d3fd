"""Inbox and outbox ids are never handed out twice, also on SQLite after the newest row is
deleted (an erasure deletes a person's latest messages; timer keys, outbox rows and
delivery reports name inbox and outbox ids). Migration 0015 rebuilds existing tables so."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import delete, select

from werkbot.bot.addresses import Address
from werkbot.bot.storage.migrate import upgrade
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.testing import Harness, text

ALICE = Address("whatsapp", "+491701234567")


async def _ids(h: Harness) -> list[int]:
    async with h.services.db.session() as session:
        return list((await session.scalars(select(InboxRow.id).order_by(InboxRow.id))).all())


async def test_the_newest_inbox_rows_id_does_not_come_back(harness: Harness) -> None:
    await harness.feed(text(ALICE, "eins", at=harness.clock.now()),
                       text(ALICE, "zwei", at=harness.clock.now()))
    newest = (await _ids(harness))[-1]
    async with harness.services.db.session() as session:
        await session.execute(delete(InboxRow).where(InboxRow.id == newest))
    await harness.feed(text(ALICE, "drei", at=harness.clock.now()))
    assert (await _ids(harness))[-1] > newest


def test_migration_0015_keeps_the_rows_and_indexes_and_stops_reuse(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    url = f"sqlite+aiosqlite:///{db}"
    upgrade(url, "0014")
    columns = ("dedup_key, kind, sender, payload, status, available_at, created_at, "
               "attempts, error")
    row = "'TextEvent', 'whatsapp:+4917', '{}', 'done', '2026-01-01', '2026-01-01', 0, ''"
    with sqlite3.connect(db) as raw:
        for key in ("a", "b"):
            raw.execute(f"INSERT INTO inbox ({columns}) VALUES ('{key}', {row})")  # noqa: S608
    raw.close()
    upgrade(url, "0015")
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT id, dedup_key FROM inbox").fetchall() == [(1, "a"), (2, "b")]
        indexes = {name for (name,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
            "('inbox', 'outbox') AND name LIKE 'ix_%'")}
        raw.execute("DELETE FROM inbox WHERE id = 2")
        raw.execute(f"INSERT INTO inbox ({columns}) VALUES ('c', {row})")  # noqa: S608
        assert raw.execute("SELECT max(id) FROM inbox").fetchone() == (3,)
    raw.close()
    assert indexes == {"ix_inbox_due", "ix_inbox_sender", "ix_outbox_due", "ix_outbox_address",
                       "ix_outbox_provider_id"}
