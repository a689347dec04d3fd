"""Attachments that could not be fetched, tried again in the background for a while.

The message itself already reached the office with a note ("Foto konnte nicht geladen
werden"). A durable timer tries the download again after 1, 5, 15, 60 and 180 minutes
(about four and a half hours in all: providers keep inbound media far longer, and a
404 right after the webhook can be a copy not yet ready). What arrives goes to the
office as a late attachment of that message; what never arrives is reported to the
office once more as final, and the customer is asked to send it again, so nobody waits
for a photo that will not come. A URL werkbot refuses to fetch (not the provider's
host) is not tried again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from werkbot.bot.adapter import MediaTooLarge, MediaUnavailable
from werkbot.bot.codec import CodecError, loads_event
from werkbot.bot.context import Context
from werkbot.bot.events import MediaEvent, TimerEvent
from werkbot.bot.replies import TextReply
from werkbot.handlers.office.content import Content, attachment, missing_word
from werkbot.handlers.office.sender import as_sender, forward_content
from werkbot.handlers.office.store import OfficeInboxRepo

log = logging.getLogger(__name__)
TIMER = "office.media_retry"
DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
          timedelta(hours=1), timedelta(hours=3))
RESEND = "media_resend"  # asking the customer to send an attachment again


async def schedule_retry(ctx: Context, inbox_id: int, indexes: list[int],
                         attempt: int = 0) -> bool:
    """Try the attachments `indexes` of inbox row `inbox_id` again later; False when the
    tries are used up (nothing scheduled)."""
    if not indexes or attempt >= len(DELAYS):
        return False
    now = ctx.clock.now()
    await ctx.timers.schedule(f"{TIMER}:{inbox_id}:{attempt}", TIMER, now + DELAYS[attempt],
                              now, {"inbox": inbox_id, "media": indexes, "attempt": attempt})
    return True


async def _stored_media_event(ctx: Context, inbox_id: int) -> MediaEvent | None:
    payload = await ctx.repo(OfficeInboxRepo).payload_of(inbox_id)
    if payload is None:
        return None  # erased meanwhile
    try:
        event = loads_event(payload)
    except (CodecError, ValueError, TypeError):
        return None
    return event if isinstance(event, MediaEvent) and event.media else None


async def on_retry(event: TimerEvent, ctx: Context) -> None:
    """One more try for a message's missing attachments."""
    inbox_id, attempt = int(event.payload["inbox"]), int(event.payload["attempt"])
    stored = await _stored_media_event(ctx, inbox_id)
    acting = None if stored is None else await as_sender(ctx, stored)
    if stored is None or acting is None:
        return  # erased, blanked by retention, or no consent any more: nothing to chase
    ctx = acting  # the customer who sent it
    got, still = Content(""), []
    for index in (int(i) for i in event.payload.get("media", [])):
        if index >= len(stored.media):
            continue
        ref = stored.media[index]
        try:
            got = got + await attachment(ctx, stored, ref)
        except (MediaUnavailable, MediaTooLarge, LookupError) as exc:
            log.info("attachment of inbox row %s still missing (%s)", inbox_id,
                     type(exc).__name__)
            still.append(index)  # too large now means too large for good: said at the end
            continue
    zone = ZoneInfo(ctx.settings.business.timezone)
    when = f"{stored.received_at.astimezone(zone):%H:%M}"
    if got.media_ids or got.text:
        await forward_content(ctx, Content(ctx.t("inbox.media_late", time=when)) + got)
    if still and not await schedule_retry(ctx, inbox_id, still, attempt + 1):
        what = ", ".join(dict.fromkeys(missing_word(ctx, stored.media[i].kind) for i in still))
        await forward_content(ctx, Content(ctx.t("inbox.media_lost", what=what, time=when)))
        await ctx.reply(TextReply(kind=RESEND, text=ctx.t("inbox.media_resend", what=what,
                                                          time=when)))
