"""The consent gate router: what customers without consent on a channel write goes no further.

Placed after the consent words and the rights router, before every business flow:

- **No decision yet** (never asked, or asked and not answered): the message is held
  (`holds.hold`), the consent request goes out the first time and again at most once a
  day (`REASK_AFTER`); nothing reaches staff.
- **Declined or withdrawn on this channel**: silence. The inbox row is blanked at once,
  nothing is forwarded, nothing answered.
- **Consent**, staff, and the office's own chats pass untouched.

The router also carries the consent handlers for timers (held messages expiring, the
daily retention sweep) and for failed deliveries (`delivery.router`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from werkbot.bot.context import Context
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    ContactEvent,
    EditEvent,
    Event,
    LocationEvent,
    MediaEvent,
    TextEvent,
    TimerEvent,
    UnknownEvent,
)
from werkbot.bot.router import Filter, Router, timer
from werkbot.handlers.consent import delivery, retention
from werkbot.handlers.consent.dialogue import ask_consent
from werkbot.handlers.consent.holds import HOLD_EXPIRED, blank_inbox_row, hold
from werkbot.handlers.consent.repo import ConsentRepo
from werkbot.handlers.consent.status import ChannelStatus, is_customer
from werkbot.handlers.filters import word
from werkbot.handlers.menu import menu_reply

log = logging.getLogger(__name__)

router = Router("consent.gate")
_HELP = word("help")
REASK_AFTER = timedelta(days=1)
_HELD_KINDS = (TextEvent, MediaEvent, LocationEvent, ContactEvent)  # content worth keeping
_INBOUND = (*_HELD_KINDS, ChoiceEvent, CommandEvent, UnknownEvent, EditEvent)


async def _without_consent(event: Event, ctx: Context) -> dict[str, ChannelStatus] | None:
    if not is_customer(ctx):
        return None
    assert ctx.person is not None and ctx.address is not None
    if ctx.is_new:  # made for this very message: no ledger row, no request yet
        return {"consent_status": ChannelStatus.UNKNOWN}
    status = await ctx.repo(ConsentRepo).channel_status(ctx.person.id, ctx.address.channel)
    return None if status is ChannelStatus.GRANTED else {"consent_status": status}


@router.on(_INBOUND, Filter(_without_consent, "without_consent"))
async def gate(event: Event, ctx: Context) -> None:
    status = ctx.match["consent_status"]
    if status is ChannelStatus.REFUSED:
        await blank_inbox_row(ctx)  # silence: keep nothing of what was said
        log.info("message from person %s dropped: no consent on this channel",
                 ctx.person.id if ctx.person else "-")
        return
    asks_for_help = await _HELP.check(event, ctx) is not None
    if isinstance(event, _HELD_KINDS) and not asks_for_help:  # 'hilfe' holds nothing personal
        await hold(ctx)
    if status is ChannelStatus.UNKNOWN:
        await ask_consent(ctx, status=status)
        if asks_for_help:
            await ctx.reply(menu_reply(ctx))  # the consent request first, then the menu
        return
    assert ctx.person is not None and ctx.address is not None
    ask = await ctx.repo(ConsentRepo).ask(ctx.person.id, ctx.address.channel)
    if ask is None or ctx.clock.now() - ask.asked_at >= REASK_AFTER:
        await ask_consent(ctx, again=True)


@router.on(TimerEvent, timer(HOLD_EXPIRED))
async def held_expired(event: TimerEvent, ctx: Context) -> None:
    """A held message's time is up: delete whatever of that person has expired."""
    await ctx.repo(ConsentRepo).expire_held(ctx.clock.now())


router.include_router(retention.router)
router.include_router(delivery.router)
