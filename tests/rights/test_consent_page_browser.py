"""The consent page in headless Chromium: open, tick, draw with the mouse, submit; consents
already given show ticked, unticking one withdraws it after a confirmation (issue 21).
Chromium missing is a failure, not a skip: `scripts/install-test-services.sh` installs it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.async_api import Page
from pypdf import PdfReader
from sqlalchemy import select

from tests.rights.helpers import path_of, person_of
from werkbot.bot.addresses import Address
from werkbot.bot.testing import Harness
from werkbot.handlers.consent.ledger import ConsentEntry, ConsentLedger, load_current
from werkbot.handlers.rights import create_consent_link
from werkbot.handlers.rights.models import SigningRequest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ALICE = Address("whatsapp", "+491701111111")

pytestmark = [pytest.mark.browser]


async def draw_signature(page: Page) -> None:
    pad = await page.query_selector("#pad")
    assert pad is not None
    await pad.scroll_into_view_if_needed()
    box = await pad.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    await page.mouse.move(x + 30, y + 120)
    await page.mouse.down()
    for step in range(1, 25):
        await page.mouse.move(x + 30 + step * 12, y + 120 - (step % 6) * 15, steps=2)
    await page.mouse.up()


def test_chromium_is_installed() -> None:
    assert CHROMIUM.exists(), "run scripts/install-test-services.sh (Debian: chromium)"


async def test_the_page_draws_an_emoji_in_colour_not_as_a_box(h: Harness) -> None:
    """🚨 (the emergency sign the bot's texts use) in the page's own font stack."""
    from PIL import Image
    from playwright.async_api import async_playwright

    await h.say(ALICE, "Hallo")
    alice = await person_of(h, ALICE)
    url = await create_consent_link(h.services, alice.id, ["whatsapp"], ["emergency"])
    assert h.client is not None
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(str(h.client.make_url(path_of(url))))
            await page.evaluate("""() => { const s = document.createElement('span');
                s.id = 'sign'; s.style.fontSize = '48px'; s.textContent = '🚨';
                document.querySelector('h1').append(s); }""")
            shot = await page.locator("#sign").screenshot()
        finally:
            await browser.close()
    with Image.open(io.BytesIO(shot)) as image:
        pixels = list(image.convert("RGB").get_flattened_data())
    red = sum(1 for r, g, b in pixels if r > 180 and g < 90 and b < 90)
    assert red > 50, "no colour emoji font: install fonts-noto-color-emoji"


async def test_given_consents_show_ticked_and_unticking_withdraws_after_confirming(
        h: Harness) -> None:
    from playwright.async_api import async_playwright

    await h.say(ALICE, "Hallo")
    alice = await person_of(h, ALICE)
    async with h.services.db.session() as session:
        await ConsentLedger(session, h.services.signer).record(
            person_id=alice.id, address=ALICE, purposes=["requests"], granted=True,
            text="Einwilligung", text_version="2026-11", method="chat", evidence="test",
            recorded_by="customer", now=h.clock.now())
        await session.commit()
    url = await create_consent_link(h.services, alice.id, ["whatsapp"],
                                    ["requests", "photos", "emergency"])
    assert h.client is not None
    page_url = str(h.client.make_url(path_of(url)))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await (await browser.new_context(
                viewport={"width": 390, "height": 844})).new_page()
            await page.goto(page_url)
            requests = page.locator('input[name="c:whatsapp:requests"]')
            assert await requests.is_checked()  # given in the chat: shown as given
            assert "bereits erteilt" in await page.inner_text("form")
            assert not await page.locator('input[name="c:whatsapp:photos"]').is_checked()
            assert not await page.locator('input[name="c:whatsapp:emergency"]').is_checked()
            assert not await page.locator("#withdraw").is_visible()
            await requests.uncheck()
            assert await page.locator("#withdraw").is_visible()  # asks to confirm
            await page.check('input[name="c:whatsapp:photos"]')
            await draw_signature(page)
            async with page.expect_navigation():
                await page.click("#submit")  # not confirmed: the server asks again
            assert "Widerruf" in await page.inner_text("#error")
            assert await page.locator("#withdraw").is_visible()
            assert not await page.locator('input[name="c:whatsapp:requests"]').is_checked()
            await page.check('input[name="withdraw_ok"]')
            await draw_signature(page)
            async with page.expect_navigation():
                await page.click("#submit")
            assert await page.inner_text("h1") == "Vielen Dank!"
        finally:
            await browser.close()
    async with h.services.db.session() as session:
        state = await load_current(session, alice.id)
        request = (await session.scalars(select(SigningRequest))).one()
    assert not state[("whatsapp", "requests")].granted
    assert state[("whatsapp", "requests")].method == "web-signature"
    assert state[("whatsapp", "photos")].granted
    assert ("whatsapp", "emergency") not in state  # never pre-ticked, never granted
    assert request.receipt_media_id is not None
    receipt = await h.services.media.read(request.receipt_media_id)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.data)).pages)
    assert "Vorgang: Einwilligung Nr." in text and "consent" not in text
    assert "(widerrufen)" in text


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
