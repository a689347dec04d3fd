"""Sending about someone: messages to staff that carry a customer's data are linked to
that customer (`forwarded_records`), so erasure finds and deletes every copy.

Other features forward through `send_about` instead of `ctx.send_to_person` when the
message is about a customer; rows queued while handling the customer's own messages are
found through `outbox.inbound_id` even without it.
"""

from __future__ import annotations

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.replies import Reply
from werkbot.handlers.rights.repo import RightsRepo


async def send_about(ctx: Context, about: int, reply: Reply | str, *,
                     to_person: int | None = None, address: Address | None = None) -> bool:
    """Send `reply` to a staff member (by person id or address), linked to customer `about`."""
    before = await ctx.repo(RightsRepo).last_outbox_id()
    if address is not None:
        sent = bool(await ctx.send(address, reply))
    elif to_person is not None:
        sent = bool(await ctx.send_to_person(to_person, reply))
    else:
        raise ValueError("send_about needs to_person or address")
    if sent:
        await link_new_rows(ctx, about, before)
    return sent


async def link_new_rows(ctx: Context, about: int, after_id: int) -> None:
    """Link the outbox rows this event queued after `after_id` to customer `about`."""
    await ctx.repo(RightsRepo).link_forwarded(about, after_id, ctx.inbox_id, ctx.clock.now())
