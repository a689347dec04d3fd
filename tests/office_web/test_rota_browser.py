"""Issue 23: the on-call rota and the office hours in the office web app."""

from __future__ import annotations

from typing import Any

import pytest

from tests.office_web.conftest import OfficeWorld, shoot
from tests.scenarios.conftest import ANNA_TG, LUDWIG_TG, TUESDAY_10

pytestmark = pytest.mark.browser


async def test_office_sees_the_rota_and_holidays_and_adds_a_closure(office_at: Any,
                                                                    browser: Any) -> None:
    w: OfficeWorld = await office_at(TUESDAY_10)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(w.url(await w.web_link(ANNA_TG)))
    # keyboard first: Tab reaches the skip link, which jumps to the content
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "nav-conversations"
    await page.click("#nav-rota")
    assert "Ludwig Maier" in await page.inner_text("#on-call-now")
    assert "Ludwig Maier" in await page.inner_text("#rota")
    holidays = await page.inner_text("#holidays")
    assert "25.12.2026" in holidays  # Bavaria's next public holidays (Christmas)
    assert "Montag: 07:30-12:00, 13:00-16:30" in await page.inner_text("#hours")

    await page.fill("#cl-first", "2026-12-24")
    await page.fill("#cl-last", "2026-12-31")
    await page.fill("#cl-reason", "Betriebsferien")
    await page.click("#closure-add")
    await page.wait_for_selector(".flash")
    assert "24.12.2026 – 31.12.2026 Betriebsferien" in await page.inner_text("#closures")
    await shoot(page, "rota")

    # German first, English one click away
    await page.click("#lang-en")
    assert await page.inner_text("#nav-conversations") == "Conversations"
    await page.click("#nav-rota")
    assert "On call now: Ludwig Maier" in await page.inner_text("#on-call-now")
    assert "Monday: 07:30-12:00" in await page.inner_text("#hours")
    await page.click("#lang-de")
    assert await page.inner_text("#nav-conversations") == "Gespräche"

    # a fitter has no rota page
    fitter = await browser.new_context()
    fitter_page = await fitter.new_page()
    await fitter_page.goto(w.url(await w.web_link(LUDWIG_TG, name="Ludwig")))
    response = await fitter_page.goto(w.url("/office/rota"))
    assert response is not None and response.status == 403
    await context.close()
    await fitter.close()
