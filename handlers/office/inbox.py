"""The customer side of the office inbox: consented customers' messages reach a human.

Position 7 in the root (after the consent gate, menu and jobs): whatever a consented
customer writes that no earlier feature took goes to the office. Inside opening hours
the customer gets an acknowledgement once per conversation; outside them the away
answer, and the message is forwarded at once marked "received outside opening hours"
(nothing waits in werkbot: the office sees it first thing, and no queue can be lost).
Shared contacts and edits go the same way (an edit marked as one, without a second
acknowledgement), as do the timers that hand on what flood protection held back
(`flood`) and attachments fetched late (`attachments`).
"""

from __future__ import annotations

import logging

from werkbot.bot.context import Context
from werkbot.bot.events import (
    ContactEvent,
    EditEvent,
    Event,
    LocationEvent,
    MediaEvent,
    TextEvent,
    TimerEvent,
    UnknownEvent,
)
from werkbot.bot.flood import RELEASE_TIMER
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Filter, Router, timer
from werkbot.handlers.office import attachments, flood
from werkbot.handlers.office.forward import content_of, to_office
from werkbot.handlers.office.hours import office_open, send_away
from werkbot.handlers.office.store import ConversationsRepo
from werkbot.handlers.staff_roles import is_office_address, staff_of

log = logging.getLogger(__name__)
ACK = "office_ack"

router = Router("office")


def _from_customer(event: Event, ctx: Context) -> bool:
    if ctx.person is None or ctx.person.kind == "staff" or staff_of(ctx) is not None:
        return False
    return not is_office_address(ctx.settings, event.sender)


from_customer = Filter(_from_customer, "from_customer")


router.on(TimerEvent, timer(attachments.TIMER))(attachments.on_retry)
router.on(TimerEvent, timer(RELEASE_TIMER))(flood.on_release)


@router.on((TextEvent, MediaEvent, LocationEvent, ContactEvent, EditEvent, UnknownEvent),
           from_customer)
async def to_the_office(event: Event, ctx: Context) -> None:
    assert ctx.person is not None
    await flood.release(ctx, ctx.person.id)  # what a flood held back comes first
    conv, _ = await ctx.repo(ConversationsRepo).open_conversation(ctx.person.id,
                                                               ctx.clock.now())
    open_now, edit = await office_open(ctx), isinstance(event, EditEvent)
    if not open_now and not edit:  # an edit is no new request: answered once already
        await send_away(ctx)
    elif open_now and not conv.acknowledged and not edit:
        conv.acknowledged = True
        await ctx.reply(TextReply(kind=ACK, text=ctx.t("office.ack")))
    content = await content_of(event, ctx)
    if not await to_office(ctx, conv, content, after_hours=not open_now):
        log.warning("an office message reached nobody (conversation %s)", conv.id)
