"""Issue 23: the demo's one-click office, and who `/web` answers with a link."""

from __future__ import annotations

from pathlib import Path

from werkbot.adapters.sandbox import build as build_sandbox
from werkbot.bot.addresses import Address
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import build_bundle

STAFF = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "whatsapp": "+4917100000001"},
    {"id": "buero", "name": "Anna Huber", "roles": ["office"], "sms": "+4917100000002"},
    {"id": "karl", "name": "Karl Bauer", "roles": ["fitter"], "telegram": 100000003},
]


async def test_the_sandbox_links_to_the_office_and_the_demo_signs_the_office_in(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, staff=STAFF,
                             server={"sandbox": True, "public_url": "http://127.0.0.1:8080"})
    async with Harness(settings, build_bundle(settings), channels=(),
                       adapters=build_sandbox(settings)) as h:
        assert h.client is not None
        sandbox = await (await h.client.get("/sandbox")).text()
        assert 'href="/office/demo"' in sandbox
        office = await h.client.get("/office/demo")
        assert office.status == 200 and str(office.url).endswith("/office")
        body = await office.text()
        assert "Anna Huber" in body and "Gespräche" in body


async def test_no_one_click_sign_in_outside_the_demo(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, staff=STAFF, server={"sandbox": True})  # public https
    async with Harness(settings, build_bundle(settings)) as h:
        assert h.client is not None
        resp = await h.client.get("/office/demo", allow_redirects=False)
        assert resp.status == 404
        assert "werkbot_office" not in resp.cookies


async def test_web_answers_staff_on_their_address_and_nobody_else(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, staff=STAFF)
    async with Harness(settings, build_bundle(settings)) as h:
        (office,) = await h.say(Address("sms", "+4917100000002"), "/web")
        assert "https://bot.example.de/office/login/" in office.text
        (fitter,) = await h.say(Address("telegram", "100000003"), "/web")
        assert "https://bot.example.de/office/login/" in fitter.text
        customer = await h.say(Address("whatsapp", "+491709999999"), "/web")
        assert customer and all("/office/login/" not in s.text for s in customer)
        for _ in range(4):
            await h.say(Address("sms", "+4917100000002"), "/web")
        (limited,) = await h.say(Address("sms", "+4917100000002"), "/web")
        assert "/office/login/" not in limited.text and "Zu viele" in limited.text


def test_sign_in_links_never_reach_the_logs_in_clear() -> None:
    from werkbot.bot.logs import redact

    line = '127.0.0.1 "GET /office/login/hqdM52liwocevGH4P4MLs5j9FR-IHqp_KSE8 HTTP/1.1" 303'
    assert "hqdM52" not in redact(line)
    assert "/office/login/***" in redact(line)
