"""After a signature: the receipt link to the person, a note to the office, the kind's hook.

Runs as the `rights.signed` timer the signing page schedules, so it has a full handler
context (the delivery policy, the outbox) and survives a restart between page and chat.
"""

from __future__ import annotations

import logging

from werkbot.bot.context import Context
from werkbot.bot.events import TimerEvent
from werkbot.bot.hooks import hooks
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Router, timer
from werkbot.handlers.rights.forwarding import send_about
from werkbot.handlers.rights.models import SigningRequest
from werkbot.handlers.rights.registry import SIGNING_HOOKS
from werkbot.handlers.rights.repo import RightsRepo
from werkbot.handlers.rights.signing import SIGNED_TIMER

log = logging.getLogger(__name__)
router = Router("rights-signed")
OFFICE_ROLES = ("office", "admin")


@router.on(TimerEvent, timer(SIGNED_TIMER))
async def after_signing(event: TimerEvent, ctx: Context) -> None:
    repo = ctx.repo(RightsRepo)
    request = await repo.signing_request(int(event.payload.get("request", 0)))
    if request is None or request.completed_at is None:
        await repo.blank_inbox_row(ctx.inbox_id)
        return
    texts, lang = ctx.texts, request.language
    link = ctx.services.media.link(request.receipt_media_id) if request.receipt_media_id else ""
    if request.person_id is not None:
        sent = await ctx.send_to_person(request.person_id, TextReply(
            kind="signing_receipt", text=texts.get("rights.signed.person", lang, link=link)))
        if not sent:
            log.info("signing request %s: receipt not deliverable in chat (%s)", request.id,
                     sent.outcome.value)
        await notify_office(ctx, request, link)
    hook = hooks(ctx.services, SIGNING_HOOKS).get(request.kind)
    if hook is not None:
        await hook(ctx, request)


async def notify_office(ctx: Context, request: SigningRequest, link: str) -> None:
    """Tell the staff with an office role (else the admins) that someone signed."""
    assert request.person_id is not None
    person = await ctx.people.get(request.person_id)
    name = (person.display_name if person else "") or f"#{request.person_id}"
    staff = [s for role in OFFICE_ROLES for s in ctx.settings.staff if role in s.roles]
    if not staff:
        return
    first_role = next(r for r in OFFICE_ROLES if any(r in s.roles for s in staff))
    for member in [s for s in staff if first_role in s.roles]:
        target = await ctx.people.by_staff_id(member.id)
        if target is None:
            continue
        text = ctx.texts.get("rights.signed.office", member.language, customer=name,
                             kind=request.kind, link=link)
        await send_about(ctx, request.person_id, TextReply(kind="signing_office", text=text),
                         to_person=target.id)
