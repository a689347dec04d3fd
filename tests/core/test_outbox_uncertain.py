"""A send whose outcome is unknown (the provider accepted it, but answered after
`SEND_TIMEOUT`) is not sent twice when the adapter can look it up (`find_sent`): the
outbox records the provider's copy instead. A lookup that fails keeps the row waiting
(never a blind resend) until MAX_ATTEMPTS, then it fails visibly. Without `find_sent`
the outbox is at least once: the message is sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import menu_bundle
from werkbot.bot import outbox as outbox_module
from werkbot.bot.adapter import Receipt, SendError
from werkbot.bot.addresses import Address
from werkbot.bot.replies import Reply, TextReply
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.bot.storage.repos import OutboxRepo
from werkbot.bot.testing import CHANNEL_CAPS, Harness, RecordingAdapter, Sent

CUSTOMER = Address("whatsapp", "+491701234567")
HELLO = TextReply(text="Wir kommen morgen um 8 Uhr.")


@dataclass
class SlowProvider(RecordingAdapter):
    """Plays one step of `plan` per send: "ok" (accept, answer at once), "late" (accept,
    then answer after the outbox gave up) or "lost" (hang without accepting)."""

    plan: list[str] = field(default_factory=list)
    accepted: list[tuple[Sent, Receipt]] = field(default_factory=list)
    attempts: int = 0

    async def send(self, address: Address, reply: Reply) -> Receipt:
        self.attempts += 1
        step = self.plan.pop(0) if self.plan else "ok"
        if step == "lost":
            await asyncio.Event().wait()  # never answers; the outbox times out
        receipt = await super().send(address, reply)
        self.accepted.append((self.sent[-1], receipt))
        if step == "late":
            await asyncio.Event().wait()
        return receipt


@dataclass
class FindingProvider(SlowProvider):
    """...that can also be asked what it accepted (`find_sent`)."""

    lookups: list[datetime] = field(default_factory=list)
    broken_lookups: int = 0  # how many lookups fail first

    async def find_sent(self, address: Address, reply: Reply, since: datetime
                        ) -> Receipt | None:
        self.lookups.append(since)
        if self.broken_lookups:
            self.broken_lookups -= 1
            raise SendError("provider down", code="lookup-failed", retryable=True)
        for sent, receipt in reversed(self.accepted):  # naive: the newest identical copy
            if sent.address == address and sent.reply == reply:
                return receipt
        return None


@pytest.fixture(autouse=True)
def quick_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox_module, "SEND_TIMEOUT", 0.05)


@pytest.fixture
async def finding(settings: Settings) -> AsyncIterator[tuple[Harness, FindingProvider]]:
    provider = FindingProvider("whatsapp", CHANNEL_CAPS["whatsapp"])
    async with Harness(settings, menu_bundle(), channels=(), adapters=[provider]) as h:
        yield h, provider


@pytest.fixture
async def blind(settings: Settings) -> AsyncIterator[tuple[Harness, SlowProvider]]:
    provider = SlowProvider("whatsapp", CHANNEL_CAPS["whatsapp"])
    async with Harness(settings, menu_bundle(), channels=(), adapters=[provider]) as h:
        yield h, provider


async def queue(h: Harness, *replies: Reply) -> None:
    async with h.services.db.session() as session:
        await OutboxRepo(session).enqueue(CUSTOMER, replies, h.clock.now())
    await h.run()


async def rows(h: Harness) -> list[OutboxRow]:
    async with h.services.db.session() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def test_accepted_but_answered_late_is_recorded_not_sent_again(
        finding: tuple[Harness, FindingProvider]) -> None:
    h, provider = finding
    provider.plan = ["late"]
    await queue(h, HELLO)
    (row,) = await rows(h)
    assert (row.status, row.error_code, row.attempts) == ("queued", "timeout", 1)
    assert len(provider.sent) == 1  # it did arrive

    await h.advance(timedelta(seconds=5))
    (row,) = await rows(h)
    assert provider.attempts == 1 and len(provider.sent) == 1  # not sent twice
    assert row.status == "sent" and row.provider_id == provider.accepted[0][1].provider_id
    assert provider.lookups == [row.created_at - outbox_module.LOOKUP_MARGIN]


async def test_not_found_is_sent_again(finding: tuple[Harness, FindingProvider]) -> None:
    h, provider = finding
    provider.plan = ["lost"]
    await queue(h, HELLO)
    await h.advance(timedelta(seconds=5))
    (row,) = await rows(h)
    assert provider.attempts == 2 and len(provider.sent) == 1 and len(provider.lookups) == 1
    assert row.status == "sent" and row.provider_id == provider.accepted[0][1].provider_id


async def test_a_lookup_that_fails_keeps_the_row_waiting_never_sent_blind(
        finding: tuple[Harness, FindingProvider]) -> None:
    h, provider = finding
    provider.plan, provider.broken_lookups = ["late"], 2
    await queue(h, HELLO, TextReply(text="Bis morgen."))
    for _ in range(2):
        await h.advance(timedelta(seconds=10))
        first, second = await rows(h)
        assert (first.status, first.error_code) == ("queued", "timeout")  # still uncertain
        assert second.status == "queued" and second.attempts == 0  # order kept
        assert provider.attempts == 1 and len(provider.sent) == 1
    assert len(provider.lookups) == 2

    await h.advance(timedelta(seconds=10))
    first, second = await rows(h)
    assert first.status == "sent" and first.provider_id == provider.accepted[0][1].provider_id
    assert second.status == "sent"
    assert [s.reply for s in provider.sent] == [HELLO, TextReply(text="Bis morgen.")]


async def test_a_lookup_that_keeps_failing_fails_visibly_without_a_second_copy(
        finding: tuple[Harness, FindingProvider]) -> None:
    h, provider = finding
    provider.plan, provider.broken_lookups = ["late"], 100
    await queue(h, HELLO)
    for _ in range(outbox_module.MAX_ATTEMPTS):
        await h.advance(timedelta(minutes=10))
    (row,) = await rows(h)
    assert (row.status, row.error_code, row.attempts) == (
        "failed", "timeout", outbox_module.MAX_ATTEMPTS)
    assert provider.attempts == 1 and len(provider.sent) == 1
    async with h.services.db.session() as session:
        report = await session.scalar(select(InboxRow).where(InboxRow.kind == "DeliveryStatus"))
    assert report is not None  # told, as for any failure


async def test_an_earlier_rows_copy_is_not_taken_for_this_one(
        finding: tuple[Harness, FindingProvider]) -> None:
    """Two identical replies: the first went out; the second was lost. The (naive) lookup
    finds the first one's message, which the outbox already recorded: sent again."""
    h, provider = finding
    provider.plan = ["ok", "lost"]
    await queue(h, HELLO, HELLO)
    await h.advance(timedelta(seconds=5))
    first, second = await rows(h)
    assert len(provider.lookups) == 1 and len(provider.sent) == 2
    assert first.provider_id != second.provider_id
    assert {first.provider_id, second.provider_id} == {r.provider_id for _, r in
                                                       provider.accepted}


async def test_without_find_sent_it_is_sent_again_at_least_once(
        blind: tuple[Harness, SlowProvider]) -> None:
    h, provider = blind
    provider.plan = ["late"]
    await queue(h, HELLO)
    await h.advance(timedelta(seconds=5))
    (row,) = await rows(h)
    assert provider.attempts == 2 and len(provider.sent) == 2  # documented: may be twice
    assert row.status == "sent" and row.provider_id == provider.accepted[1][1].provider_id


async def test_other_failures_are_not_looked_up(
        finding: tuple[Harness, FindingProvider]) -> None:
    h, provider = finding
    provider.failures.append(SendError("busy", code="20429", retryable=True))
    await queue(h, HELLO)
    await h.advance(timedelta(seconds=5))
    (row,) = await rows(h)
    assert row.status == "sent" and provider.lookups == []


async def test_a_send_cut_short_by_a_crash_is_looked_up_before_it_goes_again(
        settings: Settings) -> None:
    # The first process accepted the message at the provider, then died before recording
    # it: the row is left `sending`. The next process must not send a second copy.
    first = FindingProvider("whatsapp", CHANNEL_CAPS["whatsapp"])
    async with Harness(settings, menu_bundle(), channels=(), adapters=[first]) as h:
        await queue(h, HELLO)
        (row,) = await rows(h)
        accepted = first.accepted[0][1]
        async with h.services.db.session() as session:
            stored = await session.get(OutboxRow, row.id)
            assert stored is not None
            stored.status, stored.provider_id = "sending", None  # as a crash leaves it
            stored.lease_until = h.clock.now() + outbox_module.LEASE
    second = FindingProvider("whatsapp", CHANNEL_CAPS["whatsapp"])
    second.accepted = list(first.accepted)  # the provider's memory survives our crash
    async with Harness(settings, menu_bundle(), channels=(), adapters=[second]) as h:
        await h.run()
        (row,) = await rows(h)
        assert second.attempts == 0 and len(second.lookups) == 1
        assert row.status == "sent" and row.provider_id == accepted.provider_id
