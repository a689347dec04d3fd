"""Issue 5: the delivery policy (the gate on the way out), staff and their commitments."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.consent.conftest import (
    CUSTOMERS,
    FITTER,
    OFFICE,
    SECOND,
    consent_bundle,
    consent_settings,
    link,
    person_of,
    system_context,
    tell,
)
from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.hooks import hooks
from werkbot.bot.replies import TextReply
from werkbot.bot.testing import Harness
from werkbot.handlers import consent
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.commitments import LAWFUL_BASIS, METHOD
from werkbot.handlers.consent.ledger import PURPOSES, ConsentEntry, ConsentLedger
from werkbot.handlers.consent.models import ConsentHold
from werkbot.handlers.consent.policy import ConsentPolicy
from werkbot.handlers.consent.status import may_share

CUSTOMER = CUSTOMERS["whatsapp"]


def reply(kind: str) -> TextReply:
    return TextReply(kind=kind, text="x")


async def test_exempt_kinds_reach_a_customer_without_consent(h: Harness) -> None:
    await tell(h, CUSTOMER, "Hallo")
    policy = ConsentPolicy()
    async with h.services.db.session() as session:
        ctx = system_context(h, session)
        for kind in kinds.EXEMPT_KINDS:
            assert await policy.allows(ctx, CUSTOMER, reply(kind)), kind
        for kind in ("reply", kinds.FORWARD, kinds.JOB_PHOTOS, kinds.ALERT_DETAILS):
            assert not await policy.allows(ctx, CUSTOMER, reply(kind)), kind
        assert await policy.allows(ctx, OFFICE, reply("reply"))  # staff always
        assert await policy.allows(ctx, Address("sms", "+491700000099"),
                                   reply(kinds.CONSENT_LINK))  # unknown: exempt kinds only
        assert not await policy.allows(ctx, Address("sms", "+491700000099"), reply("reply"))


async def test_purposes_are_checked_one_by_one(h: Harness) -> None:
    await tell(h, CUSTOMER, "Hallo")
    person = await person_of(h, CUSTOMER)
    async with h.services.db.session() as session:
        await ConsentLedger(session, h.services.signer).record(
            person_id=person, address=CUSTOMER, purposes=["requests"], granted=True,
            text="web", text_version="2026-11", method="web-signature", evidence="media:1",
            recorded_by="web", now=h.clock.now())
    policy = ConsentPolicy()
    async with h.services.db.session() as session:
        ctx = system_context(h, session)
        assert await policy.allows(ctx, CUSTOMER, reply("reply"))
        assert not await policy.allows(ctx, CUSTOMER, reply(kinds.JOB_PHOTOS))
        assert await may_share(session, person, "requests")
        assert not await may_share(session, person, "photos")


async def test_staff_get_customer_data_only_for_agreed_purposes(h: Harness) -> None:
    await tell(h, CUSTOMER, "Hallo")
    person = await person_of(h, CUSTOMER)
    policy = ConsentPolicy()
    async with h.services.db.session() as session:
        ctx = system_context(h, session)
        found = await ctx.people.by_address(CUSTOMER)
        assert found is not None
        ctx = ctx.for_sender(found[0], None, None)  # handling this customer's event
        assert not await policy.allows(ctx, FITTER, reply(kinds.ALERT_DETAILS))
        assert not await policy.allows(ctx, OFFICE, reply(kinds.FORWARD))
        assert await policy.allows(ctx, FITTER, reply(kinds.ALERT))  # no details: fine
    await tell(h, CUSTOMER, "ja")
    async with h.services.db.session() as session:
        ctx = system_context(h, session)
        ctx = ctx.for_sender(await ctx.people.get(person), None, None)
        assert await policy.allows(ctx, FITTER, reply(kinds.ALERT_DETAILS))
        assert await policy.allows(ctx, OFFICE, reply(kinds.FORWARD))


async def test_choose_follows_preference_order_and_consent(h: Harness) -> None:
    await tell(h, CUSTOMER, "Hallo")
    await tell(h, CUSTOMER, "ja")
    person = await person_of(h, CUSTOMER)
    other = SECOND["whatsapp"]
    await link(h, person, other)
    policy = ConsentPolicy()
    async with h.services.db.session() as session:
        ctx = system_context(h, session)
        assert await policy.choose(ctx, person, reply("reply")) == CUSTOMER
    await tell(h, CUSTOMER, "stop")
    async with h.services.db.session() as session:
        ctx = system_context(h, session)
        assert await policy.choose(ctx, person, reply("reply")) == other
        assert await policy.candidates(ctx, person, reply(kinds.SAFETY)) == [CUSTOMER, other]


async def test_staff_never_get_the_consent_request(h: Harness) -> None:
    for staff in (OFFICE, FITTER):
        replies = await tell(h, staff, "Servus, kurze Frage")
        assert kinds.CONSENT_REQUEST not in [r.reply.kind for r in replies]
    replies = await tell(h, OFFICE, "stop")  # not a withdrawal for staff
    assert kinds.WITHDRAWAL_CONFIRMATION not in [r.reply.kind for r in replies]
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ConsentHold)) == 0


async def test_the_office_group_is_treated_like_staff(tmp_path: Path) -> None:
    settings = consent_settings(tmp_path, telegram={"office_chat": -1001234567})
    async with Harness(settings, consent_bundle()) as h:
        group = Address("telegram", "-1001234567")
        replies = await tell(h, group, "Wer übernimmt den Auftrag?")
        assert kinds.CONSENT_REQUEST not in [r.reply.kind for r in replies]


@pytest.mark.parametrize("restarts", [1, 2])
async def test_staff_commitments_are_recorded_once(tmp_path: Path, restarts: int) -> None:
    settings = consent_settings(tmp_path)
    for _ in range(restarts):
        async with Harness(settings, consent_bundle()) as h:
            await h.run()
            async with h.services.db.session() as session:
                rows = (await session.scalars(select(ConsentEntry).where(
                    ConsentEntry.method == METHOD))).all()
    assert len(rows) == len(settings.staff) * len(PURPOSES)
    assert {r.lawful_basis for r in rows} == {LAWFUL_BASIS}
    assert {r.channel for r in rows} == {"*"} and all(r.granted for r in rows)
    assert all(r.text_version == settings.consent.text_version for r in rows)


async def test_grant_hooks_run_in_the_customers_context(h: Harness) -> None:
    seen: list[tuple[int, str]] = []

    async def on_granted(ctx: Context) -> None:
        assert ctx.person is not None and ctx.address is not None
        seen.append((ctx.person.id, ctx.address.channel))
        assert await may_share(ctx.tx, ctx.person.id, "emergency")

    hooks(h.services, consent.ON_GRANTED).add("test", on_granted)
    await tell(h, CUSTOMER, "Hallo")
    assert seen == []
    await tell(h, CUSTOMER, "ja")
    assert seen == [(await person_of(h, CUSTOMER), "whatsapp")]
