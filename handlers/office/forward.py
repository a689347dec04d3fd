"""Customer messages to the office: a header, the content, one topic per customer.

With `office.telegram_group` set (and Telegram on), everything goes to that forum group,
one topic per customer. A topic that does not exist yet is addressed by the marker
thread `new:<conversation id>`: the Telegram adapter creates the topic the first time it
sees a marker (named after the message's first line, the header) and sends every later
message with the same marker into it; the receipt reports the topic id. Without a group,
each office and admin staff member gets the message on their own channel, and answers
by replying to it.
"""

from __future__ import annotations

import logging

from werkbot.bot.addresses import Address, mask
from werkbot.bot.context import Context
from werkbot.bot.replies import TextReply
from werkbot.bot.storage.models import Person
from werkbot.handlers.office.content import FORWARD, Content, content_of
from werkbot.handlers.office.hooks import JOB_LOOKUP, optional, provided
from werkbot.handlers.office.models import TO_OFFICE, Conversation
from werkbot.handlers.office.store import ConversationsRepo
from werkbot.handlers.phones import callable_number, phone_values
from werkbot.handlers.staff_roles import OFFICE_ROLES

__all__ = ["FORWARD", "Content", "content_of", "header", "office_group", "office_staff",
           "to_office"]
log = logging.getLogger(__name__)
NOTICE = "office_notice"
NEW_TOPIC = "new:"


def office_group(ctx: Context) -> Address | None:
    """The office's forum group, if configured and Telegram is on."""
    group = ctx.settings.office.telegram_group
    if not group or ctx.capabilities("telegram") is None:
        return None
    return Address("telegram", str(group))


async def header(ctx: Context, person: Person, channel: str) -> str:
    """Who wrote, on which channel, their number (#id) and job, and how to call them.

    Forwards go to office and admin staff only, and only for a consented customer, so
    the number is shown in full with a tap-to-call link (contract §6); a Telegram chat or
    a WhatsApp business-scoped id has no number to show.
    """
    phone = await callable_number(ctx, person.id)
    values = phone_values(phone) if phone else {}
    who = person.display_name or values.get("phone") or (
        mask(ctx.address.id) if ctx.address else f"#{person.id}")
    parts = [ctx.t("office.header", who=who, channel=ctx.t(f"office.channels.{channel}"),
                   person=person.id)]
    job = await job_of(ctx, person)
    if job:
        parts.append(ctx.t("office.header_job", job=job))
    line = " · ".join(parts)
    call_key = "office.header_call" if person.display_name else "office.header_call_link"
    call = ctx.t(call_key, **values) if values else ""  # the number once, then the link
    return "\n".join(p for p in (line, call) if p)


async def job_of(ctx: Context, person: Person) -> str:
    lookup = provided(ctx.services, JOB_LOOKUP)
    if lookup is not None:
        return str(await ctx.repo(lambda session: lookup(session, person.id)))
    jobs_repo = optional("werkbot.handlers.jobs.repo", "JobsRepo")
    if jobs_repo is None:
        return ""
    jobs = await ctx.repo(jobs_repo).open_jobs_for(person)
    return str(jobs[0].code) if jobs else ""


async def to_office(ctx: Context, conv: Conversation, content: Content, *,
                    after_hours: bool) -> int:
    """Forward to the office; returns how many recipients it was queued for."""
    assert ctx.person is not None and ctx.address is not None
    now = ctx.clock.now()
    head = await header(ctx, ctx.person, ctx.address.channel)
    mark = ctx.t("office.after_hours_mark") if after_hours else ""
    group = office_group(ctx)
    conversations = ctx.repo(ConversationsRepo)
    if group is not None:
        topic = await conversations.resolve_topic(conv)
        thread = topic or f"{NEW_TOPIC}{conv.id}"
        before = await conversations.outbox_mark()
        if not topic and conv.topic_outbox_id is None:
            if not await ctx.send(group, TextReply(kind=FORWARD, text=head, thread=thread)):
                return 0
            opened = await conversations.rows_since(group, before, ctx.inbox_id)
            conv.topic_outbox_id = opened[0] if opened else None
        if not await ctx.send(group, content.reply(mark, thread=thread)):
            return 0
        conversations.add_forwards(
            conv, await conversations.rows_since(group, before, ctx.inbox_id),
            direction=TO_OFFICE, now=now, after_hours=after_hours)
        return 1
    answer = ctx.t("office.header_answer", person=ctx.person.id)
    prefix = "\n".join(p for p in (mark, head, answer) if p)
    sent = 0
    for person_id in await office_staff(ctx):
        before = await conversations.outbox_mark()
        delivery = await ctx.send_to_person(person_id, content.reply(prefix))
        if not delivery or delivery.address is None:
            continue
        conversations.add_forwards(
            conv, await conversations.rows_since(delivery.address, before, ctx.inbox_id),
            direction=TO_OFFICE, now=now, after_hours=after_hours)
        sent += 1
    return sent


async def office_staff(ctx: Context) -> list[int]:
    """Person ids of the office and admin staff (synchronised from `[[staff]]`)."""
    ids = [s.id for s in ctx.settings.staff if OFFICE_ROLES & set(s.roles)]
    if not ids:
        return []
    return await ctx.repo(ConversationsRepo).staff_person_ids(ids)
