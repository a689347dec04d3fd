"""Fixtures for the emergency tests: a business with staff, a rota and a test bundle.

The bundle follows the root order of `handlers/__init__.py`, with the real consent
gate policy and consent request, and two stand-ins: a "ja" router that records the
grant and calls the emergency hook (what the consent package's `grant` should call),
and an office router that gives the away answer when closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import Event, TextEvent
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Router
from werkbot.bot.settings import Settings
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.bot.testing import FrozenClock, Harness, make_settings
from werkbot.handlers import emergency, menu
from werkbot.handlers.commands import commands
from werkbot.handlers.consent import build_policy
from werkbot.handlers.consent.ledger import PURPOSES, ConsentLedger
from werkbot.handlers.emergency import on_consent_granted, send_away_answer
from werkbot.handlers.filters import word
from werkbot.handlers.staff_roles import is_customer

BERLIN = ZoneInfo("Europe/Berlin")
CHEF = Address("whatsapp", "+4917100000001")
LUDWIG_TG = Address("telegram", "111111111")
LUDWIG_WA = Address("whatsapp", "+4917111111111")
KARL_TG = Address("telegram", "122222222")
ANNA_TG = Address("telegram", "133333333")
STAFF: list[dict[str, Any]] = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "whatsapp": "+4917100000001"},
    {"id": "ludwig", "name": "Ludwig Maier", "roles": ["fitter"], "phone": "+49 171 1111111",
     "telegram": 111111111, "whatsapp": "+4917111111111"},
    {"id": "karl", "name": "Karl Berger", "roles": ["fitter"], "phone": "+49 171 2222222",
     "telegram": 122222222},
    {"id": "anna", "name": "Anna Huber", "roles": ["office"], "telegram": 133333333},
]
ONCALL: dict[str, Any] = {"rotation": ["ludwig", "karl"], "handover": "mon 07:00",
                          "rotation_start": "2026-11-30", "ack_timeout": "10m",
                          "escalation": ["chef"]}
WEEKDAY = ["07:30-12:00", "13:00-16:30"]
BUSINESS: dict[str, Any] = {
    "holidays": "DE-BY", "phone": "+49 89 1234567",
    "hours": {"mon": WEEKDAY, "tue": WEEKDAY, "wed": WEEKDAY, "thu": WEEKDAY,
              "fri": ["07:30-12:00"]},
}
SATURDAY_NIGHT = datetime(2026, 12, 5, 2, 0, tzinfo=BERLIN)  # ludwig's rota week
CUSTOMERS = {
    "whatsapp": Address("whatsapp", "+491705550001"),
    "sms": Address("sms", "+491705550002"),
    "telegram": Address("telegram", "5550003"),
}


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


ALERT_TEMPLATE = "HX" + "a" * 32  # the approved WhatsApp template for staff alerts


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    sections: dict[str, Any] = {"staff": STAFF, "oncall": ONCALL, "business": BUSINESS,
                                "twilio": {"templates": {"alert": ALERT_TEMPLATE}}}
    sections.update(overrides)
    return make_settings(tmp_path, **sections)


async def _say_yes(event: Event, ctx: Context) -> None:
    """Stand-in for the consent package's "ja": a ledger grant, then the emergency hook."""
    assert ctx.person is not None
    ledger = ConsentLedger(ctx.tx, ctx.services.signer)
    await ledger.record(person_id=ctx.person.id, address=ctx.address, purposes=PURPOSES,
                        granted=True, text="test consent", text_version="test",
                        method="chat", evidence=str(ctx.inbox_id), recorded_by="customer",
                        now=ctx.clock.now())
    await ctx.reply(TextReply(kind="consent_confirmed", text="Danke für Ihre Zustimmung."))
    await on_consent_granted(ctx)


async def _office(event: Event, ctx: Context) -> None:
    """Stand-in for the office inbox: the away answer when closed, else 'office'."""
    if not await send_away_answer(ctx):
        await ctx.reply(TextReply(kind="office_ack", text="office"))


def build_test_root() -> Router:
    root = Router("test-root")
    consent = Router("test-consent")
    consent.on(TextEvent, is_customer, word("yes"))(_say_yes)
    office = Router("test-office")
    office.on(TextEvent, is_customer)(_office)
    root.include_router(commands.router)
    root.include_router(emergency.router)
    root.include_router(consent)
    root.include_router(menu.router)
    root.include_router(office)
    root.include_router(menu.fallback)
    return root


@pytest.fixture
def esettings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path)


def harness_for(settings: Settings, at: datetime) -> Harness:
    bundle = HandlerBundle(router=build_test_root(), policy=build_policy)
    return Harness(settings, bundle, clock=FrozenClock(at))


@pytest.fixture
async def h(esettings: Settings) -> AsyncIterator[Harness]:
    async with harness_for(esettings, SATURDAY_NIGHT) as harness:
        yield harness


async def give_consent(h: Harness, address: Address) -> None:
    """A customer who consented earlier (through the ledger, method 'chat')."""
    async with h.services.db.session() as session:
        people = PeopleRepo(session)
        got = await people.by_address(address)
        person = got[0] if got else (await people.create_customer(address, h.clock.now()))[0]
        await ConsentLedger(session, h.services.signer).record(
            person_id=person.id, address=address, purposes=PURPOSES, granted=True,
            text="test consent", text_version="test", method="chat", evidence="test",
            recorded_by="customer", now=h.clock.now())
