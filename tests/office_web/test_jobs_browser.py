"""Issue 23: jobs in the office web app, with the chat command's rules.

The office creates a job from a customer's conversation, sees the customer's next photo
in its gallery, assigns a fitter (who is told in chat), downloads the photo report,
requests a signature (the customer gets the link), closes the job after confirming and
creates one from the list. The fitter sees only the jobs they are assigned to and
cannot close one.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.office_web.conftest import OfficeWorld, shoot
from tests.scenarios.conftest import ANNA_TG, LUDWIG_TG, TUESDAY_10, WA_CUSTOMER
from werkbot.bot.addresses import Address
from werkbot.handlers.jobs.models import Job

pytestmark = pytest.mark.browser


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(out, format="JPEG")
    return out.getvalue()


async def test_office_works_a_job_and_the_fitter_sees_only_theirs(office_at: Any,
                                                                  browser: Any) -> None:
    w: OfficeWorld = await office_at(TUESDAY_10)
    person_id = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Das Rohr unter der Spüle leckt.")
    context = await browser.new_context(viewport={"width": 1280, "height": 800},
                                        accept_downloads=True)
    page = await context.new_page()
    await page.goto(w.url(await w.web_link(ANNA_TG)))

    # a job for this conversation: the customer's, so their next photo is filed to it
    await page.goto(w.url(f"/office/c/{person_id}"))
    await page.click("details.jobform summary")
    await page.fill("#job-title", "Leck Spüle")
    await page.click("#job-create")
    await page.wait_for_selector(".flash")
    assert "angelegt" in await page.inner_text(".flash")
    async with w.h.services.db.session() as session:
        made = await session.scalar(select(Job).where(Job.title == "Leck Spüle"))
        assert made is not None and made.customer_id == person_id
        job_id, code = made.id, made.code
    await w.whatsapp_photo(_jpeg())
    await w.h.run()
    await w.h.advance(timedelta(seconds=10))  # the photo batch's quiet window

    await page.click("#nav-jobs")
    await page.wait_for_selector(f'li[data-job="{code}"]')
    await shoot(page, "jobs")
    await page.click(f'li[data-job="{code}"] a')
    image = page.locator("#gallery img")
    assert await image.count() == 1
    await image.evaluate("img => img.decode()")
    assert await image.evaluate("img => img.naturalWidth") > 0
    await shoot(page, "job")

    await page.check('input[name="f:ludwig"]')
    await page.click("#job-assign")
    await page.wait_for_selector(".flash")
    assert "Ludwig Maier" in await page.inner_text("#job-staff")
    await w.h.run()
    assert any(code in t and "Neuer Auftrag" in t for t in w.telegram_texts(LUDWIG_TG))

    async with page.expect_download() as waiting:
        await page.click("#job-report")
    download = await waiting.value
    pdf = await download.path()
    assert pdf is not None and pdf.read_bytes()[:5] == b"%PDF-"

    before = len(w.whatsapp_to())
    await page.fill("#sign-text", "Austausch des Eckventils, 80 Euro")
    await page.click("#job-sign")
    await page.wait_for_selector(".flash")
    await w.h.run()
    assert any("/sign/" in (body or "") for body in w.whatsapp_to()[before:])

    await page.click("#job-close")  # not confirmed: nothing happens but a question
    await page.wait_for_selector(".flash")
    assert "offen" in await page.inner_text("#job-status")

    # the fitter: their job only, its photo, and no closing
    fitter = await browser.new_context()
    fitter_page = await fitter.new_page()
    await fitter_page.goto(w.url(await w.web_link(LUDWIG_TG, name="Ludwig")))
    await fitter_page.goto(w.url("/office/jobs"))
    assert code in await fitter_page.inner_text("#jobs")
    await fitter_page.click(f'li[data-job="{code}"] a')
    assert await fitter_page.locator("#job-close").count() == 0
    fitter_img = fitter_page.locator("#gallery img")
    await fitter_img.evaluate("img => img.decode()")
    csrf = await fitter_page.get_attribute('input[name="csrf"]', "value")
    refused = await fitter_page.request.post(w.url(f"/office/jobs/{job_id}/close"),
                                             form={"csrf": csrf or "", "confirm": "yes"})
    assert refused.status == 403

    await page.check("#job-close-confirm")
    await page.click("#job-close")
    await page.wait_for_selector(".flash")
    assert "abgeschlossen" in await page.inner_text("#job-status")

    # a new job from the list, with a fitter: it is on the fitter's list
    await page.goto(w.url("/office/jobs"))
    await page.fill("#job-title", "Wartung Heizung")
    await page.check('#job-new-form input[name="f:ludwig"]')
    await page.click("#job-create")
    await page.wait_for_selector(".flash")
    assert "angelegt" in await page.inner_text(".flash")
    await fitter_page.goto(w.url("/office/jobs"))
    assert "Wartung Heizung" in await fitter_page.inner_text("#jobs")

    # the figures: messages per channel and day as a chart, and as CSV (counts only)
    await page.click("#nav-stats")
    assert await page.locator("#chart rect").count() >= 1
    assert "WhatsApp" in await page.inner_text("#figures")
    await shoot(page, "stats")
    csv_text = await (await page.request.get(w.url("/office/stats.csv?days=7"))).text()
    assert csv_text.startswith("section,key,value")
    assert "in_per_day" in csv_text and "whatsapp" in csv_text
    assert "Rohr" not in csv_text and WA_CUSTOMER not in csv_text
    await context.close()
    await fitter.close()
