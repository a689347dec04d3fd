"""Shared set-up for the office tests: staff, a forum-aware Telegram stand-in, the real gate.

`ForumAdapter` plays the Telegram adapter's part of the topic contract: a reply whose
thread is a marker `new:<key>` opens a forum topic (once per key) and lands in it.
`learn_topics` stands in for the proposed core change (the receipt's topic recorded on
the outbox row) by telling the office inbox which topic each sent message landed in.
The consent gate is the real one (`handlers.consent.build_policy`), not a stand-in:
these tests show what a customer who withdrew really gets.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from werkbot.bot.adapter import Receipt
from werkbot.bot.addresses import Address
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.replies import Reply
from werkbot.bot.router import Router
from werkbot.bot.services import Services
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import AddressRow, Person
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.bot.testing import FrozenClock, Harness, RecordingAdapter, Sent, make_settings
from werkbot.handlers import admin, menu, office
from werkbot.handlers.commands import commands
from werkbot.handlers.consent import build_policy
from werkbot.handlers.consent.ledger import PURPOSES, ConsentLedger
from werkbot.handlers.office import ConversationsRepo, replies_router, router

del admin  # imported for its commands
GROUP = -1001234567890
GROUP_ADDRESS = Address("telegram", str(GROUP))
BOSS = Address("whatsapp", "+4917100000001")
ANNA = Address("telegram", "133333333")  # office
FITTER = Address("telegram", "122222222")
STAFF = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "whatsapp": "+4917100000001"},
    {"id": "anna", "name": "Anna Huber", "roles": ["office"], "telegram": 133333333},
    {"id": "karl", "name": "Karl Berger", "roles": ["fitter"], "telegram": 122222222},
]
HOURS = {"mon": ["07:30-16:30"], "tue": ["07:30-16:30"], "wed": ["07:30-16:30"],
         "thu": ["07:30-16:30"], "fri": ["07:30-12:00"]}
TUESDAY_10 = datetime.fromisoformat("2026-12-01T10:00:00+01:00")
_topics = itertools.count(9001)


@dataclass
class ForumAdapter(RecordingAdapter):
    """Telegram stand-in that opens forum topics for `new:<key>` marker threads."""

    topics: dict[str, str] = field(default_factory=dict)
    landed: dict[str, str] = field(default_factory=dict)  # provider id -> topic id

    async def send(self, address: Address, reply: Reply) -> Receipt:
        thread = reply.thread
        if thread.startswith("new:"):
            thread = self.topics.setdefault(thread, str(next(_topics)))
        receipt = await super().send(address, replace(reply, thread=thread))
        if thread:
            self.landed[receipt.provider_id] = thread
        return receipt


def bundle() -> HandlerBundle:
    root = Router("test-root")
    root.include_router(replies_router)
    root.include_router(commands.router)
    root.include_router(router)
    root.include_router(menu.fallback)
    return HandlerBundle(router=root, policy=build_policy, setup=_register_office)


async def _register_office(services: Services) -> None:
    office.register(services)  # erasure takes the office's records along


def settings(tmp: Path, *, group: int = GROUP, **extra: Any) -> Settings:
    return make_settings(tmp, staff=STAFF, business={"hours": HOURS, "holidays": ""},
                         office={"telegram_group": group}, **extra)


def harness(tmp: Path, *, group: int = GROUP) -> Harness:
    return Harness(settings(tmp, group=group), bundle(), clock=FrozenClock(TUESDAY_10),
                   adapters=[ForumAdapter("telegram")])


async def customer(h: Harness, address: Address, *, name: str = "",
                   consent: bool = True) -> int:
    """A known customer, with consent for every purpose given in the chat."""
    now = h.clock.now()
    async with h.services.db.session() as session:
        person, _ = await PeopleRepo(session).create_customer(address, now, name=name)
        if consent:
            await ConsentLedger(session, h.services.signer).record(
                person_id=person.id, address=address, purposes=PURPOSES, granted=True,
                text="Einwilligung", text_version="test", method="chat", evidence="test",
                recorded_by="test", now=now)
        return person.id


async def withdraw(h: Harness, person_id: int, address: Address) -> None:
    async with h.services.db.session() as session:
        await ConsentLedger(session, h.services.signer).record(
            person_id=person_id, address=address, purposes=PURPOSES, granted=False,
            text="Widerruf", text_version="test", method="chat", evidence="test",
            recorded_by="test", now=h.clock.now())


async def learn_topics(h: Harness) -> None:
    forum = h.adapter("telegram")
    assert isinstance(forum, ForumAdapter)
    async with h.services.db.session() as session:
        for provider_id, topic in forum.landed.items():
            await ConversationsRepo(session).learn_topic(provider_id, topic)


def to_group(h: Harness) -> list[Sent]:
    return h.adapter("telegram").to(GROUP_ADDRESS)


async def person_of(h: Harness, address: Address) -> Person:
    async with h.services.db.session() as session:
        person = await session.scalar(select(Person).join(
            AddressRow, AddressRow.person_id == Person.id).where(
            AddressRow.address == str(address)))
        assert person is not None
        return person
