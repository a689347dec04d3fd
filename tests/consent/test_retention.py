"""Issue 5: retention per data class, with moved time. Held messages go after 72 hours;
message texts, media and withdrawn consents' evidence after their configured periods."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.consent.conftest import (
    CHANNELS,
    CUSTOMERS,
    OFFICE,
    consent_bundle,
    consent_settings,
    database_text,
    got,
    person_of,
    tell,
)
from werkbot.bot.hooks import hooks
from werkbot.bot.storage.models import InboxRow, MediaRow, OutboxRow
from werkbot.bot.testing import Harness
from werkbot.handlers import consent
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.ledger import ConsentEntry, ConsentLedger
from werkbot.handlers.consent.models import ConsentHold

SECRET = "Unser Boiler im Keller leckt seit gestern"


@pytest.mark.parametrize("channel", CHANNELS)
async def test_held_messages_are_gone_after_72_hours(h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await tell(h, customer, SECRET)
    assert SECRET in await database_text(h)
    await h.advance(timedelta(hours=71))
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ConsentHold)) == 1
    await h.advance(timedelta(hours=1, minutes=1))
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ConsentHold)) == 0
    assert SECRET not in await database_text(h)
    replies = await tell(h, customer, "ja")
    assert [r.reply.kind for r in replies] == [kinds.CONSENT_CONFIRMATION]
    assert got(h, OFFICE) == []  # nothing left to release


@pytest.fixture
async def short(tmp_path: Path) -> AsyncIterator[Harness]:
    settings = consent_settings(tmp_path, retention={
        "messages": "2d", "media": "3d", "held": "1d", "consent_evidence": "5d"})
    async with Harness(settings, consent_bundle()) as harness:
        await harness.run()
        yield harness


JPEG = b"\xff\xd8\xff\xe0" + b"photo-bytes-" * 20


async def test_message_texts_and_media_expire_per_class(short: Harness) -> None:
    h = short
    customer = CUSTOMERS["whatsapp"]
    await tell(h, customer, "Guten Tag")
    await tell(h, customer, "ja")
    await tell(h, customer, SECRET)
    assert got(h, OFFICE)[-1] == SECRET
    person = await person_of(h, customer)
    kept_ids: set[int] = set()

    async def keep_job_photos(session: AsyncSession, offered: Collection[int]) -> set[int]:
        return kept_ids & set(offered)

    hooks(h.services, consent.KEEP_MEDIA).add("jobs", keep_job_photos)
    async with h.services.db.session() as session:
        photo = await h.services.media.save(session, JPEG + b"1", person_id=person,
                                            now=h.clock.now())
        job = await h.services.media.save(session, JPEG + b"2", person_id=person,
                                          now=h.clock.now())
        kept_ids.add(job.id)
    photo_file = h.services.media.path_for(photo.sha256)
    assert photo_file.exists()
    await h.advance(timedelta(days=2, hours=1))
    assert SECRET not in await database_text(h)  # texts blanked after 2 days...
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(InboxRow)) > 3
        assert await session.scalar(select(func.count()).select_from(OutboxRow)) > 3
        assert await session.get(MediaRow, photo.id) is not None  # ...media stays 3 days
    await h.advance(timedelta(days=1))
    async with h.services.db.session() as session:
        assert await session.get(MediaRow, photo.id) is None
        assert await session.get(MediaRow, job.id) is not None  # a job still needs it
    assert not photo_file.exists()
    assert h.services.media.path_for(job.sha256).exists()


async def test_evidence_of_withdrawn_consent_expires(short: Harness) -> None:
    h = short
    customer = CUSTOMERS["telegram"]
    await tell(h, customer, "Guten Tag")
    await tell(h, customer, "ja")
    person = await person_of(h, customer)
    async with h.services.db.session() as session:  # a web signature, as evidence
        signature = await h.services.media.save(session, JPEG + b"sig", person_id=person,
                                                now=h.clock.now())
        await ConsentLedger(session, h.services.signer).record(
            person_id=person, address=customer, purposes=["photos"], granted=True,
            text="Web", text_version="2026-11", method="web-signature",
            evidence=consent.evidence_media(signature.id), recorded_by="web",
            now=h.clock.now())
    await h.advance(timedelta(days=4))  # older than media retention, but it is evidence
    async with h.services.db.session() as session:
        assert await session.get(MediaRow, signature.id) is not None
    await tell(h, customer, "stop")
    await h.advance(timedelta(days=4))
    async with h.services.db.session() as session:
        rows = (await session.scalars(select(ConsentEntry))).all()
    assert all(r.evidence for r in rows if r.person_id == person)  # 4 of 5 days
    await h.advance(timedelta(days=2))
    async with h.services.db.session() as session:
        rows = (await session.scalars(select(ConsentEntry).where(
            ConsentEntry.person_id == person))).all()
        assert rows and all(r.evidence == "" for r in rows)  # the rows themselves stay
        assert len(rows) == 7
        assert await session.get(MediaRow, signature.id) is None
    assert not h.services.media.path_for(signature.sha256).exists()


async def test_the_sweep_runs_once_a_day_across_restarts(tmp_path: Path) -> None:
    settings = consent_settings(tmp_path)
    for _ in range(2):
        async with Harness(settings, consent_bundle()) as h:
            await h.run()
    async with Harness(settings, consent_bundle()) as h:
        for _ in range(3):
            await h.advance(timedelta(days=1))
        async with h.services.db.session() as session:
            keys = (await session.scalars(select(InboxRow.dedup_key).where(
                InboxRow.dedup_key.like("timer:consent-retention:%")))).all()
            statuses = (await session.scalars(select(InboxRow.status).where(
                InboxRow.dedup_key.like("timer:consent-retention:%")))).all()
    assert sorted(keys) == [f"timer:consent-retention:2026-12-0{d}" for d in range(2, 7)]
    assert statuses.count("pending") == 1  # the next one, tomorrow


async def test_erasure_drops_held_messages_and_open_requests(h: Harness) -> None:
    customer = CUSTOMERS["sms"]
    await tell(h, customer, SECRET)
    person = await person_of(h, customer)
    async with h.services.db.session() as session:
        await consent.erase_consent_records(session, h.services, person)
    assert SECRET not in await database_text(h)
    async with h.services.db.session() as session:
        status = await consent.consent_status(session, person)
    assert status.held == 0 and status.asked_at == {}
