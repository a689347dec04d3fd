"""Office round trips: forum topics per customer, staff channels, consent refusals."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.office.helpers import (
    ANNA,
    GROUP_ADDRESS,
    customer,
    harness,
    learn_topics,
    to_group,
    withdraw,
)
from werkbot.bot.addresses import Address
from werkbot.bot.events import Event, MediaEvent, MediaRef, TextEvent
from werkbot.bot.replies import MediaReply
from werkbot.bot.storage.models import AuditRow
from werkbot.bot.testing import Harness, text
from werkbot.handlers.office.models import Conversation

ERIKA = Address("whatsapp", "+491701111111")
MAX = Address("whatsapp", "+491702222222")
_ids = itertools.count(1)


@pytest.fixture
async def forum(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


@pytest.fixture
async def direct(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, group=0) as h:
        yield h


def in_group(h: Harness, body: str, *, thread: str = "", reply_to: str = "",
             author: int = 133333333) -> Event:
    common = {"id": f"telegram:{next(_ids)}", "sender": GROUP_ADDRESS,
              "received_at": h.clock.now(), "sender_name": "Anna", "thread": thread,
              "reply_to": reply_to, "raw": {"message": {"from": {"id": author}}},
              "actor": Address("telegram", str(author))}  # as the Telegram adapter sets it
    made = text(GROUP_ADDRESS, body, at=h.clock.now())
    if isinstance(made, TextEvent):
        return TextEvent(text=body, **common)  # type: ignore[arg-type]
    return type(made)(**{**common, "name": made.name, "args": made.args,  # type: ignore
                         "text": body})


async def feed_run(h: Harness, event: Event) -> None:
    await h.feed(event)
    await h.run()
    await learn_topics(h)


async def test_customer_message_opens_a_topic_and_the_answer_reaches_whatsapp(
        forum: Harness) -> None:
    await customer(forum, ERIKA, name="Erika Muster")
    got = await forum.say(ERIKA, "Die Heizung tropft")
    await learn_topics(forum)
    assert [s.reply.kind for s in got] == ["office_ack"]
    header, body = to_group(forum)
    assert header.reply.thread == body.reply.thread != ""
    assert "Erika Muster" in header.text and "WhatsApp" in header.text
    assert body.text == "Die Heizung tropft"
    topic = body.reply.thread

    await feed_run(forum, in_group(forum, "Wir kommen morgen um 8", thread=topic))
    answers = forum.adapter("whatsapp").to(ERIKA)
    assert answers[-1].text == "Wir kommen morgen um 8"
    assert answers[-1].reply.kind == "office_reply"

    # a second message: same topic, no second acknowledgement
    got = await forum.say(ERIKA, "Danke!")
    assert got == []
    assert to_group(forum)[-1].reply.thread == topic


async def test_second_customer_gets_a_separate_topic(forum: Harness) -> None:
    await customer(forum, ERIKA, name="Erika")
    await customer(forum, MAX, name="Max")
    await forum.say(ERIKA, "Frage 1")
    await forum.say(MAX, "Frage 2")
    await learn_topics(forum)
    erika_topic = to_group(forum)[1].reply.thread
    max_topic = to_group(forum)[3].reply.thread
    assert erika_topic != max_topic
    await feed_run(forum, in_group(forum, "Antwort an Max", thread=max_topic))
    assert forum.adapter("whatsapp").to(MAX)[-1].text == "Antwort an Max"
    assert all(s.text != "Antwort an Max" for s in forum.adapter("whatsapp").to(ERIKA))


async def test_answer_to_withdrawn_customer_is_refused_and_told(forum: Harness) -> None:
    erika = await customer(forum, ERIKA)
    await forum.say(ERIKA, "Hallo")
    await learn_topics(forum)
    topic = to_group(forum)[-1].reply.thread
    await withdraw(forum, erika, ERIKA)
    before = len(forum.adapter("whatsapp").to(ERIKA))
    await feed_run(forum, in_group(forum, "Noch eine Frage?", thread=topic))
    assert len(forum.adapter("whatsapp").to(ERIKA)) == before
    notice = to_group(forum)[-1]
    assert "NICHT zugestellt" in notice.text and notice.reply.thread == topic
    async with forum.services.db.session() as session:
        actions = (await session.scalars(select(AuditRow.action))).all()
    assert "office_reply_refused" in actions


async def test_close_in_topic_ends_the_conversation(forum: Harness) -> None:
    erika = await customer(forum, ERIKA)
    await forum.say(ERIKA, "Hallo")
    await learn_topics(forum)
    topic = to_group(forum)[-1].reply.thread
    await feed_run(forum, in_group(forum, "erledigt", thread=topic))
    assert "beendet" in to_group(forum)[-1].text
    async with forum.services.db.session() as session:
        conv = await session.scalar(select(Conversation))
        audit = (await session.scalars(select(AuditRow))).all()
    assert conv is not None and conv.status == "closed" and conv.closed_by == "anna"
    assert [(a.actor, a.action, a.subject) for a in audit] == [
        ("staff:anna", "office_close", f"person:{erika}")]
    # the next message opens a new conversation in the same topic, acknowledged again
    got = await forum.say(ERIKA, "Noch was")
    assert [s.reply.kind for s in got] == ["office_ack"]
    assert to_group(forum)[-1].reply.thread == topic


async def test_close_command_in_topic(forum: Harness) -> None:
    await customer(forum, ERIKA)
    await forum.say(ERIKA, "Hallo")
    await learn_topics(forum)
    topic = to_group(forum)[-1].reply.thread
    await feed_run(forum, in_group(forum, "/close", thread=topic))
    assert "beendet" in to_group(forum)[-1].text


async def test_after_hours_away_answer_and_marked_forward(forum: Harness) -> None:
    await customer(forum, ERIKA)
    forum.clock.advance(timedelta(hours=9))  # Tuesday 19:00
    got = await forum.say(ERIKA, "Abends geschrieben")
    assert [s.reply.kind for s in got] == ["away"]
    assert "Mittwoch, 02.12., 07:30" in got[0].text
    assert "Außerhalb der Öffnungszeiten" in to_group(forum)[-1].text


async def test_photos_travel_both_ways(forum: Harness) -> None:
    await customer(forum, ERIKA)
    wa, tg = forum.adapter("whatsapp"), forum.adapter("telegram")
    wa.media["https://twilio/m1"] = b"\xff\xd8\xff" + b"photo"
    await forum.feed(MediaEvent(id="wa:m1", sender=ERIKA, received_at=forum.clock.now(),
                                media=(MediaRef(kind="image", content_type="image/jpeg",
                                                ref="https://twilio/m1"),),
                                caption="Das Leck"))
    await forum.run()
    await learn_topics(forum)
    photo = to_group(forum)[-1]
    assert isinstance(photo.reply, MediaReply) and photo.reply.caption == "Das Leck"
    topic = photo.reply.thread
    tg.media["voice-1"] = b"OggS" + b"voice"
    event = MediaEvent(id="telegram:v1", sender=GROUP_ADDRESS, received_at=forum.clock.now(),
                       thread=topic, media=(MediaRef(kind="voice", content_type="audio/ogg",
                                                     ref="voice-1"),))
    await feed_run(forum, event)
    back = wa.to(ERIKA)[-1].reply
    assert isinstance(back, MediaReply) and back.media_kinds == ("voice",)


async def test_group_message_outside_any_topic_is_not_a_customer(forum: Harness) -> None:
    await feed_run(forum, in_group(forum, "Guten Morgen zusammen"))
    assert to_group(forum) == []  # no menu, no consent request for the office group


async def test_staff_channels_without_forum_group(direct: Harness) -> None:
    await customer(direct, ERIKA, name="Erika")
    boss = Address("whatsapp", "+4917100000001")
    await direct.say(ERIKA, "Erste Frage")
    # The boss's WhatsApp window is closed and no template is configured for forwards:
    # the real consent gate sends him nothing (Anna has it on Telegram).
    assert direct.adapter("whatsapp").to(boss) == []
    assert len(direct.adapter("telegram").to(ANNA)) == 1
    await direct.say(boss, "/hilfe")  # he writes: his window opens for 24 hours
    await direct.say(ERIKA, "Wann kommt der Monteur?")
    to_anna = direct.adapter("telegram").to(ANNA)[1:]
    to_boss = [s for s in direct.adapter("whatsapp").to(boss) if s.reply.kind == "forward"]
    assert len(to_anna) == 1 and len(to_boss) == 1
    assert "Erika" in to_anna[0].text and "Wann kommt der Monteur?" in to_anna[0].text
    assert direct.adapter("telegram").to(Address("telegram", "122222222")) == []  # fitter
    async with direct.services.db.session() as session:
        from werkbot.bot.storage.models import OutboxRow
        provider_id = await session.scalar(select(OutboxRow.provider_id).where(
            OutboxRow.address == str(ANNA)).order_by(OutboxRow.id.desc()).limit(1))
    assert provider_id
    reply = TextEvent(id="telegram:r1", sender=ANNA, received_at=direct.clock.now(),
                      text="Morgen um 8", reply_to=provider_id)
    await direct.feed(reply)
    await direct.run()
    assert direct.adapter("whatsapp").to(ERIKA)[-1].text == "Morgen um 8"
    async with direct.services.db.session() as session:
        audit = (await session.scalars(select(AuditRow))).all()
    assert [(a.actor, a.action, a.detail) for a in audit] == [
        ("staff:chef", "help", ""), ("staff:anna", "office_reply", "whatsapp")]
    assert direct.adapter("telegram").to(ANNA)[-1].text.startswith("✓ An #")


async def test_staff_reply_to_withdrawn_customer_is_refused(direct: Harness) -> None:
    erika = await customer(direct, ERIKA)
    await direct.say(ERIKA, "Hallo")
    async with direct.services.db.session() as session:
        from werkbot.bot.storage.models import OutboxRow
        provider_id = await session.scalar(select(OutboxRow.provider_id).where(
            OutboxRow.address == str(ANNA)))
    await withdraw(direct, erika, ERIKA)
    await direct.feed(TextEvent(id="telegram:r2", sender=ANNA, received_at=direct.clock.now(),
                                text="Antwort", reply_to=provider_id or ""))
    await direct.run()
    assert "NICHT zugestellt" in direct.adapter("telegram").to(ANNA)[-1].text
    assert all(s.text != "Antwort" for s in direct.adapter("whatsapp").to(ERIKA))


async def test_customer_without_consent_never_reaches_the_office(forum: Harness) -> None:
    await customer(forum, ERIKA, consent=False)
    await forum.say(ERIKA, "Hallo")
    assert to_group(forum) == []
