"""`/job` commands, the photo report PDF and a signed extra-work PDF, opened with pypdf."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlalchemy import select

from tests.jobs.conftest import (
    ANNA,
    CHEF,
    KARL,
    STAFF,
    WINDOW,
    customer,
    job,
    jpeg,
    register_jobs,
)
from tests.jobs.test_intake import send_photos
from werkbot.bot.addresses import Address
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.replies import MediaReply
from werkbot.bot.router import Router
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import menu, rights
from werkbot.handlers.commands import commands
from werkbot.handlers.consent.policy import build_policy
from werkbot.handlers.jobs import router as jobs_router
from werkbot.handlers.jobs import seed_demo
from werkbot.handlers.jobs.models import Job, JobStaff

TG_CUSTOMER = Address("telegram", "555000111")
CODE = re.compile(r"\b([A-Z]+-\d+)\b")


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """With the rights feature, whose signing page job signatures use."""
    root = Router("root")
    for part in (commands.router, rights.router, jobs_router, menu.router, menu.fallback):
        root.include_router(part)
    settings = make_settings(tmp_path, staff=STAFF)
    async with Harness(settings, HandlerBundle(router=root, routes=rights.routes,
                                                  policy=build_policy,
                                                  setup=register_jobs)) as harness:
        yield harness


async def pdf_of(h: Harness, link: str) -> PdfReader:
    media_id = h.services.media.resolve(link.rsplit("/", 1)[-1])
    assert media_id is not None
    stored = await h.services.media.read(media_id)
    assert stored.content_type == "application/pdf"
    return PdfReader(io.BytesIO(stored.data))


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_job_new_replies_with_a_code_and_tells_the_fitter(h: Harness) -> None:
    got = await h.say(CHEF, "/job new Badsanierung Müller @karl")
    found = CODE.search(got[-1].text)
    assert found and re.fullmatch(r"^[A-Z]+-\d+$", found.group(1))
    assert found.group(1).startswith("A-")
    assert any(found.group(1) in s.text for s in h.adapter("telegram").to(KARL))
    got = await h.say(CHEF, "auftrag neu Heizung prüfen @karl")
    assert CODE.search(got[-1].text)
    async with h.services.db.session() as session:
        assert len((await session.scalars(select(Job))).all()) == 2


async def test_job_new_checks_staff_and_roles(h: Harness) -> None:
    got = await h.say(CHEF, "/job new Bad @niemand")
    assert "Unbekannte Mitarbeiter-ID: niemand" in got[-1].text
    got = await h.say(KARL, "/job new Bad @karl")
    assert "nur Büro und Chef" in got[-1].text


async def test_assign_show_list_and_close(h: Harness) -> None:
    code = await job(h, "Bad", staff=())
    await h.say(ANNA, f"/job assign {code} @karl")
    got = await h.say(KARL, f"/job show {code}")
    assert "Karl Berger" in got[-1].text
    got = await h.say(KARL, "/job list")
    assert code in got[-1].text
    await h.say(CHEF, f"/job close {code}")
    await h.say(CHEF, "ja")
    got = await h.say(KARL, "/job list")
    assert "Keine offenen" in got[-1].text


async def test_photo_report_pdf_has_every_photo_with_time_sender_and_caption(
        h: Harness) -> None:
    person = await customer(h, TG_CUSTOMER)
    code = await job(h, "Leck Küche", customer_id=person)
    await send_photos(h, TG_CUSTOMER, [jpeg((200, 0, 0), taken="2026:11:30 08:15:00"),
                                       jpeg((0, 200, 0))], caption="Wasser unter der Spüle")
    await h.advance(WINDOW)
    await send_photos(h, KARL, [jpeg((0, 0, 200))], caption=f"#{code} Siphon getauscht")
    await h.advance(WINDOW)
    got = await h.say(KARL, f"/job bericht {code}")
    link = got[-1].text.split()[-1]
    reader = await pdf_of(h, link)
    text = text_of(reader)
    for expected in ("Baustellendokumentation", code, "Leck Küche", "Kunde",
                     "Wasser unter der Spüle", "Karl Berger (Monteur)", "Siphon getauscht",
                     "30.11.2026 08:15"):
        assert expected in text, expected
    assert sum(len(page.images) for page in reader.pages) == 3


def signature() -> str:
    img = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(10, 100), (80, 20), (150, 90), (290, 30)], fill="black",
                             width=4)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def test_signed_extra_work_pdf_has_the_text_and_the_signature(h: Harness) -> None:
    person = await customer(h, TG_CUSTOMER)
    code = await job(h, "Bad", customer_id=person)
    got = await h.say(KARL, f'/job sign {code} "Zusatzarbeit: Eckventil getauscht, 45 EUR"')
    assert "Link zur Unterschrift" in got[-1].text
    message = h.adapter("telegram").to(TG_CUSTOMER)[-1].text
    link = re.search(r"https://bot\.example\.de(/sign/\S+)", message)
    assert link, message
    assert h.client is not None
    page = await h.client.get(link.group(1))
    html = await page.text()
    assert page.status == 200 and "Eckventil" in html
    # issue 21: a signature page, not the consent page's wording
    assert "bittet Sie um Ihre Unterschrift" in html
    assert "Einwilligung" not in html and "kreuzen Sie an" not in html
    posted = await h.client.post(link.group(1), data={"signature": signature()})
    assert posted.status == 200
    await h.run()
    for address in (TG_CUSTOMER, KARL):
        signed = [s.reply for s in h.adapter("telegram").to(address)
                  if isinstance(s.reply, MediaReply) and s.reply.kind == "job_signed"]
        assert len(signed) == 1, address
    stored = await h.services.media.read(signed[0].media_ids[0])
    reader = PdfReader(io.BytesIO(stored.data))
    text = text_of(reader)
    assert "Eckventil getauscht, 45 EUR" in text and code in text
    assert sum(len(p.images) for p in reader.pages) == 1
    got = await h.say(KARL, f"/job show {code}")
    assert "Dateien: 1" in got[-1].text  # the signed PDF is filed to the job


async def test_seed_demo_creates_one_job_with_the_first_fitter(h: Harness) -> None:
    await seed_demo(h.services)
    await seed_demo(h.services)
    async with h.services.db.session() as session:
        jobs = (await session.scalars(select(Job))).all()
        staff = (await session.scalars(select(JobStaff.staff_id))).all()
    assert len(jobs) == 1 and list(staff) == ["karl"]


async def test_job_new_with_customer_and_site(h: Harness) -> None:
    person = await customer(h, TG_CUSTOMER)
    got = await h.say(ANNA, '/auftrag neu Therme warten @karl kunde:telegram:555000111 '
                            'ort:"Hauptstraße 5, Freising"')
    code = CODE.search(got[-1].text)
    assert code
    async with h.services.db.session() as session:
        made = await session.scalar(select(Job).where(Job.code == code.group(1)))
    assert made is not None and made.customer_id == person
    assert made.site == "Hauptstraße 5, Freising"
    got = await h.say(ANNA, "/auftrag neu Therme kunde:+4915199999999")
    assert "keinen Kunden" in got[-1].text
