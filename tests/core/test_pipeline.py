"""The durable path end to end on the in-process harness: inbox, dispatcher, outbox.

These tests run the core with the menu handlers only (`menu_only`), so they show what the
core does; the full handler set (consent first) is exercised at the end and in the
feature suites.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import menu_bundle
from werkbot.bot.adapter import SendError
from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.dispatcher import MAX_ATTEMPTS
from werkbot.bot.events import ChoiceEvent, DeliveryStatus, Event, TextEvent
from werkbot.bot.replies import ChoicesReply, TextReply
from werkbot.bot.router import Router
from werkbot.bot.server import DISPATCHER
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.bot.storage.repos import OutboxRepo
from werkbot.bot.testing import Harness, offered, text
from werkbot.handlers import build_bundle, menu


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    """The core with the menu handlers only: every text gets the menu."""
    async with Harness(settings, menu_bundle()) as h:
        yield h

CUSTOMER = Address("whatsapp", "+491701234567")


async def test_hilfe_gets_the_german_menu_with_choices(harness: Harness) -> None:
    got = await harness.say(CUSTOMER, "hilfe")
    assert len(got) == 1
    assert "Willkommen bei Sanitär Maier GmbH" in got[0].text
    assert offered(got[0].reply) == ["Notfall", "Meine Daten", "Hilfe"]  # numbered


async def test_help_in_english_answers_in_english(harness: Harness) -> None:
    got = await harness.say(CUSTOMER, "/HELP")
    assert "Welcome to Sanitär Maier GmbH" in got[0].text


async def test_unknown_input_is_answered_with_the_menu(harness: Harness) -> None:
    got = await harness.say(CUSTOMER, "Grüß Gott, wann kommt jemand?")
    assert "HILFE" in got[0].text


async def test_sms_gets_choices_as_numbered_text(harness: Harness) -> None:
    got = await harness.say(Address("sms", "+491701234567"), "hilfe")
    assert not isinstance(got[0].reply, ChoicesReply)
    assert "1) Notfall" in got[0].text and "3) Hilfe" in got[0].text


async def test_same_provider_id_twice_is_handled_once(harness: Harness) -> None:
    first = text(CUSTOMER, "hilfe", event_id="whatsapp:SM1")
    again = text(CUSTOMER, "hilfe", event_id="whatsapp:SM1")
    assert await harness.feed(first) == 1
    assert await harness.feed(again) == 0
    await harness.run()
    assert len(harness.adapter("whatsapp").to(CUSTOMER)) == 1


async def test_duplicates_inside_one_batch_are_stored_once(harness: Harness) -> None:
    event = text(CUSTOMER, "hilfe", event_id="whatsapp:SM2")
    assert await harness.feed(event, event) == 1
    async with harness.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(InboxRow)) == 1


async def test_retryable_send_failure_is_retried_after_backoff(harness: Harness) -> None:
    adapter = harness.adapter("whatsapp")
    adapter.failures.append(SendError("busy", code="20429", retryable=True))
    await harness.say(CUSTOMER, "hilfe")
    assert adapter.to(CUSTOMER) == []
    async with harness.services.db.session() as session:
        row = await session.scalar(select(OutboxRow))
        assert row is not None and row.status == "queued" and row.attempts == 1
    await harness.advance(timedelta(seconds=5))
    assert len(adapter.to(CUSTOMER)) == 1


async def test_retry_after_from_the_provider_is_honoured(harness: Harness) -> None:
    adapter = harness.adapter("whatsapp")
    adapter.failures.append(SendError("slow down", code="429", retryable=True, retry_after=60))
    await harness.say(CUSTOMER, "hilfe")
    await harness.advance(timedelta(seconds=30))
    assert adapter.to(CUSTOMER) == []
    await harness.advance(timedelta(seconds=31))
    assert len(adapter.to(CUSTOMER)) == 1


async def test_final_send_failure_is_recorded_and_reported(harness: Harness) -> None:
    adapter = harness.adapter("whatsapp")
    adapter.failures.append(SendError("invalid number", code="21211"))
    await harness.say(CUSTOMER, "hilfe")
    async with harness.services.db.session() as session:
        row = await session.scalar(select(OutboxRow))
        assert row is not None and row.status == "failed" and row.error_code == "21211"
        report = await session.scalar(select(InboxRow).where(InboxRow.kind == "DeliveryStatus"))
        assert report is not None and report.status == "done"


async def test_status_never_moves_backwards(harness: Harness) -> None:
    await harness.say(CUSTOMER, "hilfe")
    async with harness.services.db.session() as session:
        row = await session.scalar(select(OutboxRow))
        assert row is not None and row.provider_id
        provider_id = row.provider_id
    for n, status in enumerate(["delivered", "read", "sent", "delivered"]):
        await harness.feed(DeliveryStatus(
            id=f"status:{n}", sender=CUSTOMER, received_at=harness.clock.now(),
            provider_message_id=provider_id, status=status))
    await harness.run()
    async with harness.services.db.session() as session:
        row = await session.scalar(select(OutboxRow))
        assert row is not None and row.status == "read"


async def test_failing_handler_is_retried_then_marked_failed(harness: Harness) -> None:
    calls = 0

    async def broken(event: Event, ctx: Context) -> None:
        nonlocal calls
        calls += 1
        await ctx.reply("this must never leave: the handler fails after it")
        raise RuntimeError("boom")

    tree = Router("broken")
    tree.on(TextEvent)(broken)
    harness.app[DISPATCHER].root = tree
    await harness.feed(text(CUSTOMER, "hallo"))
    for _ in range(6):
        await harness.advance(timedelta(minutes=1))
    # Five attempts; the first ran twice: in a batch without savepoints (rolled back
    # when it raised), then isolated, where the failure is recorded.
    assert calls == MAX_ATTEMPTS + 1
    async with harness.services.db.session() as session:
        row = await session.scalar(select(InboxRow))
        assert row is not None and row.status == "failed" and row.error == "RuntimeError"
        assert row.attempts == MAX_ATTEMPTS
        assert await session.scalar(select(func.count()).select_from(OutboxRow)) == 0
    assert harness.all_sent() == []


async def test_status_for_an_unrecorded_send_is_retried_then_dropped(harness: Harness) -> None:
    await harness.feed(DeliveryStatus(
        id="status:early", sender=CUSTOMER, received_at=harness.clock.now(),
        provider_message_id="SMnot-yet-recorded", status="delivered"))
    await harness.run()
    async with harness.services.db.session() as session:
        row = await session.scalar(select(InboxRow).where(InboxRow.kind == "DeliveryStatus"))
        assert row is not None and row.status == "pending" and row.attempts == 1
    for _ in range(5):
        await harness.advance(timedelta(seconds=6))
    async with harness.services.db.session() as session:
        row = await session.scalar(select(InboxRow).where(InboxRow.kind == "DeliveryStatus"))
        assert row is not None and row.status == "done" and row.error == "no such message"


async def test_an_ephemeral_reply_is_forgotten_once_sent(harness: Harness) -> None:
    async with harness.services.db.session() as session:
        await OutboxRepo(session).enqueue(
            CUSTOMER, [TextReply(text="Ihre Daten sind gelöscht.", ephemeral=True)],
            harness.clock.now())
    await harness.run()
    assert harness.adapter("whatsapp").to(CUSTOMER)[0].text == "Ihre Daten sind gelöscht."
    async with harness.services.db.session() as session:
        row = await session.scalar(select(OutboxRow))
        assert row is not None and row.status == "sent"
        assert "+49" not in row.address and "gelöscht" not in row.payload


async def test_a_typed_number_answers_choices_sent_as_numbered_text(harness: Harness) -> None:
    picked: list[str] = []

    async def on_choice(event: ChoiceEvent, ctx: Context) -> None:
        picked.append(event.value)

    tree = Router("choices")
    tree.on(ChoiceEvent)(on_choice)
    tree.include_router(menu.fallback)
    harness.app[DISPATCHER].root = tree
    sms = Address("sms", "+491701234567")
    await harness.say(sms, "hilfe")  # the menu arrives as "1) Notfall ..." on SMS
    await harness.say(sms, "2")
    await harness.say(sms, "7")  # not a choice: stays text, answered with the menu
    assert picked == ["auskunft"]


async def test_first_contact_gets_the_consent_request_first_then_the_menu(
        settings: Settings) -> None:
    async with Harness(settings, build_bundle(settings)) as h:
        got = await h.say(CUSTOMER, "hilfe")
    assert "Sanitär Maier GmbH" in got[0].text and got[0].reply.kind == "consent_request"
    assert "Willkommen bei Sanitär Maier GmbH" in got[-1].text


async def test_a_flooding_sender_is_throttled_and_told_once_others_go_on(
        harness: Harness) -> None:
    other = Address("sms", "+491709999999")
    for n in range(40):
        await harness.feed(text(CUSTOMER, f"Nachricht {n}", at=harness.clock.now()))
        if n % 10 == 0:
            await harness.feed(text(other, "hilfe", at=harness.clock.now()))
    await harness.run()
    got = harness.adapter("whatsapp").to(CUSTOMER)
    notices = [s for s in got if s.reply.kind == "flood_notice"]
    assert len(notices) == 1 and "sehr viele Nachrichten" in notices[0].text
    assert len(got) == 30 + 1  # the menu for each of the first 30, then one notice
    assert len(harness.adapter("sms").to(other)) == 4  # the other sender is not slowed
    async with harness.services.db.session() as session:
        throttled = await session.scalar(select(func.count()).select_from(InboxRow)
                                         .where(InboxRow.status == "throttled"))
    assert throttled == 10  # stored (acknowledged), not handled
    await harness.advance(timedelta(minutes=1))
    assert len(await harness.say(CUSTOMER, "hilfe")) == 1  # a minute later: served again
