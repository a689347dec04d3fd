"""The conversation list: one row per person, newest activity first, with unread marks,
consent per channel, job codes and the latest message; search by name, number or job.

Built from the thread reader (`threads`), so a row shows nothing the thread would not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.storage.models import AddressRow, OutboxRow, Person
from werkbot.handlers.consent.status import ChannelStatus, channel_status
from werkbot.handlers.jobs.models import Job
from werkbot.handlers.office.models import OPEN, TO_OFFICE, Conversation, Forward
from werkbot.handlers.office_web.models import ReadMark
from werkbot.handlers.office_web.threads import (
    Item,
    from_customer,
    inbound_event,
    stored_reply,
    unforwarded,
)

MAX_LISTED = 150


@dataclass
class Channel:
    channel: str
    status: str  # ChannelStatus value
    phone: str = ""


@dataclass
class Summary:
    """One row of the conversation list: one person, however many addresses."""

    person_id: int
    name: str
    status: str
    last_at: datetime
    preview: str
    unread: bool
    channels: list[Channel]
    jobs: list[str]


async def person_channels(session: AsyncSession, person_id: int) -> list[Channel]:
    rows = (await session.scalars(select(AddressRow).where(AddressRow.person_id == person_id)
                                  .order_by(AddressRow.position, AddressRow.id))).all()
    found = []
    for row in rows:
        status = await channel_status(session, person_id, row.channel)
        phone = row.address.split(":", 1)[1] if row.channel in ("whatsapp", "sms") else ""
        found.append(Channel(row.channel, status.value, phone if phone.startswith("+") else ""))
    return found


def callable_number(channels: Sequence[Channel]) -> str:
    """The number to call: only for a customer who consented on some channel."""
    if not any(c.status == ChannelStatus.GRANTED.value for c in channels):
        return ""
    return next((c.phone for c in channels if c.phone), "")


async def conversation_list(session: AsyncSession, staff_id: str, search: str = ""
                            ) -> list[Summary]:
    """Every customer with a conversation, newest activity first; `search` matches the
    name, a number or a job code (a small business has few enough to filter here)."""
    opened = (select(Conversation.person_id, func.max(Conversation.opened_at).label("at"))
              .group_by(Conversation.person_id).subquery())
    query = (select(Person, opened.c.at).join(opened, opened.c.person_id == Person.id)
             .where(Person.erased_at.is_(None))
             .order_by(opened.c.at.desc(), Person.id.desc()).limit(MAX_LISTED))
    summaries = []
    for person, opened_at in (await session.execute(query)).all():
        conv = await session.scalar(select(Conversation).where(
            Conversation.person_id == person.id).order_by(Conversation.id.desc()).limit(1))
        newest_in = await session.scalar(select(func.max(Forward.id)).where(
            Forward.person_id == person.id, Forward.direction == TO_OFFICE)) or 0
        mark = await session.get(ReadMark, (staff_id, person.id))
        items = await _latest(session, person.id)
        jobs = (await session.scalars(select(Job.code).where(
            Job.customer_id == person.id).order_by(Job.id.desc()).limit(3))).all()
        summaries.append(Summary(
            person_id=person.id, name=name_of(person, items),
            status=conv.status if conv else OPEN,
            last_at=max(opened_at, items[-1].at) if items else opened_at,
            preview=_preview(items[-1]) if items else "",
            unread=newest_in > (mark.forward_id if mark else 0),
            channels=await person_channels(session, person.id), jobs=list(jobs)))
    summaries.sort(key=lambda s: s.last_at, reverse=True)
    needle = search.strip().casefold()
    return [s for s in summaries if _matches(s, needle)] if needle else summaries


async def _latest(session: AsyncSession, person_id: int) -> list[Item]:
    """The newest message from the customer for the list row: the newest forwarded one
    (cheaper than the thread), else the newest one written since the conversation opened."""
    newest = (await session.execute(
        select(Forward, OutboxRow).join(OutboxRow, OutboxRow.id == Forward.outbox_id)
        .where(Forward.person_id == person_id, Forward.direction == TO_OFFICE)
        .order_by(Forward.id.desc()).limit(1))).first()
    found: list[Item] = []
    if newest is not None:
        forward, out = newest
        found.append(await from_customer(session, forward.created_at,
                                          await inbound_event(session, out.inbound_id),
                                          stored_reply(out.payload)))
        return found
    return (await unforwarded(session, person_id, set(), 1))[-1:]  # nothing forwarded


def name_of(person: Person, items: Sequence[Item]) -> str:
    """The person's name: as recorded, else as their channel last gave it, else `#id`."""
    given = next((i.sender_name for i in reversed(items) if i.sender_name), "")
    return person.display_name or given or f"#{person.id}"


def _matches(summary: Summary, needle: str) -> bool:
    digits = "".join(ch for ch in needle if ch.isdigit())
    if needle in summary.name.casefold() or needle.lstrip("#") == str(summary.person_id):
        return True
    if any(needle == code.casefold() for code in summary.jobs):
        return True
    return len(digits) >= 4 and any(digits in c.phone for c in summary.channels)


def _preview(item: Item) -> str:
    if item.text:
        return item.text[:120]
    if item.media:
        return "📎 " + ", ".join(a.kind for a in item.media)
    if item.location:
        return "📍"
    return ""


async def mark_read(session: AsyncSession, staff_id: str, person_id: int,
                    now: datetime) -> None:
    newest = await session.scalar(select(func.max(Forward.id)).where(
        Forward.person_id == person_id, Forward.direction == TO_OFFICE)) or 0
    mark = await session.get(ReadMark, (staff_id, person_id))
    if mark is None:
        session.add(ReadMark(staff_id=staff_id, person_id=person_id, forward_id=newest, at=now))
    elif newest > mark.forward_id:
        mark.forward_id, mark.at = newest, now
