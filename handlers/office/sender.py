"""Forwarding on a customer's behalf from a timer (held-back floods, late attachments).

A timer event has no sender of its own. `as_sender` gives a context acting as the customer
who wrote a stored message (person, address), as the dispatcher would have, if that
customer's messages may reach the office now (consent on the channel they wrote on).
`forward_content` then sends through the same path as a fresh message: the customer's
conversation and topic, marked when the office is closed.
"""

from __future__ import annotations

from werkbot.bot.context import Context
from werkbot.bot.events import Event
from werkbot.handlers.consent.status import ChannelStatus, channel_status
from werkbot.handlers.office.content import Content
from werkbot.handlers.office.forward import to_office
from werkbot.handlers.office.hours import office_open
from werkbot.handlers.office.store import ConversationsRepo


async def as_sender(ctx: Context, event: Event) -> Context | None:
    """A context acting as the customer who sent `event`; None if they are unknown, staff,
    erased or without consent on that channel now (then nothing of theirs goes anywhere)."""
    found = await standing_of_sender(ctx, event)
    return found[0] if found is not None and found[1] is ChannelStatus.GRANTED else None


async def standing_of_sender(ctx: Context, event: Event
                             ) -> tuple[Context, ChannelStatus] | None:
    """A context acting as the customer who sent `event`, and their standing on its
    channel; None if they are unknown, staff or erased."""
    found = await ctx.people.by_address(event.sender)
    if found is None:
        return None
    person, row = found
    if person.kind == "staff" or person.erased_at is not None:
        return None
    ctx = ctx.for_sender(person, event.sender, row)
    return ctx, await ctx.repo(lambda s: channel_status(s, person.id, event.sender.channel))


async def forward_content(ctx: Context, content: Content) -> int:
    """Forward to the office as the current customer; how many recipients it reached."""
    assert ctx.person is not None
    conv, _ = await ctx.repo(ConversationsRepo).open_conversation(ctx.person.id,
                                                               ctx.clock.now())
    return await to_office(ctx, conv, content, after_hours=not await office_open(ctx))
