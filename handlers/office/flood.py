"""Messages held back by flood protection, handed to the office in one forward.

The core stores a flooding customer's further messages without handling them and
schedules `RELEASE_TIMER` at the end of the window (`bot.flood`). Here they go to the
office together, in the order they arrived, each with its time: one message, not
hundreds, and none lost. Attachments are fetched as for any message (a missing one
becomes a note and is tried again later). Rows are then marked done, so a release
never repeats. A customer without consent on the channel is treated as the consent gate
treats them: not decided yet, the messages are held until they say yes (and then
forwarded); declined or withdrawn, nothing is kept.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from werkbot.bot.codec import CodecError, loads_event
from werkbot.bot.context import Context
from werkbot.bot.events import Event, TimerEvent
from werkbot.bot.storage.models import InboxRow
from werkbot.handlers.consent.holds import blank_inbox_row, hold
from werkbot.handlers.consent.status import ChannelStatus
from werkbot.handlers.office.content import Content, content_of
from werkbot.handlers.office.sender import forward_content, standing_of_sender
from werkbot.handlers.office.store import OfficeInboxRepo

log = logging.getLogger(__name__)
RELEASED = "flood: forwarded"
KEPT_FROM_STAFF = "flood: no consent"


async def on_release(event: TimerEvent, ctx: Context) -> None:
    """The window ended: forward everything the person's flood held back so far."""
    await release(ctx, int(event.payload["person"]))


async def release(ctx: Context, person_id: int) -> None:
    """Forward the person's held-back messages as one message, if there are any.

    Also called before a fresh message of theirs goes to the office (flood protection
    counts a sliding minute, so one may be handled before the timer fires): the office
    then reads them in the order they were written."""
    addresses = [row.address for row in await ctx.people.addresses(person_id)]
    if not addresses:
        return  # erased meanwhile
    rows = await ctx.repo(OfficeInboxRepo).throttled_rows(addresses)
    held: list[tuple[InboxRow, Event]] = []
    for row in rows:
        try:
            held.append((row, loads_event(row.payload)))
        except (CodecError, ValueError, TypeError):
            row.status, row.error = "failed", "undecodable"
    if not held:
        return
    acting = ctx.person is not None and ctx.person.id == person_id  # a fresh message of theirs
    if not acting:
        found = await standing_of_sender(ctx, held[0][1])
        if found is None:
            return
        ctx, standing = found
        if standing is not ChannelStatus.GRANTED:
            await _keep_from_staff(ctx, held, standing)
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
        log.warning("held-back messages of person %s reached nobody", person_id)


async def _keep_from_staff(ctx: Context, held: list[tuple[InboxRow, Event]],
                           standing: ChannelStatus) -> None:
    """No consent on the channel: what the flood held back goes where the consent gate
    puts such messages. Not decided yet: held until yes (then forwarded) or expiry.
    Declined or withdrawn: nothing kept (the rows are blanked)."""
    now = ctx.clock.now()
    for row, message in held:
        held_ctx = ctx.for_event(message, row.id)
        if standing is ChannelStatus.REFUSED:
            await blank_inbox_row(held_ctx)
        else:
            await hold(held_ctx)
        row.status, row.error, row.handled_at = "done", KEPT_FROM_STAFF, now
