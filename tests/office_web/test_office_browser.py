"""Issue 23: the office web app in headless Chromium, on the real channel adapters.

Sign-in from a `/web` link, a consented customer's thread with a photo, an answer that
reaches the Twilio stand-in, an answer outside WhatsApp's window going as the approved
template, live updates, erasure after confirming, sign-out; emergencies acknowledged by
the alerted fitter and refused to anyone else; a fitter who cannot open the office; CSRF,
expired and reused links and a session after sign-out refused.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.office_web.conftest import ANSWER_TEMPLATE, OfficeWorld, shoot
from tests.scenarios.conftest import (
    ANNA_TG,
    CHEF_TG,
    LUDWIG_TG,
    SATURDAY_NIGHT,
    SMS_CUSTOMER,
    TUESDAY_10,
    WA_CUSTOMER,
)
from werkbot.bot.addresses import Address
from werkbot.bot.storage.models import Person
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.handlers.office_web.models import ReadMark

pytestmark = pytest.mark.browser



OGG_VOICE = b"OggS" + bytes(60)  # the start of an Ogg page: werkbot sniffs audio/ogg


def _jpeg() -> bytes:
    """A real photo-sized JPEG (a gradient), as a phone camera would send one."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((320, 240)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


async def _signed_in(browser: Any, w: OfficeWorld, telegram_id: int) -> tuple[Any, Any]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(w.url(await w.web_link(telegram_id)))
    return context, page


def _answers_to(w: OfficeWorld, number: str) -> list[dict[str, str]]:
    return [dict(s.form) for s in w.twilio_to(f"whatsapp:{number}")]


async def test_office_reads_a_thread_with_a_photo_and_answers_it(office_at: Any,
                                                                 browser: Any) -> None:
    w: OfficeWorld = await office_at(TUESDAY_10)
    person_id = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Die Heizung im Keller tropft seit heute früh.")
    await w.whatsapp_photo(_jpeg())
    voice = w.twilio.add_media(OGG_VOICE, "audio/ogg")
    await w.whatsapp("", run=False, message_type="audio", NumMedia="1", MediaUrl0=voice,
                     MediaContentType0="audio/ogg")
    await w.h.run()
    await w.h.advance(timedelta(seconds=10))  # the media batch's quiet window

    # the /web message turns link previews off
    path = await w.web_link(ANNA_TG)
    (link_call,) = [c for c in w.telegram_calls(ANNA_TG)
                    if "/office/login/" in str(c.params["text"])]
    preview = link_call.params["link_preview_options"]
    options = json.loads(preview) if isinstance(preview, str) else preview
    assert options["is_disabled"] is True

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    response = await page.goto(w.url(path))
    assert response is not None and response.status == 200
    assert page.url.endswith("/office")
    cookie = next(c for c in await context.cookies() if c["name"] == "werkbot_office")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    row = page.locator(f'li.conversation[data-person="{person_id}"]')
    assert "Erika M." in await row.inner_text()
    assert "ungelesen" in await row.inner_text()
    await shoot(page, "conversations")

    await row.locator("a").click()
    await page.wait_for_selector("#thread")
    thread = await page.inner_text("#thread")
    assert "Die Heizung im Keller tropft" in thread
    image = page.locator("#thread img")
    assert await image.count() == 1
    await image.evaluate("img => img.decode()")
    assert await image.evaluate("img => img.naturalWidth") > 100
    audio = page.locator("#thread audio")
    assert await audio.count() == 1
    assert await audio.evaluate(
        "a => fetch(a.src).then(r => r.ok && r.headers.get('content-type'))") == "audio/ogg"
    assert await page.get_attribute("#call", "href") == f"tel:{WA_CUSTOMER}"
    assert "über WhatsApp" in await page.inner_text("#route")
    await shoot(page, "thread")

    # the answer goes through the chat path and arrives at the Twilio stand-in
    before = len(_answers_to(w, WA_CUSTOMER))
    await page.fill("#text", "Wir kommen morgen um 8 Uhr vorbei.")
    await page.click("#send")
    await page.wait_for_selector(".flash")
    assert "in den Versand" in await page.inner_text(".flash")
    await w.h.run()
    answers = _answers_to(w, WA_CUSTOMER)[before:]
    assert [a.get("Body") for a in answers] == ["Wir kommen morgen um 8 Uhr vorbei."]
    assert "Wir kommen morgen" in await page.inner_text("#thread")

    # live: a new message from the customer appears without reloading
    await page.wait_for_selector("body[data-live-ready]")
    await w.whatsapp("Danke, bis morgen!")
    await page.wait_for_selector("#thread >> text=Danke, bis morgen!", timeout=10_000)

    # 25 hours later the session has ended (a working day without a request) and
    # WhatsApp's window is closed: the page says so, and the answer goes as the template
    w.h.clock.advance(timedelta(hours=25))
    response = await page.goto(w.url(f"/office/c/{person_id}"))
    assert response is not None and response.status == 401
    assert "Heizung" not in await page.content()
    await page.goto(w.url(await w.web_link(ANNA_TG)))
    await page.goto(w.url(f"/office/c/{person_id}"))
    assert "Vorlage" in await page.inner_text("#route")
    before = len(_answers_to(w, WA_CUSTOMER))
    await page.fill("#text", "Der Termin steht.")
    await page.click("#send")
    await page.wait_for_selector(".flash")
    assert "Vorlage" in await page.inner_text(".flash")
    await w.h.run()
    (template,) = _answers_to(w, WA_CUSTOMER)[before:]
    assert template.get("ContentSid") == ANSWER_TEMPLATE
    assert "Der Termin steht." in template.get("ContentVariables", "")
    assert not template.get("Body")
    await context.close()


async def test_links_are_single_use_expire_and_signed_out_sessions_are_refused(
        office_at: Any, browser: Any) -> None:
    w: OfficeWorld = await office_at(TUESDAY_10)
    person = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Bitte um Rückruf wegen Angebot.")
    path = await w.web_link(ANNA_TG)

    anonymous = await browser.new_context()
    page = await anonymous.new_page()
    response = await page.goto(w.url("/office"))
    assert response is not None and response.status == 401
    assert "Erika" not in await page.content() and "Rückruf" not in await page.content()
    await shoot(page, "signin")

    context = await browser.new_context()
    office = await context.new_page()
    await office.goto(w.url(path))
    assert "Rückruf" in await office.inner_text("#conversations")
    session_cookies = await context.cookies()

    # the same link a second time signs nobody in
    response = await page.goto(w.url(path))
    assert response is not None and response.status == 403
    assert "Rückruf" not in await page.content()
    await shoot(page, "link-used")

    # a form without the session's CSRF token is refused and sends nothing
    before = len(w.twilio.sent)
    forged = await office.request.post(w.url(f"/office/c/{person}/reply"),
                                       form={"text": "gefälscht"})
    assert forged.status == 403
    forged = await office.request.post(w.url(f"/office/c/{person}/reply"),
                                       form={"text": "gefälscht", "csrf": "wrong"})
    assert forged.status == 403
    await w.h.run()
    assert len(w.twilio.sent) == before

    # sign out; the old cookie no longer opens anything
    await office.click("#signout")
    await office.wait_for_url("**/office")
    assert "Rückruf" not in await office.content()
    replay = await browser.new_context()
    await replay.add_cookies(session_cookies)
    stale = await replay.new_page()
    response = await stale.goto(w.url("/office"))
    assert response is not None and response.status == 401
    assert "Rückruf" not in await stale.content()

    # a link opened after its 10 minutes signs nobody in
    late = await w.web_link(ANNA_TG)
    w.h.clock.advance(timedelta(minutes=11))
    response = await page.goto(w.url(late))
    assert response is not None and response.status == 403
    for ctx in (anonymous, context, replay):
        await ctx.close()


async def test_erasing_a_person_after_confirming(office_at: Any, browser: Any) -> None:
    w: OfficeWorld = await office_at(TUESDAY_10)
    person_id = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Meine Adresse ist Gartenweg 5.")
    context, page = await _signed_in(browser, w, ANNA_TG)
    await page.goto(w.url(f"/office/c/{person_id}"))  # read: a read mark is kept
    await page.goto(w.url(f"/office/p/{person_id}"))
    assert "erteilt" in await page.inner_text("#ledger")
    await page.click("#export")
    assert "https://bot.example.de/export/" in await page.inner_text("#export-link")
    await shoot(page, "person")
    await page.click("#erase")
    await page.wait_for_selector("#erase-form")
    await shoot(page, "erase-confirm")
    async with w.h.services.db.session() as session:
        person = await session.get(Person, person_id)
        assert person is not None and person.erased_at is None  # nothing erased by asking
    await page.check("#erase-confirm")
    await page.click("#erase-final")
    await page.wait_for_url("**/office")
    assert "gelöscht" in await page.inner_text(".flash")
    assert "Gartenweg" not in await page.content()
    async with w.h.services.db.session() as session:
        person = await session.get(Person, person_id)
        assert person is not None and person.erased_at is not None
        assert not (await session.scalars(select(ReadMark).where(
            ReadMark.person_id == person_id))).all()
    response = await page.goto(w.url(f"/office/c/{person_id}"))
    assert response is not None and response.status == 404
    await context.close()


async def test_emergency_acknowledged_by_the_alerted_fitter_only(office_at: Any,
                                                                 browser: Any) -> None:
    w: OfficeWorld = await office_at(SATURDAY_NIGHT)
    customer = await w.consented(Address("sms", SMS_CUSTOMER))
    await w.sms("Notfall! Wasserrohrbruch im Bad")
    assert any("Notfall" in t or "#" in t for t in w.telegram_texts(LUDWIG_TG))

    # the admin sees the incident, but was not alerted: no button, and a forged ack fails
    chef, chef_page = await _signed_in(browser, w, CHEF_TG)
    await chef_page.goto(w.url("/office/incidents"))
    await chef_page.click("li.incident a")
    await chef_page.wait_for_selector("#timeline")
    assert await chef_page.locator("#ack").count() == 0
    incident_url = chef_page.url
    csrf = await chef_page.get_attribute('input[name="csrf"]', "value")
    refused = await chef_page.request.post(incident_url + "/ack", form={"csrf": csrf or ""})
    assert refused.status == 403
    assert "alarmiert" in await refused.text()

    # the fitter signs in to their incidents, hears the cue of a new one, acknowledges
    fitter, page = await _signed_in(browser, w, LUDWIG_TG)
    assert page.url.endswith("/office/incidents")
    await page.wait_for_selector("body[data-live-ready]")
    await shoot(page, "incidents")
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("NOTFALL Gasgeruch im Keller")
    await page.wait_for_selector("body[data-cue]", timeout=10_000)
    assert await page.is_visible("#alert")
    await page.goto(incident_url)
    await shoot(page, "incident")
    await page.click("#ack")
    await page.wait_for_selector(".flash")
    assert "übernommen" in (await page.inner_text("#incident-status")).lower()
    await w.h.run()
    assert any("Ludwig" in (body or "") for body in w.sms_to(SMS_CUSTOMER))

    # a fitter cannot open the office's conversations
    response = await page.goto(w.url(f"/office/c/{customer}"))
    assert response is not None and response.status == 403
    assert "Wasserrohrbruch" not in await page.content()
    response = await page.goto(w.url("/office"))
    assert response is not None and page.url.endswith("/office/incidents")

    # the admin closes the incident, reads the audit log, and ends every session
    await chef_page.goto(incident_url)
    await chef_page.click("#close-incident")
    await chef_page.wait_for_selector(".flash")
    assert "abgeschlossen" in await chef_page.inner_text("#incident-status")
    await chef_page.goto(w.url("/office/audit?actor=ludwig"))
    audit = await chef_page.inner_text("#audit")
    assert "web.signin" in audit and "web.incident_ack" in audit and "chef" not in audit
    await shoot(chef_page, "audit")
    async with chef_page.expect_navigation():  # the form's POST has ended every session
        await chef_page.click("#end-all")
    # The fitter's open page reloads itself when told it was signed out, so ask the server
    # with its cookies instead of navigating that page at the same moment.
    response = await page.request.get(w.url("/office/incidents"), max_redirects=0)
    assert response.status == 401
    for ctx in (chef, fitter):
        await ctx.close()


async def test_window_closed_the_office_may_answer_on_another_consented_channel(
        office_at: Any, browser: Any) -> None:
    w: OfficeWorld = await office_at(TUESDAY_10)
    person_id = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Wann kommt der Techniker?")
    await w.whatsapp("", message_type="location", Latitude="48.1371", Longitude="11.5754",
                     Address="Gartenweg 5, München")
    async with w.h.services.db.session() as session:  # the same number, also on SMS
        await PeopleRepo(session).add_address(person_id, Address("sms", WA_CUSTOMER),
                                              w.h.clock.now())
    assert await w.consented(Address("sms", WA_CUSTOMER)) == person_id
    w.h.clock.advance(timedelta(hours=25))  # WhatsApp's window has closed since
    context, page = await _signed_in(browser, w, ANNA_TG)
    await page.goto(w.url(f"/office/c/{person_id}"))
    assert "Vorlage" in await page.inner_text("#route")
    location = await page.inner_text("#thread .location")
    assert "48.13710, 11.57540" in location and "Gartenweg 5" in location
    assert await page.is_checked("#via-whatsapp")
    await page.check("#via-sms")
    await page.fill("#text", "Morgen zwischen 8 und 10 Uhr.")
    await page.click("#send")
    await page.wait_for_selector(".flash")
    assert "SMS" in await page.inner_text(".flash")
    await w.h.run()
    assert w.sms_to(WA_CUSTOMER) == ["Morgen zwischen 8 und 10 Uhr."]
    assert not [a for a in _answers_to(w, WA_CUSTOMER) if a.get("ContentSid")]

    await page.click("#close-toggle")  # close the conversation, then reopen it
    await page.wait_for_selector(".flash")
    assert "beendet" in await page.inner_text(".flash")
    assert await page.inner_text("#close-toggle") == "Wieder öffnen"
    await page.click("#close-toggle")
    await page.wait_for_selector(".flash")
    assert await page.inner_text("#close-toggle") == "Gespräch beenden"
    await context.close()
