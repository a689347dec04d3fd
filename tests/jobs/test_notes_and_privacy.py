"""`#A-1042` in a text files it to the job; export and erasure cover the jobs data."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.jobs.conftest import ANNA, KARL, WINDOW, customer, job, jpeg
from tests.jobs.test_intake import send_photos
from werkbot.bot.addresses import Address
from werkbot.bot.testing import Harness
from werkbot.handlers.jobs.models import Job, JobMedia, JobNote
from werkbot.handlers.jobs.privacy import erase_jobs, export_jobs

TG_CUSTOMER = Address("telegram", "555000111")


async def test_text_with_code_is_filed_and_forwarded_to_the_fitter(h: Harness) -> None:
    person = await customer(h, TG_CUSTOMER)
    code = await job(h, "Bad", customer_id=person)
    got = await h.say(TG_CUSTOMER, f"Zu #{code}: ich bin ab 14 Uhr zu Hause")
    assert f"zu {code} abgelegt" in got[-1].text
    forwarded = h.adapter("telegram").to(KARL)[-1]
    assert forwarded.reply.kind == "forward" and "ab 14 Uhr" in forwarded.text
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(JobNote)) == 1


async def test_a_customer_cannot_file_to_someone_elses_job(h: Harness) -> None:
    other = await customer(h, Address("telegram", "999"))
    code = await job(h, "Fremd", customer_id=other)
    await customer(h, TG_CUSTOMER)
    got = await h.say(TG_CUSTOMER, f"#{code} hallo")
    assert "finde ich nicht" in got[-1].text
    assert not [s for s in h.adapter("telegram").to(KARL) if "hallo" in s.text]


async def test_without_fitter_the_note_goes_to_the_office(h: Harness) -> None:
    person = await customer(h, TG_CUSTOMER)
    code = await job(h, "Bad", customer_id=person, staff=())
    await h.say(TG_CUSTOMER, f"#{code} Bitte vorher anrufen")
    assert "vorher anrufen" in h.adapter("telegram").to(ANNA)[-1].text


async def test_export_and_erasure(h: Harness) -> None:
    person = await customer(h, TG_CUSTOMER)
    code = await job(h, "Bad", customer_id=person)
    await send_photos(h, TG_CUSTOMER, [jpeg((7, 7, 7))], caption="Fleck an der Decke")
    await h.advance(WINDOW)
    async with h.services.db.session() as session:
        data = await export_jobs(session, person)
        assert data["jobs"][0]["code"] == code
        assert data["files"][0]["caption"] == "Fleck an der Decke"
        await erase_jobs(session, h.services, person)
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(JobMedia)) == 0
        row = await session.scalar(select(Job))
        assert row is not None and row.customer_id is None and row.site == ""
