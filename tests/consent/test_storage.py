"""Issue 5: the consent tables' migration matches the models, and the dialogue runs on
PostgreSQL as on SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select

from tests.consent.conftest import (
    CUSTOMERS,
    OFFICE,
    consent_bundle,
    consent_settings,
    got,
    person_of,
    send_to,
    tell,
)
from werkbot.bot.adapter import SendError
from werkbot.bot.replies import TextReply
from werkbot.bot.storage.migrate import upgrade
from werkbot.bot.storage.models import Base, InboxRow, OutboxRow
from werkbot.bot.testing import Harness
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.models import ConsentAsk, ConsentHold, DeliveryFallback

OURS = {ConsentHold.__tablename__, ConsentAsk.__tablename__, DeliveryFallback.__tablename__,
        "consent_ledger"}


def test_migration_0003_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()

    def table_of(change: object) -> str:
        item = change[0] if isinstance(change, list) else change
        assert isinstance(item, tuple)
        for part in item[1:]:
            name = getattr(part, "name", None)
            table = getattr(part, "table", None)
            if table is not None:
                return str(table.name)
            if isinstance(part, str):
                return part
            if name:
                return str(name)
        return ""

    assert [d for d in diff if table_of(d) in OURS] == []


@pytest.mark.postgres
async def test_the_dialogue_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    settings = consent_settings(tmp_path, database={"url": pg_url})
    async with Harness(settings, consent_bundle()) as h:
        await h.run()
        customer = CUSTOMERS["whatsapp"]
        [request] = await tell(h, customer, "Heizung fällt aus")
        assert request.reply.kind == kinds.CONSENT_REQUEST
        await tell(h, customer, "ja")
        assert got(h, OFFICE) == ["Heizung fällt aus"]
        person = await person_of(h, customer)
        h.adapter("whatsapp").failures.append(SendError("gone", code="403", unreachable=True))
        await send_to(h, person, TextReply(text="Rückruf?"))  # no channel left: office told
        assert "keinem erlaubten Kanal" in got(h, OFFICE)[-1]
        await tell(h, customer, "Noch da?")  # writing again makes the address reachable
        assert got(h, OFFICE)[-1] == "Noch da?"
        assert [r.reply.kind for r in await tell(h, customer, "stop")] == [
            kinds.WITHDRAWAL_CONFIRMATION]
        assert await tell(h, customer, "Hallo?") == []
        assert got(h, OFFICE)[-1] == "Noch da?"
        await h.advance(timedelta(days=400))  # every retention period has passed
        async with h.services.db.session() as session:
            inbox = (await session.scalars(select(InboxRow.payload))).all()
            outbox = (await session.scalars(select(OutboxRow.payload))).all()
        assert not any("Heizung" in p for p in [*inbox, *outbox])
