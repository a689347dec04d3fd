"""One customer's thread with the office, as the office sees it.

What reached the office is shown: customer messages that were forwarded
(office forwards pointing at outbox rows, whose `inbound_id` names the customer's inbox
row) and the office's answers. Held messages of people who have not consented never
appear, exactly as in chat. A message forwarded to several staff members shows once.
Besides the forwards: the customer's photos filed to a job, and what they wrote since
their conversation opened that reached no forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.codec import CodecError, loads_event, loads_reply
from werkbot.bot.events import ContactEvent, Event, LocationEvent, MediaEvent, TextEvent
from werkbot.bot.replies import MediaReply, Reply, TemplateReply, text_of
from werkbot.bot.storage.models import AddressRow, InboxRow, MediaRow, OutboxRow
from werkbot.handlers.jobs.models import Job, JobBatch, JobMedia
from werkbot.handlers.office.models import TO_CUSTOMER, TO_OFFICE, Conversation, Forward


@dataclass
class Attachment:
    media_id: int
    kind: str  # image, voice, audio, video, document
    content_type: str
    filename: str
    thumb_id: int | None = None  # a smaller copy for the thread, where the jobs made one


@dataclass
class Item:
    """One message of a thread, in either direction."""

    direction: str  # TO_OFFICE (from the customer) or TO_CUSTOMER (an answer)
    at: datetime
    text: str = ""
    media: list[Attachment] = field(default_factory=list)
    missing: int = 0  # attachments that could not be fetched from the provider
    location: tuple[float, float, str] | None = None
    contact: tuple[str, str] | None = None
    staff_id: str = ""
    status: str = ""  # the answer's delivery state
    template: bool = False
    channel: str = ""
    sender_name: str = ""  # the name the customer's channel gave
    job: str = ""  # the job a photo was filed to


async def thread(session: AsyncSession, person_id: int, *, limit: int = 500) -> list[Item]:
    """The person's messages with the office, oldest first (the newest `limit`)."""
    rows = (await session.execute(
        select(Forward, OutboxRow).join(OutboxRow, OutboxRow.id == Forward.outbox_id)
        .where(Forward.person_id == person_id).order_by(Forward.id.desc()).limit(limit * 4)
    )).all()
    items: list[Item] = []
    seen_inbound: set[int] = set()
    for forward, out in reversed(rows):
        reply = stored_reply(out.payload)
        if forward.direction == TO_CUSTOMER:
            items.append(Item(TO_CUSTOMER, forward.created_at, text=text_of(reply) if reply
                              else "", staff_id=forward.staff_id, status=out.status,
                              template=isinstance(reply, TemplateReply),
                              channel=out.address.split(":", 1)[0],
                              media=await _attachments(session, reply)))
            continue
        key = out.inbound_id if out.inbound_id is not None else -out.id
        if key in seen_inbound:  # the same message, forwarded to another staff member
            continue
        seen_inbound.add(key)
        event = await inbound_event(session, out.inbound_id)
        items.append(await from_customer(session, forward.created_at, event, reply))
    items += await unforwarded(session, person_id, seen_inbound, limit)
    items += await _job_photos(session, person_id, limit)
    items.sort(key=lambda item: item.at)
    return items[-limit:]


async def unforwarded(session: AsyncSession, person_id: int, seen: set[int],
                       limit: int) -> list[Item]:
    """Texts, locations and contacts the customer wrote since their first conversation
    opened (so after consent) that reached no office forward, e.g. while no office staff
    member was reachable, or that another feature answered: the office still sees them.
    Media not forwarded are the jobs feature's (`_job_photos`)."""
    first = await session.scalar(select(func.min(Conversation.opened_at)).where(
        Conversation.person_id == person_id))
    addresses = (await session.scalars(select(AddressRow.address).where(
        AddressRow.person_id == person_id))).all()
    if first is None or not addresses:
        return []
    rows = (await session.scalars(
        select(InboxRow).where(InboxRow.sender.in_(addresses), InboxRow.created_at >= first,
                               InboxRow.kind.in_(_SHOWN_KINDS))
        .order_by(InboxRow.id.desc()).limit(limit))).all()
    items = []
    for row in reversed(rows):
        if row.id in seen:
            continue
        try:
            event = loads_event(row.payload)
        except (CodecError, ValueError, TypeError, KeyError):
            continue
        if isinstance(event, TextEvent) and event.text.strip().lstrip("/").split()[:1] == []:
            continue
        items.append(await from_customer(session, row.created_at, event, None))
    return items


_SHOWN_KINDS = ("TextEvent", "LocationEvent", "ContactEvent")


async def _job_photos(session: AsyncSession, person_id: int, limit: int) -> list[Item]:
    """Photos, voice notes and files the customer sent, which the jobs feature filed to a
    job (delivered batches only: a batch still waiting for consent stays out)."""
    rows = (await session.execute(
        select(JobMedia, MediaRow, Job.code)
        .join(MediaRow, MediaRow.id == JobMedia.media_id)
        .outerjoin(Job, Job.id == JobMedia.job_id)
        .outerjoin(JobBatch, JobBatch.id == JobMedia.batch_id)
        .where(JobMedia.person_id == person_id, JobMedia.origin == "customer",
               or_(JobMedia.batch_id.is_(None), JobBatch.status == "done"))
        .order_by(JobMedia.id.desc()).limit(limit))).all()
    return [Item(TO_OFFICE, media.created_at, text=media.caption, job=code or "",
                 media=[Attachment(row.id, media.kind, row.content_type, row.filename,
                                   thumb_id=media.thumb_id)])
            for media, row, code in reversed(rows)]


def stored_reply(payload: str) -> Reply | None:
    try:
        return loads_reply(payload)
    except (CodecError, ValueError, TypeError, KeyError):
        return None


async def inbound_event(session: AsyncSession, inbox_id: int | None) -> Event | None:
    if inbox_id is None:
        return None
    row = await session.get(InboxRow, inbox_id)
    if row is None:
        return None
    try:
        return loads_event(row.payload)
    except (CodecError, ValueError, TypeError, KeyError):
        return None


async def _attachments(session: AsyncSession, reply: Reply | None) -> list[Attachment]:
    if not isinstance(reply, MediaReply):
        return []
    kinds = list(reply.media_kinds) or ["image"] * len(reply.media_ids)
    found = []
    for media_id, kind in zip(reply.media_ids, kinds, strict=False):
        row = await session.get(MediaRow, media_id)
        if row is not None:
            found.append(Attachment(media_id, kind if kind != "other" else row.kind,
                                    row.content_type, row.filename))
    return found


async def from_customer(session: AsyncSession, at: datetime, event: Event | None,
                         reply: Reply | None) -> Item:
    item = Item(TO_OFFICE, at, channel=event.sender.channel if event else "",
                sender_name=event.sender_name if event else "")
    item.media = await _attachments(session, reply)
    if isinstance(event, TextEvent):
        item.text = event.text
    elif isinstance(event, MediaEvent):
        item.text = event.caption
        item.missing = max(0, len(event.media) - len(item.media))
    elif isinstance(event, LocationEvent):
        item.location = (event.latitude, event.longitude,
                         " ".join(p for p in (event.label, event.address) if p))
    elif isinstance(event, ContactEvent):
        item.contact = (event.name, event.phone)
    elif reply is not None:  # no inbox row left (retention): what was forwarded
        item.text = text_of(reply)
    return item

