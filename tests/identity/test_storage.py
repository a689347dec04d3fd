"""Identity on both stores (SQLite and PostgreSQL): the same number on WhatsApp and SMS is
one person (on PostgreSQL under a transaction lock on the number), and a merge re-points
every row that references a person, keeping the kept person's state where both had one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from werkbot.bot.addresses import Address
from werkbot.bot.clock import FrozenClock
from werkbot.bot.context import Context
from werkbot.bot.events import Event, TextEvent
from werkbot.bot.identity import merge_conflicts, merge_persons
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.router import Router
from werkbot.bot.storage.models import AddressRow, ConversationState, Person
from werkbot.bot.storage.repos import PeopleRepo, StateRepo
from werkbot.bot.testing import Harness, make_settings, text
from werkbot.handlers.consent.models import ConsentAsk

WHATSAPP = Address("whatsapp", "+491705556001")
SMS = Address("sms", "+491705556001")
STAFF_SMS = Address("sms", "+4917100000001")  # staff's WhatsApp number, written by SMS
SCOPED = Address("whatsapp", "DE.1180419027465236")  # a business-scoped id, no number
SCOPED_SMS = Address("sms", "+491180419027")
NOW = datetime.fromisoformat("2026-12-02T10:00:00+01:00")


def _router(seen: list[tuple[str, int]]) -> Router:
    router = Router("identity-test")

    @router.on(TextEvent)
    async def remember(event: Event, ctx: Context) -> None:
        assert ctx.person is not None
        seen.append((str(event.sender), ctx.person.id))
        ctx.state["said"] = [*ctx.state.get("said", []), str(event.sender)]

    return router


@pytest.fixture
async def h(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[Harness, list[tuple[str, int]]]]:
    seen: list[tuple[str, int]] = []
    settings = make_settings(tmp_path, database={"url": db_url}, staff=[
        {"id": "chef", "name": "Josef Maier", "roles": ["admin"],
         "whatsapp": "+4917100000001"}])
    async with Harness(settings, HandlerBundle(router=_router(seen)),
                       clock=FrozenClock(NOW)) as harness:
        yield harness, seen


async def test_issue20_one_number_is_one_person_on_both_stores(
        h: tuple[Harness, list[tuple[str, int]]]) -> None:
    harness, seen = h
    await harness.feed(text(WHATSAPP, "Hallo per WhatsApp"), text(SMS, "Hallo per SMS"),
                       text(STAFF_SMS, "Hallo vom Chef per SMS"),
                       text(SCOPED, "Hallo ohne Nummer"), text(SCOPED_SMS, "Hallo per SMS"))
    await harness.run()
    by_sender = dict(seen)
    assert by_sender[str(WHATSAPP)] == by_sender[str(SMS)]
    async with harness.services.db.session() as session:
        chef = await PeopleRepo(session).by_staff_id("chef")
        state = await StateRepo(session).load(by_sender[str(SMS)])
    assert chef is not None and by_sender[str(STAFF_SMS)] != chef.id  # staff never joins
    assert by_sender[str(SCOPED)] != by_sender[str(SCOPED_SMS)]  # no number, no link
    assert state == {"said": [str(WHATSAPP), str(SMS)]}  # one state for the one person


async def test_issue20_merge_moves_every_row_on_both_stores(
        h: tuple[Harness, list[tuple[str, int]]]) -> None:
    harness, _ = h
    telegram = Address("telegram", "177777777")
    async with harness.services.db.session() as session:
        people = PeopleRepo(session)
        keep, _ = await people.create_customer(WHATSAPP, NOW)
        gone, _ = await people.create_customer(telegram, NOW, name="Erika")
        for person, channel in ((keep, "whatsapp"), (gone, "telegram"), (gone, "whatsapp")):
            session.add(ConsentAsk(person_id=person.id, channel=channel, asked_at=NOW,
                                   pending=True, text_version="v", text_sha256="h"))
        for person in (keep, gone):
            session.add(ConversationState(person_id=person.id, data=f'{{"n": {person.id}}}',
                                          updated_at=NOW))
        await session.flush()
        assert await merge_conflicts(session, keep.id, gone.id) == []
        await merge_persons(session, keep, gone)
        keep_id, gone_id = keep.id, gone.id
    async with harness.services.db.session() as session:
        addresses = (await session.execute(select(AddressRow.address, AddressRow.person_id,
                                                  AddressRow.position))).all()
        asks = (await session.execute(select(ConsentAsk.person_id, ConsentAsk.channel))).all()
        states = (await session.execute(select(ConversationState.person_id,
                                               ConversationState.data))).all()
        merged = await session.get(Person, keep_id)
        assert await session.get(Person, gone_id) is None
    assert sorted(tuple(a) for a in addresses if a[0] != "whatsapp:+4917100000001") == [
        (str(telegram), keep_id, 1), (str(WHATSAPP), keep_id, 0)]
    assert sorted(tuple(a) for a in asks) == [(keep_id, "telegram"), (keep_id, "whatsapp")]
    assert [tuple(s) for s in states] == [(keep_id, f'{{"n": {keep_id}}}')]
    assert merged is not None and merged.display_name == "Erika"
