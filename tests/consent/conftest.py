"""Fixtures for the consent scenarios: a harness with the consent routers and policy,
staff in the config, and tiny stand-ins for the emergency and office-inbox handlers.

The stand-ins do only what the consent tests need: the emergency one answers with
safety advice and the on-call number before consent, alerts the fitter without details,
holds the message and calls `ask_consent`; the office one forwards a customer's text to
the office staff (kind `forward`, so the policy checks the customer's consent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, Event, MediaEvent, TextEvent, TimerEvent
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.replies import Reply, TextReply
from werkbot.bot.router import Filter, Router
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import Person
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.bot.testing import Harness, make_settings
from werkbot.bot.testing import text as make_text
from werkbot.handlers import consent, menu
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.holds import hold, is_released
from werkbot.handlers.consent.ledger import PURPOSES, ConsentLedger
from werkbot.handlers.consent.status import is_customer
from werkbot.handlers.filters import mentions_any

CUSTOMERS = {
    "whatsapp": Address("whatsapp", "+491701234567"),
    "sms": Address("sms", "+491709876543"),
    "telegram": Address("telegram", "555000111"),
}
CHANNELS = tuple(CUSTOMERS)
NEXT_CHANNEL = {"whatsapp": "sms", "sms": "telegram", "telegram": "whatsapp"}
SECOND = {  # another address of the same customer, on the next channel
    "whatsapp": Address("sms", "+491705550001"),
    "sms": Address("telegram", "555000222"),
    "telegram": Address("whatsapp", "+491705550003"),
}
OFFICE = Address("telegram", "100000002")
FITTER = Address("telegram", "111111111")
SMS_FROM = "+4989100200300"
WA_FROM = "whatsapp:+4989100200301"
BOT_USERNAME = "maier_werkbot"
PHONE = "+49 89 1234567"

STAFF = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "phone": "+4917100000001",
     "whatsapp": "+4917100000001"},
    {"id": "buero", "name": "Anna Huber", "roles": ["office"], "phone": "+498912345670",
     "telegram": 100000002},
    {"id": "ludwig", "name": "Ludwig Maier", "roles": ["fitter"], "phone": "+4917111111111",
     "telegram": 111111111, "whatsapp": "+4917111111111"},
]


def consent_settings(tmp: Path, **sections: Any) -> Settings:
    base: dict[str, Any] = {
        "business": {"holidays": "", "hours": {}, "phone": PHONE, "email": "info@example.de",
                     "privacy_url": "https://example.de/datenschutz"},
        "twilio": {"account_sid": "AC" + "0" * 32, "auth_token": "x" * 32,
                   "sms_from": SMS_FROM, "whatsapp_from": WA_FROM,
                   "templates": {"reply": "HX" + "a" * 32}},  # WhatsApp outside the window
        "telegram": {"bot_username": BOT_USERNAME},
        "staff": STAFF,
        "oncall": {"rotation": ["ludwig"], "escalation": ["chef"]},
    }
    for name, value in sections.items():
        base[name] = {**base.get(name, {}), **value} if isinstance(value, dict) else value
    return make_settings(tmp, **base)


# --- stand-ins for handlers other engineers own ------------------------------------

emergency = Router("test.emergency")
office = Router("test.office")


def _emergency_words(event: Event, ctx: Context) -> bool:
    said = event.text if isinstance(event, TextEvent) else ""
    return is_customer(ctx) and mentions_any(said, ctx.texts.words("words.emergency"))


@emergency.on(TextEvent, Filter(_emergency_words))
async def on_emergency(event: Event, ctx: Context) -> None:
    assert isinstance(event, TextEvent) and ctx.person is not None
    fitter = await ctx.people.by_staff_id("ludwig")
    assert fitter is not None
    details = TextReply(kind=kinds.ALERT_DETAILS, text=f"Notfall-Details: {event.text}")
    if is_released(event):  # the person agreed: now the fitter may see the details
        await ctx.send_to_person(fitter.id, details)
        return
    await ctx.reply(TextReply(kind=kinds.SAFETY, text="Hauptwasserhahn zudrehen."))
    await ctx.reply(TextReply(kind=kinds.ONCALL_NUMBER, text="Notdienst: +4917111111111"))
    await ctx.send_to_person(fitter.id, TextReply(
        kind=kinds.ALERT, text=f"Notfall gemeldet, Kontakt Nr. {ctx.person.id}."))
    await ctx.send_to_person(fitter.id, details)  # refused by the policy before consent
    if not await consent.may_share(ctx.tx, ctx.person.id, "emergency"):
        await hold(ctx)
        await consent.ask_consent(ctx)


@office.on((TextEvent, MediaEvent), Filter(lambda e, c: is_customer(c)))
async def to_office(event: Event, ctx: Context) -> None:
    said = event.text if isinstance(event, TextEvent) else "(Foto)"
    for staff in ctx.settings.staff:
        if "office" in staff.roles:
            member = await ctx.people.by_staff_id(staff.id)
            assert member is not None
            await ctx.send_to_person(member.id, TextReply(kind=kinds.FORWARD, text=said))


def consent_bundle() -> HandlerBundle:
    root = Router("root")
    root.include_router(emergency)
    root.include_router(consent.words)
    root.include_router(consent.gate)
    root.include_router(office)
    root.include_router(menu.router)
    root.include_router(menu.fallback)
    return HandlerBundle(router=root, policy=consent.build_policy, setup=consent.setup)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return consent_settings(tmp_path)


@pytest.fixture
async def h(settings: Settings) -> AsyncIterator[Harness]:
    async with Harness(settings, consent_bundle()) as harness:
        await harness.run()
        yield harness


# --- helpers ---------------------------------------------------------------------


def say(address: Address, body: str, *, at: datetime, name: str = "") -> Event:
    """A text (or a /command) from `address`, with the sender's name if given."""
    event = make_text(address, body, at=at)
    return dataclasses.replace(event, sender_name=name) if name else event


async def tell(h: Harness, address: Address, body: str, *, name: str = "") -> list[Any]:
    """A customer writes; everything runs; what that address got back."""
    before = len(h.adapter(address.channel).to(address))
    await h.feed(say(address, body, at=h.clock.now(), name=name))
    await h.run()
    return h.adapter(address.channel).to(address)[before:]


async def press(h: Harness, address: Address, value: str) -> list[Any]:
    before = len(h.adapter(address.channel).to(address))
    await h.feed(ChoiceEvent(id=f"press:{value}:{h.clock.now().timestamp()}", sender=address,
                             received_at=h.clock.now(), value=value))
    await h.run()
    return h.adapter(address.channel).to(address)[before:]


def got(h: Harness, address: Address) -> list[str]:
    return [s.text for s in h.adapter(address.channel).to(address)]


def staff_texts(h: Harness) -> list[str]:
    staff = {OFFICE, FITTER, Address("whatsapp", "+4917100000001")}
    return [s.text for s in h.all_sent() if s.address in staff]


async def person_of(h: Harness, address: Address) -> int:
    async with h.services.db.session() as session:
        found = await PeopleRepo(session).by_address(address)
        assert found is not None
        return found[0].id


async def link(h: Harness, person_id: int, address: Address, *, consent_to: bool = True) -> None:
    """The office adds another address of a customer, consent recorded from paper."""
    async with h.services.db.session() as session:
        await PeopleRepo(session).add_address(person_id, address, h.clock.now())
        if consent_to:
            await ConsentLedger(session, h.services.signer).record(
                person_id=person_id, address=address, purposes=PURPOSES, granted=True,
                text="Einwilligung (Papier)", text_version="2026-11", method="paper",
                evidence="form 17", recorded_by="staff:buero", now=h.clock.now())


def system_context(h: Harness, session: AsyncSession) -> Context:
    """A handler context outside any person's event (as a staff command or job has)."""
    event = TimerEvent(id="test:office-send", sender=Address("system", "test"),
                       received_at=h.clock.now(), name="test")
    return Context.begin(h.services, session, event)


async def send_to(h: Harness, person_id: int, reply: Reply) -> Address | None:
    """The office sends a message to a person (outside any customer event); the address it
    was queued for, None if nothing was queued."""
    async with h.services.db.session() as session:
        sent = await system_context(h, session).send_to_person(person_id, reply)
    await h.run()
    return sent.address if sent else None


async def send_to_address(h: Harness, address: Address, person_id: int, reply: Reply) -> bool:
    """The office sends a message to one address of a person."""
    async with h.services.db.session() as session:
        sent = await system_context(h, session).send(address, reply, person_id=person_id)
    await h.run()
    return sent


async def database_text(h: Harness) -> str:
    """Every value of every row of every table, as one string to search in."""
    parts = []
    async with h.services.db.session() as session:
        tables = (await session.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars().all()
        for table in tables:
            query = text(f'SELECT * FROM "{table}"')  # noqa: S608 - names from sqlite_master
            for row in (await session.execute(query)).all():
                parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts)


async def person_row(h: Harness, person_id: int) -> Person:
    async with h.services.db.session() as session:
        person = await session.scalar(select(Person).where(Person.id == person_id))
        assert person is not None
        return person
