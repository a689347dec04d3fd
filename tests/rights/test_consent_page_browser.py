"""The consent page in headless Chromium: open, tick, draw with the mouse, submit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.rights.helpers import path_of, person_of
from werkbot.bot.addresses import Address
from werkbot.bot.testing import Harness
from werkbot.handlers.consent.ledger import ConsentEntry
from werkbot.handlers.rights import create_consent_link
from werkbot.handlers.rights.models import SigningRequest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ALICE = Address("whatsapp", "+491701111111")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed")]


async def test_consent_page_on_a_phone_screen(h: Harness) -> None:
    from playwright.async_api import async_playwright

    await h.say(ALICE, "Hallo")
    alice = await person_of(h, ALICE)
    url = await create_consent_link(h.services, alice.id, ["whatsapp"],
                                    ["requests", "photos", "emergency"])
    assert h.client is not None
    page_url = str(h.client.make_url(path_of(url)))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844},
                                                device_scale_factor=2, has_touch=True)
            page = await context.new_page()
            await page.goto(page_url)
            assert "Sanitär Maier GmbH" in await page.inner_text("#text")
            await page.check('input[name="c:whatsapp:requests"]')
            await page.check('input[name="c:whatsapp:photos"]')
            await page.click("#submit")  # unsigned: the page asks for a signature first
            assert "unterschreiben" in await page.inner_text("#error")
            pad = await page.query_selector("#pad")
            assert pad is not None
            box = await pad.bounding_box()
            assert box is not None and box["width"] <= 390
            await pad.scroll_into_view_if_needed()
            box = await pad.bounding_box()
            assert box is not None
            x, y = box["x"], box["y"]
            await page.mouse.move(x + 30, y + 120)
            await page.mouse.down()
            for step in range(1, 25):
                await page.mouse.move(x + 30 + step * 12, y + 120 - (step % 6) * 15, steps=2)
            await page.mouse.up()
            async with page.expect_navigation():
                await page.click("#submit")
            assert await page.inner_text("h1") == "Vielen Dank!"
            assert "/media/" in (await page.get_attribute("#link", "href") or "")
        finally:
            await browser.close()
    async with h.services.db.session() as session:
        entries = (await session.scalars(select(ConsentEntry))).all()
        request = (await session.scalars(select(SigningRequest))).one()
    assert {(e.channel, e.purpose, e.granted) for e in entries} == {
        ("whatsapp", "requests", True), ("whatsapp", "photos", True)}
    assert request.receipt_media_id is not None
    receipt = await h.services.media.read(request.receipt_media_id)
    reader = PdfReader(io.BytesIO(receipt.data))
    text = "".join(p.extract_text() for p in reader.pages)
    assert "Textfassung: 2026-11" in text
    images = [image for p in reader.pages for image in p.images]
    assert len(images) == 1
    assert images[0].image is not None
    # the drawn stroke is in the embedded image: some pixels are dark
    extrema: tuple[float, float] = images[0].image.convert("L").getextrema()  # type: ignore[assignment]
    assert extrema[0] < 100
