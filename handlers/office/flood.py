"""Messages held back by flood protection, handed to the office in one forward.

The core stores a flooding customer's further messages without handling them and
schedules `RELEASE_TIMER` at the end of the window (`bot.flood`). Here they go to the
office together, in the order they arrived, each with its time: one message, not
hundreds, and none lost. Attachments are fetched as for any message (a missing one
becomes a note and is tried again later). Rows are then marked done, so a release
never repeats. A customer without consent on the channel keeps their rows held back:
their messages may not reach staff (the consent gate would have held them too).
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from sqlalchemy import select

from werkbot.bot.codec import CodecError, loads_event
from werkbot.bot.context import Context
from werkbot.bot.events import Event, TimerEvent
from werkbot.bot.storage.models import InboxRow
from werkbot.handlers.office.content import Content, content_of
from werkbot.handlers.office.sender import as_sender, forward_content

log = logging.getLogger(__name__)
RELEASED = "flood: forwarded"


async def on_release(event: TimerEvent, ctx: Context) -> None:
    """Forward everything the person's flood held back so far, as one message."""
    addresses = [row.address for row in await ctx.people.addresses(int(event.payload["person"]))]
    if not addresses:
        return  # erased meanwhile
    rows = list((await ctx.session.scalars(
        select(InboxRow).where(InboxRow.sender.in_(addresses), InboxRow.status == "throttled")
        .order_by(InboxRow.id).with_for_update())).all())
    held: list[tuple[InboxRow, Event]] = []
    for row in rows:
        try:
            held.append((row, loads_event(row.payload)))
        except (CodecError, ValueError, TypeError):
            row.status, row.error = "failed", "undecodable"
    if not held or not await as_sender(ctx, held[0][1]):
        return
    zone, now = ZoneInfo(ctx.settings.business.timezone), ctx.clock.now()
    content = Content(ctx.t("inbox.flood_batch", count=len(held)))
    for row, message in held:
        part = await content_of(message, ctx, inbox_id=row.id)
        stamp = f"{message.received_at.astimezone(zone):%H:%M}"
        content = content + Content(f"{stamp} {part.text}".rstrip(), part.media_ids,
                                    part.media_kinds)
        row.status, row.error, row.handled_at = "done", RELEASED, now
    if not await forward_content(ctx, content):
        log.warning("held-back messages of person %s reached nobody", ctx.person.id
                    if ctx.person else "-")
