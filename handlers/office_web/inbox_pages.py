"""The conversations: the list (with search), one person's thread, answering, closing.

Answering runs the chat path (`office.replies.answer_customer`, the one path for chat
and web) in a web context, so the consent gate, the channel choice and the WhatsApp
window apply exactly as in chat. The thread page says beforehand where an answer will
go: the channel, and whether WhatsApp's 24-hour window is closed so the approved
template goes instead, or another consented channel is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import or_, select

from werkbot.bot.replies import TemplateReply, TextReply
from werkbot.bot.storage.models import AddressRow, MediaRow
from werkbot.handlers.consent.policy import ConsentPolicy
from werkbot.handlers.jobs.models import OPEN as JOB_OPEN
from werkbot.handlers.jobs.models import Job, JobMedia, JobStaff
from werkbot.handlers.office.models import CLOSED, OPEN
from werkbot.handlers.office.replies import (
    ANSWER,
    answer_customer,
    close_conversation,
    tell_outcome,
)
from werkbot.handlers.office.store import ConversationsRepo
from werkbot.handlers.office_web.acting import web_context
from werkbot.handlers.office_web.guard import Call, office_page, see_other
from werkbot.handlers.office_web.listing import (
    callable_number,
    conversation_list,
    mark_read,
    name_of,
    person_channels,
)
from werkbot.handlers.office_web.threads import thread
from werkbot.handlers.staff_roles import OFFICE_ROLES

MAX_ANSWER = 4000


@office_page()
async def home(call: Call) -> web.StreamResponse:
    """`/office`: the conversations for the office, a fitter's own incidents otherwise."""
    if not call.viewer.is_office:
        return see_other("/office/incidents")
    return call.page("conversations.html", rows=await conversation_list(
        call.session, call.viewer.staff.id), search="")


@office_page(roles=OFFICE_ROLES, form=True)
async def search(call: Call) -> web.StreamResponse:
    """A search by name, number or job code; POSTed, so no number lands in a URL or log."""
    needle = call.form.get("q", "").strip()[:100]
    await call.audit("search")
    return call.page("conversations.html", rows=await conversation_list(
        call.session, call.viewer.staff.id, needle), search=needle)


@dataclass
class Route:
    """Where an answer would go now, as the page tells it."""

    channel: str = ""
    template: bool = False
    window_closed_on: str = ""  # a WhatsApp address whose window is closed
    others: tuple[str, ...] = ()


async def _route(call: Call, person_id: int) -> Route:
    ctx = await web_context(call.session, call.services, call.viewer.staff)
    probe = TextReply(kind=ANSWER, text="-")
    policy = call.services.policy
    if isinstance(policy, ConsentPolicy):
        found = await policy.candidates(ctx, person_id, probe)
    else:
        chosen = await policy.choose(ctx, person_id, probe)
        found = [chosen] if chosen else []
    now = call.services.clock.now()
    closed = [row for row in (await call.session.scalars(select(AddressRow).where(
        AddressRow.person_id == person_id))).all()
        if (caps := call.services.channels.get(row.channel)) is not None and caps.window_hours
        and (row.window_until is None or row.window_until <= now)]
    route = Route(others=tuple(a.channel for a in found[1:]))
    if found:
        route.channel = found[0].channel
        route.template = any(row.address == str(found[0]) for row in closed)
    if closed:
        route.window_closed_on = closed[0].channel
    return route


@office_page(roles=OFFICE_ROLES)
async def conversation(call: Call) -> web.StreamResponse:
    person = await call.customer()
    channels = await person_channels(call.session, person.id)
    conv = await ConversationsRepo(call.session).latest_for_person(person.id)
    await mark_read(call.session, call.viewer.staff.id, person.id, call.services.clock.now())
    await call.audit("view", subject=f"person:{person.id}")
    items = await thread(call.session, person.id)
    return call.page("thread.html", person=person, items=items, name=name_of(person, items),
                     channels=channels, phone=callable_number(channels),
                     conv_status=conv.status if conv else OPEN,
                     route=await _route(call, person.id),
                     staff_names={s.id: s.name or s.id for s in call.services.settings.staff},
                     linkable=(await call.session.scalars(select(Job).where(
                         Job.status == JOB_OPEN, Job.customer_id.is_(None))
                         .order_by(Job.id.desc()).limit(30))).all(),
                     fitters=[(s.id, s.name or s.id) for s in call.services.settings.staff
                              if "fitter" in s.roles])


@office_page(roles=OFFICE_ROLES, form=True)
async def reply(call: Call) -> web.StreamResponse:
    person = await call.customer()
    text = call.form.get("text", "").strip()
    back = f"/office/c/{person.id}"
    if not text:
        call.flash(call.t("reply_empty"))
        return see_other(back)
    if len(text) > MAX_ANSWER:
        call.flash(call.t("reply_too_long", max=MAX_ANSWER))
        return see_other(back)
    conv = await ConversationsRepo(call.session).latest_for_person(person.id)
    ctx = await web_context(call.session, call.services, call.viewer.staff, text,
                            channel=call.form.get("channel", "")[:32])
    outcome = await answer_customer(ctx, conv if conv is not None else person.id, text,
                                    call.viewer.staff.id)
    if outcome.status == "sent":
        template = any(isinstance(sent, TemplateReply) for _, sent in ctx.sent)
        call.flash(call.t("reply_sent_template" if template else "reply_sent",
                          channel=call.t(f"channels.{outcome.channel}")))
        call.after_commit.append(call.services.wake_outbox)
    else:
        await tell_outcome(ctx, outcome, confirm=False)
        call.flash(*ctx.notices)
    return see_other(back)


@office_page(roles=OFFICE_ROLES, form=True)
async def close(call: Call) -> web.StreamResponse:
    person = await call.customer()
    conv = await ConversationsRepo(call.session).latest_for_person(person.id)
    if conv is not None:
        ctx = await web_context(call.session, call.services, call.viewer.staff)
        await close_conversation(ctx, conv)
        call.flash(*ctx.notices)
    return see_other(f"/office/c/{person.id}")


@office_page(roles=OFFICE_ROLES, form=True)
async def reopen(call: Call) -> web.StreamResponse:
    person = await call.customer()
    conv = await ConversationsRepo(call.session).latest_for_person(person.id)
    if conv is not None and conv.status == CLOSED:
        conv.status, conv.closed_at, conv.closed_by = OPEN, None, ""
        await call.audit("office_reopen", subject=f"person:{person.id}")
        call.flash(call.t("reopened"))
    return see_other(f"/office/c/{person.id}")


async def _fitter_may_see(call: Call, media_id: int) -> bool:
    found = await call.session.scalar(
        select(JobMedia.id).join(JobStaff, JobStaff.job_id == JobMedia.job_id)
        .where(JobStaff.staff_id == call.viewer.staff.id,
               or_(JobMedia.media_id == media_id, JobMedia.thumb_id == media_id)).limit(1))
    return found is not None


@office_page()
async def media(call: Call) -> web.StreamResponse:
    """A stored photo, voice note or document: for office staff, and for a fitter the
    files of the jobs they are assigned to."""
    row = await call.session.get(MediaRow, call.int_arg("media"))
    if row is None or not (call.viewer.is_office or await _fitter_may_see(call, row.id)):
        raise web.HTTPNotFound(text="not found")
    try:  # from the row in hand: a second connection would wait for this transaction's
        data = (call.services.media.directory / row.path).read_bytes()
    except FileNotFoundError:
        raise web.HTTPNotFound(text="not found") from None
    return web.Response(body=data, content_type=row.content_type, headers={
        "Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox"})
