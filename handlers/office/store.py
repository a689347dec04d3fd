"""Conversations and forwards: open, find by topic or by a replied-to message, erase.

Forwarded messages are found through their outbox rows: after a send the row carries the
provider's message id, which is what a staff member's reply (`event.reply_to`) names.
A forum topic's id becomes known after its first message was sent (the adapter creates
the topic); `learn_topic` records it, from the outbox row or from an office reply.
`ConversationsRepo` holds these queries; handlers get it with `ctx.repo(ConversationsRepo)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.storage.models import InboxRow, OutboxRow, Person
from werkbot.handlers.office.models import OPEN, Conversation, Forward


class ConversationsRepo:
    """The office's conversations and forwards, inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_conversation(self, person_id: int, now: datetime
                                ) -> tuple[Conversation, bool]:
        """The person's open conversation, or a new one; True if it was just opened."""
        found = await self.session.scalar(
            select(Conversation).where(Conversation.person_id == person_id,
                                       Conversation.status == OPEN)
            .order_by(Conversation.id.desc()).limit(1))
        if found is not None:
            return found, False
        topic = await self.last_topic(person_id)
        conv = Conversation(person_id=person_id, status=OPEN, opened_at=now,
                            first_message_at=now, topic_id=topic, closed_by="",
                            acknowledged=False, first_responder="")
        self.session.add(conv)
        await self.session.flush()
        return conv, True

    async def last_topic(self, person_id: int) -> str:
        """The forum topic of the person's latest conversation: one topic per customer."""
        topic = await self.session.scalar(
            select(Conversation.topic_id).where(Conversation.person_id == person_id,
                                                Conversation.topic_id != "")
            .order_by(Conversation.id.desc()).limit(1))
        return topic or ""

    async def latest_for_person(self, person_id: int) -> Conversation | None:
        return await self.session.scalar(
            select(Conversation).where(Conversation.person_id == person_id)
            .order_by(Conversation.id.desc()).limit(1))

    async def by_topic(self, topic: str) -> Conversation | None:
        """The conversation living in forum topic `topic`.

        A topic opened by a forward is known from the send's receipt (`OutboxRow.thread`)
        before the conversation has copied it: look there too, and copy it now.
        """
        if not topic:
            return None
        found = await self.session.scalar(
            select(Conversation).where(Conversation.topic_id == topic)
            .order_by(Conversation.id.desc()).limit(1))
        if found is not None:
            return found
        found = await self.session.scalar(
            select(Conversation)
            .join(OutboxRow, OutboxRow.id == Conversation.topic_outbox_id)
            .where(OutboxRow.thread == topic, Conversation.topic_id == "")
            .order_by(Conversation.id.desc()).limit(1))
        if found is not None:
            found.topic_id = topic
        return found

    async def by_reply(self, provider_id: str) -> Conversation | None:
        """The conversation of the forwarded message a staff member replied to."""
        if not provider_id:
            return None
        return await self.session.scalar(
            select(Conversation)
            .join(Forward, Forward.conversation_id == Conversation.id)
            .join(OutboxRow, OutboxRow.id == Forward.outbox_id)
            .where(OutboxRow.provider_id == provider_id)
            .order_by(Conversation.id.desc()).limit(1))

    async def resolve_topic(self, conv: Conversation) -> str:
        """The conversation's topic id, taken from its topic-opening outbox row once sent.

        Reads the row's `thread` (set from `Receipt.thread` once the core records it); until
        then the topic is learnt from the office's first reply in it (`learn_topic`).
        """
        if conv.topic_id or conv.topic_outbox_id is None:
            return conv.topic_id
        row = await self.session.get(OutboxRow, conv.topic_outbox_id)
        thread = str(getattr(row, "thread", "") or "") if row is not None else ""
        if thread:
            conv.topic_id = thread
        return conv.topic_id

    async def learn_topic(self, provider_id: str, thread: str) -> bool:
        """Record that the forwarded message `provider_id` lives in forum topic `thread`."""
        conv = await self.by_reply(provider_id)
        if conv is None or not thread or conv.topic_id == thread:
            return False
        conv.topic_id = thread
        return True

    async def outbox_mark(self) -> int:
        """The highest outbox id now: rows queued after this belong to the next send."""
        return int(await self.session.scalar(select(func.max(OutboxRow.id))) or 0)

    async def rows_since(self, address: Address, mark: int, inbox_id: int | None) -> list[int]:
        """Outbox rows queued for `address` after `mark` (a reply may be split), by the
        event `inbox_id` when it has one."""
        query = select(OutboxRow.id).where(OutboxRow.address == str(address),
                                           OutboxRow.id > mark)
        if inbox_id is not None:
            query = query.where(OutboxRow.inbound_id == inbox_id)
        return list((await self.session.scalars(query.order_by(OutboxRow.id))).all())

    def add_forwards(self, conv: Conversation, outbox_ids: Sequence[int], *, direction: str,
                     now: datetime, staff_id: str = "", after_hours: bool = False) -> None:
        self.session.add_all(
            Forward(conversation_id=conv.id, person_id=conv.person_id, outbox_id=oid,
                    direction=direction, staff_id=staff_id, after_hours=after_hours,
                    created_at=now) for oid in outbox_ids)

    async def staff_person_ids(self, staff_ids: Sequence[str]) -> list[int]:
        """Person ids of these staff members (synchronised from `[[staff]]`), in id order."""
        rows = await self.session.scalars(
            select(Person.id).where(Person.staff_id.in_(staff_ids)).order_by(Person.id))
        return list(rows.all())

    async def erase_records_of(self, person_id: int) -> int:
        """Erasure: drop the person's conversations, forwards and the forwarded copies.

        The copies sent to staff are outbox rows addressed to staff, so an eraser that goes
        by the customer's person id would miss them; they hold the customer's texts.
        Returns how many outbox rows were removed.
        """
        outbox_ids = list((await self.session.scalars(
            select(Forward.outbox_id).where(Forward.person_id == person_id))).all())
        topic_rows = (await self.session.scalars(
            select(Conversation.topic_outbox_id).where(
                Conversation.person_id == person_id,
                Conversation.topic_outbox_id.is_not(None)))).all()
        ids = sorted({*outbox_ids, *(int(r) for r in topic_rows if r is not None)})
        removed = 0
        if ids:
            result = await self.session.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids)))
            removed = int(getattr(result, "rowcount", 0) or 0)
        await self.session.execute(delete(Forward).where(Forward.person_id == person_id))
        await self.session.execute(
            delete(Conversation).where(Conversation.person_id == person_id))
        return removed


class OfficeInboxRepo:
    """The inbox rows the office reads again: messages held back, events stored earlier."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def throttled_rows(self, addresses: Sequence[str]) -> list[InboxRow]:
        """Inbox rows the flood guard held back from these senders, oldest first, locked."""
        return list((await self.session.scalars(
            select(InboxRow).where(InboxRow.sender.in_(addresses),
                                   InboxRow.status == "throttled")
            .order_by(InboxRow.id).with_for_update())).all())

    async def payload_of(self, inbox_id: int) -> str | None:
        """The stored event of inbox row `inbox_id`."""
        return await self.session.scalar(select(InboxRow.payload).where(InboxRow.id == inbox_id))


async def erase_office_records(session: AsyncSession, person_id: int) -> int:
    """The rights feature's eraser: `ConversationsRepo.erase_records_of` in its transaction;
    returns how many forwarded copies (outbox rows) were removed."""
    return await ConversationsRepo(session).erase_records_of(person_id)
