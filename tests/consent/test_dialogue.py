"""Issue 5, the chat half of consent: first contact, yes, no, other ways, withdrawal,
re-consent and withdrawing everything, each on WhatsApp, SMS and Telegram."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.consent.conftest import (
    BOT_USERNAME,
    CHANNELS,
    CUSTOMERS,
    PHONE,
    SECOND,
    SMS_FROM,
    WA_FROM,
    got,
    link,
    person_of,
    press,
    send_to,
    send_to_address,
    staff_texts,
    tell,
)
from werkbot.bot.adapter import SendError
from werkbot.bot.replies import ChoicesReply, TextReply
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.bot.testing import Harness, offered
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.ledger import ALL_CHANNELS, PURPOSES, ConsentEntry, text_hash
from werkbot.handlers.consent.models import ConsentHold
from werkbot.handlers.consent.status import ChannelStatus, consent_status, may_share

FIRST = "Guten Tag, bei uns tropft der Wasserhahn in der Küche."
LATER = "Wann könnten Sie vorbeikommen?"

pytestmark = pytest.mark.parametrize("channel", CHANNELS)


async def ledger_rows(h: Harness, person: int) -> list[ConsentEntry]:
    async with h.services.db.session() as session:
        return list((await session.scalars(select(ConsentEntry).where(
            ConsentEntry.person_id == person).order_by(ConsentEntry.id))).all())


async def held_count(h: Harness) -> int:
    async with h.services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ConsentHold)) or 0)


def request_body(sent_text: str) -> str:
    """The request text as the gate rendered it (SMS adds numbered choices after it)."""
    return sent_text.split("\n\n1) ")[0]


async def test_first_contact_gets_the_consent_request_and_the_message_is_held(
        h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    replies = await tell(h, customer, FIRST)
    assert len(replies) == 1
    request = replies[0]
    assert request.reply.kind == kinds.CONSENT_REQUEST
    assert "Sanitär Maier GmbH" in request.text
    for named in ("https://example.de/datenschutz", "STOP", "Twilio" if channel != "telegram"
                  else "Telegram", "180 Tage"):
        assert named in request.text
    if channel == "telegram":  # buttons
        assert isinstance(request.reply, ChoicesReply)
        assert [c.value for c in request.reply.choices] == ["ja", "nein", "andere"]
    else:  # numbered choices, as WhatsApp and SMS show them
        assert offered(request.reply) == ["Ja, einverstanden", "Nein", "Andere Wege"]
    assert staff_texts(h) == []
    assert await held_count(h) == 1
    async with h.services.db.session() as session:
        payloads = (await session.scalars(select(InboxRow.payload))).all()
    assert not any(FIRST in p for p in payloads)  # only the held row keeps the text
    # a second message is held too, and the request is not repeated the same day
    assert await tell(h, customer, LATER) == []
    assert await held_count(h) == 2
    await h.advance(timedelta(hours=25))
    again = await tell(h, customer, "Hallo?")
    assert [r.reply.kind for r in again] == [kinds.CONSENT_REQUEST]
    assert staff_texts(h) == []


async def test_yes_records_consent_and_releases_the_held_messages(
        h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    [request] = await tell(h, customer, FIRST)
    await tell(h, customer, LATER)
    assert staff_texts(h) == []
    replies = await tell(h, customer, "Ja")
    assert [r.reply.kind for r in replies] == [kinds.CONSENT_CONFIRMATION]
    assert staff_texts(h) == [FIRST, LATER]  # released, in order, to the office
    assert await held_count(h) == 0
    person = await person_of(h, customer)
    rows = await ledger_rows(h, person)
    assert sorted(r.purpose for r in rows) == sorted(PURPOSES)
    for row in rows:
        assert row.granted and row.channel == channel and row.address == str(customer)
        assert row.text_version == h.settings.consent.text_version
        assert row.text_sha256 == text_hash(request_body(request.text))
        assert row.method == "chat" and row.evidence.startswith("test:")
        assert row.lawful_basis == "consent"
    # from now on messages go straight through, and "ja" is no longer taken by consent
    await tell(h, customer, "Noch eine Frage")
    assert staff_texts(h)[-1] == "Noch eine Frage"


async def test_a_button_press_is_recorded_as_such(h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await tell(h, customer, FIRST)
    await press(h, customer, "ja")
    rows = await ledger_rows(h, await person_of(h, customer))
    assert {r.method for r in rows} == {"button"}
    assert {r.evidence for r in rows} == {f"press:ja:{h.clock.now().timestamp()}"}
    assert staff_texts(h) == [FIRST]


async def test_no_deletes_held_messages_names_the_alternatives_then_silence(
        h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await tell(h, customer, FIRST)
    [answer] = await tell(h, customer, "nein")
    assert answer.reply.kind == kinds.ALTERNATIVES
    assert PHONE in answer.text and "info@example.de" in answer.text
    assert (SMS_FROM in answer.text) == (channel != "sms")
    assert (f"https://t.me/{BOT_USERNAME}" in answer.text) == (channel != "telegram")
    wa_link = "https://wa.me/" + WA_FROM.removeprefix("whatsapp:+")
    assert (wa_link in answer.text) == (channel != "whatsapp")
    assert await held_count(h) == 0
    rows = await ledger_rows(h, await person_of(h, customer))
    assert rows and not any(r.granted for r in rows)
    # silence: nothing answered, nothing forwarded, nothing of it kept
    for body in ("Hallo?", "Bitte melden Sie sich", "nein"):
        assert await tell(h, customer, body) == []
    assert staff_texts(h) == []
    async with h.services.db.session() as session:
        payloads = (await session.scalars(select(InboxRow.payload))).all()
    assert not any("Bitte melden Sie sich" in p or FIRST in p for p in payloads)


async def test_other_ways_names_the_alternatives_without_declining(
        h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await tell(h, customer, FIRST)
    [answer] = await press(h, customer, "andere")
    assert answer.reply.kind == kinds.ALTERNATIVES
    assert PHONE in answer.text and "JA" in answer.text
    assert (SMS_FROM in answer.text) == (channel != "sms")
    person = await person_of(h, customer)
    assert await ledger_rows(h, person) == []
    assert await held_count(h) == 1
    await tell(h, customer, "ja")
    assert staff_texts(h) == [FIRST]


async def test_withdrawal_confirms_once_cancels_queued_and_stops_forwarding(
        h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await tell(h, customer, FIRST)
    await tell(h, customer, "ja")
    person = await person_of(h, customer)
    adapter = h.adapter(channel)
    adapter.failures.append(SendError("busy", code="20429", retryable=True))
    await send_to(h, person, TextReply(text="Termin am Freitag um 9 Uhr?"))
    async with h.services.db.session() as session:
        queued = await session.scalar(select(OutboxRow).where(
            OutboxRow.address == str(customer), OutboxRow.status == "queued"))
        assert queued is not None
        queued_id = queued.id
    replies = await tell(h, customer, "STOP")
    assert [r.reply.kind for r in replies] == [kinds.WITHDRAWAL_CONFIRMATION]
    async with h.services.db.session() as session:
        row = await session.get(OutboxRow, queued_id)
        assert row is not None and row.status == "cancelled"
    await h.advance(timedelta(minutes=30))
    assert "Termin am Freitag um 9 Uhr?" not in got(h, customer)
    forwarded = len(staff_texts(h))
    assert await tell(h, customer, "stop") == []  # exactly one confirmation
    assert await tell(h, customer, "Sind Sie noch da?") == []
    assert len(staff_texts(h)) == forwarded
    rows = await ledger_rows(h, person)
    assert [r.granted for r in rows] == [True] * 3 + [False] * 3
    # the office can no longer reach the person on that channel either
    assert await send_to(h, person, TextReply(text="Rückfrage")) is None


async def test_reconsent_after_withdrawal_asks_again_first(h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await tell(h, customer, FIRST)
    await tell(h, customer, "ja")
    await tell(h, customer, "widerruf")
    h.clock.advance(timedelta(minutes=5))
    [again] = await tell(h, customer, "ja")
    assert again.reply.kind == kinds.CONSENT_REQUEST  # re-asked, not yet consented
    assert staff_texts(h) == [FIRST]
    [confirmed] = await tell(h, customer, "ja")
    assert confirmed.reply.kind == kinds.CONSENT_CONFIRMATION
    await tell(h, customer, LATER)
    assert staff_texts(h) == [FIRST, LATER]
    await tell(h, customer, "abmelden")
    [start] = await tell(h, customer, "/start")
    assert start.reply.kind == kinds.CONSENT_REQUEST


async def test_withdrawing_everything_in_one_step(h: Harness, channel: str) -> None:
    customer, other = CUSTOMERS[channel], SECOND[channel]
    await tell(h, customer, FIRST)
    await tell(h, customer, "ja")
    person = await person_of(h, customer)
    await link(h, person, other)
    other_adapter = h.adapter(other.channel)
    other_adapter.failures.append(SendError("busy", code="20429", retryable=True))
    assert await send_to(h, person, TextReply(text="Ihre Rechnung")) == customer
    await send_to_address(h, other, person, TextReply(text="Ihre Rechnung"))
    h.clock.advance(timedelta(seconds=1))
    replies = await tell(h, customer, "Stop alles!")
    assert [r.reply.kind for r in replies] == [kinds.WITHDRAWAL_CONFIRMATION]
    assert "allen Kanälen" in replies[0].text
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.address == str(other), OutboxRow.status == "queued")) == 0
        status = await consent_status(session, person)
        assert [await may_share(session, person, p) for p in PURPOSES] == [False] * 3
    assert set(status.channels.values()) == {ChannelStatus.REFUSED}
    assert [g.channel for g in status.history[-3:]] == [ALL_CHANNELS] * 3
    await h.advance(timedelta(hours=1))
    assert got(h, other) == []
    forwarded = len(staff_texts(h))
    assert await tell(h, other, "Hallo von der anderen Nummer") == []
    assert await tell(h, customer, "stop alles") == []  # nothing left: no second answer
    assert len(staff_texts(h)) == forwarded
