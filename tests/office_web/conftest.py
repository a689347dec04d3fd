"""The office web app on the real adapters (the scenario world) and headless Chromium.

The world is the scenario one (signed Twilio webhooks against the fake Twilio, Telegram
updates against the fake Bot API), with an approved template for office answers, so an
answer outside WhatsApp's 24-hour window goes as that template. Chromium is Debian's
(/usr/bin/chromium): a missing browser fails these tests, it never skips them.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios.conftest import (
    BUSINESS,
    GROUP,
    ONCALL,
    STAFF,
    World,
    fake_api,
    fake_twilio,
    tg_message,
)
from tests.telegram.conftest import SECRET, TOKEN
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.twilio import payloads
from tests.twilio.conftest import MENU_TEMPLATE
from tests.twilio.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from werkbot.adapters.telegram.adapter import TelegramAdapter
from werkbot.adapters.twilio import build as build_twilio
from werkbot.bot.clock import FrozenClock
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import build_bundle

__all__ = ["fake_api", "fake_twilio"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ANSWER_TEMPLATE = "HX" + "c" * 32
SHOTS = Path(os.environ.get("WERKBOT_SHOTS", "/tmp/shots-office-web"))
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"https://bot\.example\.de(/office/login/\S+)")


class OfficeWorld(World):
    """The scenario world plus what the office web app tests need."""

    async def web_link(self, telegram_id: int, name: str = "Anna") -> str:
        """`/web` sent by the staff member with this Telegram id: the link's path."""
        before = len(self.telegram_calls(telegram_id))
        await self.telegram(tg_message("/web", chat_id=telegram_id, user_id=telegram_id,
                                       name=name))
        calls = self.telegram_calls(telegram_id)[before:]
        found = [m.group(1) for c in calls if (m := LINK.search(str(c.params.get("text"))))]
        assert len(found) == 1, [c.params for c in calls]
        return found[0]

    def url(self, path: str) -> str:
        assert self.h.client is not None
        return str(self.h.client.make_url(path))


@pytest.fixture
async def office_at(tmp_path: Path, fake_twilio: FakeTwilio, fake_api: FakeBotAPI
                    ) -> AsyncIterator[Any]:
    opened: list[Harness] = []

    async def open_world(at: datetime, *, office_group: bool = True) -> OfficeWorld:
        settings = make_settings(
            tmp_path,
            twilio={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
                    "api_base": fake_twilio.base_url, "whatsapp_from": payloads.BUSINESS_WA,
                    "sms_from": payloads.BUSINESS_SMS,
                    "templates": {"menu": MENU_TEMPLATE, "office_reply": ANSWER_TEMPLATE}},
            telegram={"token": TOKEN, "api_base": fake_api.url, "webhook_secret": SECRET,
                      "bot_username": "fitter_test_bot"},
            staff=STAFF, oncall=ONCALL, business=BUSINESS,
            office={"telegram_group": GROUP if office_group else 0})
        clock = FrozenClock(at)
        fake_twilio.clock = clock.now
        adapters = [*build_twilio(settings), TelegramAdapter(settings, clock=clock)]
        harness = Harness(settings, build_bundle(settings), channels=(), clock=clock,
                          adapters=adapters)
        await harness.__aenter__()
        opened.append(harness)
        await harness.run()
        return OfficeWorld(harness, fake_twilio, fake_api)

    yield open_world
    for harness in opened:
        await harness.__aexit__(None, None, None)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def shoot(page: Any, name: str) -> None:
    """Screenshots of the page at desktop and phone size; the phone page must not need
    sideways scrolling (readable on a 390-pixel phone)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name}: {width}px wide on a phone"
    await page.set_viewport_size(DESKTOP)
