"""The full handler bundle on the real channel adapters, against the recording stand-ins:
WhatsApp and SMS through the real Twilio adapter and the fake Twilio, Telegram through
the real Telegram adapter (webhook mode with a secret) and the fake Bot API.

`World` drives werkbot as the providers would (signed Twilio webhooks, Telegram updates
with the secret header) and reads what werkbot put on the wire from the fakes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.telegram.conftest import SECRET, TOKEN
from tests.telegram.fake_bot_api import Call, FakeBotAPI
from tests.twilio import payloads
from tests.twilio.conftest import MENU_TEMPLATE
from tests.twilio.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, SentMessage
from werkbot.adapters.telegram.adapter import SECRET_HEADER, WEBHOOK_PATH, TelegramAdapter
from werkbot.adapters.twilio import build as build_twilio
from werkbot.bot.addresses import Address
from werkbot.bot.clock import FrozenClock
from werkbot.bot.settings import Settings
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.bot.testing import Harness, make_settings
from werkbot.handlers import build_bundle
from werkbot.handlers.consent.ledger import PURPOSES, ConsentLedger

BERLIN = ZoneInfo("Europe/Berlin")
SATURDAY_NIGHT = datetime(2026, 12, 5, 2, 0, tzinfo=BERLIN)  # closed; ludwig's rota week
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)  # open
GROUP = -1001234567890  # the office's forum group
CHEF_TG = 100000001
LUDWIG_TG = 111111111
ANNA_TG = 133333333
LUDWIG_PHONE = "+49 171 1111111"
STAFF: list[dict[str, Any]] = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "telegram": CHEF_TG},
    {"id": "ludwig", "name": "Ludwig Maier", "roles": ["fitter"], "phone": LUDWIG_PHONE,
     "telegram": LUDWIG_TG},
    {"id": "anna", "name": "Anna Huber", "roles": ["office"], "telegram": ANNA_TG},
]
ONCALL: dict[str, Any] = {"rotation": ["ludwig"], "handover": "mon 07:00",
                          "rotation_start": "2026-11-30", "ack_timeout": "10m",
                          "escalation": ["chef"]}
WEEKDAY = ["07:30-12:00", "13:00-16:30"]
BUSINESS: dict[str, Any] = {
    "holidays": "DE-BY", "phone": "+49 89 1234567", "email": "info@example.de",
    "privacy_url": "https://example.de/datenschutz",
    "hours": {"mon": WEEKDAY, "tue": WEEKDAY, "wed": WEEKDAY, "thu": WEEKDAY,
              "fri": ["07:30-12:00"]},
}
WA_CUSTOMER = "+491705550001"
WA_CUSTOMER_2 = "+491705550004"
SMS_CUSTOMER = "+491705550002"
SMS_CUSTOMER_2 = "+491705550003"
_update_ids = itertools.count(900001)


def scenario_settings(tmp_path: Path, fake: FakeTwilio, api: FakeBotAPI, *,
                      group: int = GROUP, staff: list[dict[str, Any]] | None = None,
                      templates: dict[str, str] | None = None) -> Settings:
    """The scenario business; `group=0`: the office works in its own chats, no forum."""
    return make_settings(
        tmp_path,
        twilio={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
                "api_base": fake.base_url, "whatsapp_from": payloads.BUSINESS_WA,
                "sms_from": payloads.BUSINESS_SMS,
                "templates": templates if templates is not None else {
                    "menu": MENU_TEMPLATE, "reply": "HX" + "b" * 32}},
        telegram={"token": TOKEN, "api_base": api.url, "webhook_secret": SECRET,
                  "bot_username": "fitter_test_bot"},
        staff=staff if staff is not None else STAFF, oncall=ONCALL, business=BUSINESS,
        office={"telegram_group": group})


def tg_message(text: str, *, chat_id: int, user_id: int, thread: int | None = None,
               reply_to: int | None = None, name: str = "Anna") -> dict[str, Any]:
    """A Telegram text update from `user_id` in chat `chat_id` (a forum topic if `thread`)."""
    update_id = next(_update_ids)
    chat: dict[str, Any] = ({"id": chat_id, "type": "private", "first_name": name}
                            if chat_id > 0 else
                            {"id": chat_id, "type": "supergroup", "title": "Büro",
                             "is_forum": True})
    message: dict[str, Any] = {
        "message_id": update_id % 100000, "date": 1764666000, "chat": chat, "text": text,
        "from": {"id": user_id, "is_bot": False, "first_name": name, "language_code": "de"}}
    if thread is not None:
        message["message_thread_id"] = thread
        message["is_topic_message"] = True
    if reply_to is not None:
        message["reply_to_message"] = {"message_id": reply_to, "date": 1764666000,
                                       "chat": chat, "text": "…"}
    if text.startswith("/"):
        head = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(head.encode("utf-16-le")) // 2}]
    return {"update_id": update_id, "message": message}


class World:
    """werkbot (full bundle, real adapters) between the fake Twilio and the fake Bot API."""

    def __init__(self, harness: Harness, twilio: FakeTwilio, api: FakeBotAPI) -> None:
        self.h = harness
        self.twilio = twilio
        self.api = api

    # -- inbound ----------------------------------------------------------------------
    async def post_twilio(self, path: str, form: dict[str, str]) -> None:
        assert self.h.client is not None
        base = str(self.h.client.make_url("")).rstrip("/")
        resp = await self.twilio.post(base, path, form,
                                      public_url=self.h.settings.server.public_url)
        assert resp.status == 200, await resp.text()

    async def whatsapp(self, body: str, sender: str = WA_CUSTOMER, *, run: bool = True,
                       **extra: str) -> None:
        """A signed WhatsApp webhook from `sender`; then all due work runs."""
        await self.post_twilio("/webhooks/whatsapp",
                                payloads.whatsapp(body, sender=sender, **extra))
        if run:
            await self.h.run()

    async def whatsapp_photo(self, data: bytes, sender: str = WA_CUSTOMER) -> None:
        url = self.twilio.add_media(data, "image/jpeg")
        await self.whatsapp("", sender, run=False, message_type="image", NumMedia="1",
                            MediaUrl0=url, MediaContentType0="image/jpeg")

    async def sms(self, body: str, sender: str = SMS_CUSTOMER) -> None:
        await self.post_twilio("/webhooks/sms", payloads.sms(body, sender=sender))
        await self.h.run()

    async def telegram(self, update: dict[str, Any]) -> None:
        """A Telegram update posted to the webhook with the secret; then all due work runs."""
        assert self.h.client is not None
        resp = await self.h.client.post(WEBHOOK_PATH, json=update,
                                        headers={SECRET_HEADER: SECRET})
        assert resp.status == 200, await resp.text()
        await self.h.run()

    # -- what went out on the wire ------------------------------------------------------
    def twilio_to(self, to: str) -> list[SentMessage]:
        return [s for s in self.twilio.sent if s["To"] == to]

    def whatsapp_to(self, number: str = WA_CUSTOMER) -> list[str]:
        return [s.get("Body") for s in self.twilio_to(f"whatsapp:{number}")]

    def sms_to(self, number: str = SMS_CUSTOMER) -> list[str]:
        return [s.get("Body") for s in self.twilio_to(number)]

    def telegram_calls(self, chat_id: int, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.api.calls_of(method) if str(c.params.get("chat_id")) ==
                str(chat_id)]

    def telegram_texts(self, chat_id: int) -> list[str]:
        return [str(c.params.get("text", "")) for c in self.telegram_calls(chat_id)]

    def staff_sends(self) -> list[Call]:
        """Every message sent on Telegram (only staff and the office group are there)."""
        return [c for c in self.api.calls if c.method.startswith("send")
                or c.method == "createForumTopic"]

    # -- set-up shortcuts -----------------------------------------------------------------
    async def consented(self, address: Address) -> int:
        """A customer who consented earlier (all purposes, recorded in the chat)."""
        async with self.h.services.db.session() as session:
            people = PeopleRepo(session)
            found = await people.by_address(address)
            person = found[0] if found else (await people.create_customer(
                address, self.h.clock.now()))[0]
            await ConsentLedger(session, self.h.services.signer).record(
                person_id=person.id, address=address, purposes=PURPOSES, granted=True,
                text="Einwilligung", text_version="test", method="chat", evidence="test",
                recorded_by="customer", now=self.h.clock.now())
            return person.id


WorldFactory = Callable[..., Awaitable[World]]


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    twilio = await FakeTwilio().start()
    yield twilio
    await twilio.close()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI(TOKEN)
    await api.start()
    yield api
    await api.close()


@pytest.fixture
async def world_at(tmp_path: Path, fake_twilio: FakeTwilio,
                   fake_api: FakeBotAPI) -> AsyncIterator[WorldFactory]:
    """Opens the world at a given moment (the harness's FrozenClock, shared with Telegram)."""
    opened: list[Harness] = []

    async def open_world(at: datetime, **options: Any) -> World:
        settings = scenario_settings(tmp_path, fake_twilio, fake_api, **options)
        clock = FrozenClock(at)
        fake_twilio.clock = clock.now  # Twilio's timestamps on the same (frozen) time
        telegram = TelegramAdapter(settings, clock=clock)
        harness = Harness(settings, build_bundle(settings), channels=(), clock=clock,
                          adapters=[*build_twilio(settings), telegram])
        await harness.__aenter__()
        opened.append(harness)
        # As a server some seconds after start-up: aiogram loaded, webhook set (a scenario
        # that makes the Bot API hang must not catch the adapter still starting).
        async with asyncio.timeout(60):
            while telegram.state == "registering":
                await asyncio.sleep(0.01)
        await harness.run()  # start-up timers
        return World(harness, fake_twilio, fake_api)

    yield open_world
    for harness in opened:
        await harness.__aexit__(None, None, None)
