"""Issue 5: fallback after failed deliveries follows the consent rule: the next allowed
channel of that person; with none left the office is told, without personal content."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.consent.conftest import (
    CHANNELS,
    CUSTOMERS,
    OFFICE,
    SECOND,
    got,
    link,
    person_of,
    send_to,
    system_context,
    tell,
)
from werkbot.bot.adapter import SendError
from werkbot.bot.addresses import Address
from werkbot.bot.delivery import Outcome
from werkbot.bot.events import DeliveryStatus, Unreachable
from werkbot.bot.replies import TextReply
from werkbot.bot.storage.models import OutboxRow
from werkbot.bot.testing import Harness
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.delivery import send_or_tell_office
from werkbot.handlers.consent.ledger import ConsentEntry
from werkbot.handlers.consent.policy import ConsentPolicy
from werkbot.handlers.consent.status import ChannelStatus, consent_status

NOTE = "Ihr Termin: Freitag, 9 Uhr. Bitte Zugang zum Keller freihalten."
# How each channel fails for good in practice.
FAILURES = {
    "whatsapp": "63016",  # outside the 24-hour window, reported later in a status callback
    "sms": "21610",  # the recipient sent STOP to the carrier: unreachable at once
    "telegram": "403",  # the person blocked the bot: unreachable at once
}


async def consented(h: Harness, channel: str) -> tuple[Address, int]:
    customer = CUSTOMERS[channel]
    await tell(h, customer, "Guten Tag")
    await tell(h, customer, "ja")
    return customer, await person_of(h, customer)


async def fail(h: Harness, address: Address, code: str) -> None:
    """Make the next message to `address` fail the way its channel does (63016 is
    accepted first and reported failed later, by `report_63016`)."""
    if code != "63016":
        h.adapter(address.channel).failures.append(
            SendError(f"failed {code}", code=code, unreachable=True))


async def report_63016(h: Harness, address: Address) -> None:
    async with h.services.db.session() as session:
        row = await session.scalar(select(OutboxRow).where(OutboxRow.address == str(address))
                                   .order_by(OutboxRow.id.desc()))
        assert row is not None and row.provider_id
        provider_id = row.provider_id
    await h.feed(DeliveryStatus(id=f"{address.channel}:status:{provider_id}:failed",
                                sender=address, received_at=h.clock.now(),
                                provider_message_id=provider_id, status="failed",
                                error_code="63016"))
    await h.run()


@pytest.mark.parametrize("channel", CHANNELS)
async def test_failed_delivery_falls_back_to_the_next_allowed_channel(
        h: Harness, channel: str) -> None:
    customer, person = await consented(h, channel)
    other = SECOND[channel]
    await link(h, person, other)
    code = FAILURES[channel]
    await fail(h, customer, code)
    assert await send_to(h, person, TextReply(text=NOTE)) == customer
    if code == "63016":
        assert got(h, customer)[-1] == NOTE  # accepted first, failed later
        await report_63016(h, customer)
    assert got(h, other) == [NOTE]
    assert NOTE not in got(h, OFFICE)
    async with h.services.db.session() as session:
        status = await consent_status(session, person)
        opt_outs = (await session.scalars(select(ConsentEntry).where(
            ConsentEntry.method == "provider-opt-out"))).all()
    if code == "21610":  # the carrier's STOP is a withdrawal for SMS
        assert status.channels["sms"] is ChannelStatus.REFUSED
        assert {e.purpose for e in opt_outs} == {"requests", "photos", "emergency"}
    else:
        assert opt_outs == []


@pytest.mark.parametrize("channel", CHANNELS)
async def test_no_channel_left_tells_the_office_without_personal_content(
        h: Harness, channel: str) -> None:
    customer, person = await consented(h, channel)
    other = SECOND[channel]
    await link(h, person, other)
    h.adapter(other.channel).failures.append(
        SendError("blocked", code="403", unreachable=True))
    await fail(h, customer, FAILURES[channel])
    await send_to(h, person, TextReply(text=NOTE))
    if FAILURES[channel] == "63016":
        await report_63016(h, customer)
    office = got(h, OFFICE)
    assert office[0] == "Guten Tag" and len(office) == 2  # released on yes, then the notice
    notice = office[1]
    assert f"Nr. {person}" in notice and "keinem erlaubten Kanal" in notice
    for secret in (NOTE, customer.id, other.id, customer.id.lstrip("+")):
        assert secret not in notice
    # the same failure reported twice is acted on once
    if FAILURES[channel] == "63016":
        await report_63016(h, customer)
    assert len(got(h, OFFICE)) == 2


@pytest.mark.parametrize("channel", CHANNELS)
async def test_fallback_skips_channels_without_consent(h: Harness, channel: str) -> None:
    customer, person = await consented(h, channel)
    other = SECOND[channel]
    await link(h, person, other, consent_to=False)
    await fail(h, customer, FAILURES[channel])
    await send_to(h, person, TextReply(text=NOTE))
    if FAILURES[channel] == "63016":
        await report_63016(h, customer)
    assert got(h, other) == []
    assert "keinem erlaubten Kanal" in got(h, OFFICE)[-1]


async def test_a_blocked_bot_without_pending_messages_changes_nothing(h: Harness) -> None:
    customer, person = await consented(h, "telegram")
    await h.feed(Unreachable(id="telegram:blocked:1", sender=customer,
                             received_at=h.clock.now(), reason="bot kicked"))
    await h.run()
    assert got(h, OFFICE) == ["Guten Tag"]
    async with h.services.db.session() as session:
        status = await consent_status(session, person)
    assert status.channels["telegram"] is ChannelStatus.GRANTED


async def test_consent_dialogue_messages_are_not_resent_elsewhere(h: Harness) -> None:
    customer = CUSTOMERS["telegram"]
    h.adapter("telegram").failures.append(SendError("blocked", code="403", unreachable=True))
    await tell(h, customer, "Guten Tag")
    assert got(h, OFFICE) == []
    async with h.services.db.session() as session:
        row = await session.scalar(select(OutboxRow).where(
            OutboxRow.kind == kinds.CONSENT_REQUEST))
        assert row is not None and row.status == "failed"


async def test_whatsapp_outside_the_window_needs_a_template_for_the_kind(h: Harness) -> None:
    customer, person = await consented(h, "telegram")
    other = SECOND["telegram"]  # a WhatsApp number that never wrote: window closed
    await link(h, person, other)
    await fail(h, customer, "403")
    await send_to(h, person, TextReply(kind="job_update", text=NOTE))  # no template for it
    assert got(h, other) == []
    assert "keinem erlaubten Kanal" in got(h, OFFICE)[-1]
    async with h.services.db.session() as session:
        ctx = system_context(h, session)
        policy = ConsentPolicy()
        assert await policy.choose(ctx, person, TextReply(text=NOTE)) == other  # "reply" has one
        assert await policy.choose(ctx, person, TextReply(kind="job_update", text=NOTE)) is None


@pytest.mark.parametrize("channel", CHANNELS)
async def test_no_allowed_channel_at_all_tells_the_office(h: Harness, channel: str) -> None:
    customer, person = await consented(h, channel)
    await tell(h, customer, "stop")
    async with h.services.db.session() as session:
        sent = await send_or_tell_office(system_context(h, session), person,
                                         TextReply(text=NOTE))
    await h.run()
    assert not sent and sent.outcome is Outcome.NO_ADDRESS
    assert NOTE not in got(h, customer)
    notice = got(h, OFFICE)[-1]
    assert f"Nr. {person}" in notice and NOTE not in notice and customer.id not in notice
