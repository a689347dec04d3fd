"""Sending about someone: messages to staff that carry a customer's data are linked to
that customer (`forwarded_records`), so erasure finds and deletes every copy.

Other features forward through `send_about` instead of `ctx.send_to_person` when the
message is about a customer; rows queued while handling the customer's own messages are
found through `outbox.inbound_id` even without it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.replies import Reply
from werkbot.bot.storage.models import OutboxRow
from werkbot.handlers.rights.models import ForwardedRecord


async def send_about(ctx: Context, about: int, reply: Reply | str, *,
                     to_person: int | None = None, address: Address | None = None) -> bool:
    """Send `reply` to a staff member (by person id or address), linked to customer `about`."""
    before = await ctx.session.scalar(select(func.max(OutboxRow.id))) or 0
    if address is not None:
        sent = await ctx.send(address, reply)
    elif to_person is not None:
        sent = await ctx.send_to_person(to_person, reply) is not None
    else:
        raise ValueError("send_about needs to_person or address")
    if sent:
        await link_new_rows(ctx, about, before)
    return sent


async def link_new_rows(ctx: Context, about: int, after_id: int) -> None:
    """Link the outbox rows this event queued after `after_id` to customer `about`."""
    query = select(OutboxRow.id).where(OutboxRow.id > after_id)
    if ctx.inbox_id is not None:
        query = query.where(OutboxRow.inbound_id == ctx.inbox_id)
    now = ctx.clock.now()
    for outbox_id in (await ctx.session.scalars(query)).all():
        ctx.session.add(ForwardedRecord(person_id=about, outbox_id=outbox_id, created_at=now))
    await ctx.session.flush()
