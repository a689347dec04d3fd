"""Opening hours as the office inbox sees them: open now? and the away answer.

The emergency feature owns the business calendar and the away answer (contract §6);
this module asks it (a provided hook, else `handlers.emergency`) and only falls back
to a plain reading of `business.hours` and its own away text when that is missing.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from werkbot.bot.context import Context
from werkbot.bot.replies import TextReply
from werkbot.bot.settings import WEEKDAYS, parse_span
from werkbot.handlers.office.hooks import AWAY_ANSWER, OPEN_AT, optional, provided

log = logging.getLogger(__name__)
AWAY_KIND = "away"


async def office_open(ctx: Context, at: datetime | None = None) -> bool:
    moment = at or ctx.clock.now()
    hook = provided(ctx.services, OPEN_AT)
    if hook is not None:
        return bool(hook(moment))
    schedule = optional("werkbot.handlers.emergency.repo", "ScheduleRepo")
    if schedule is not None:
        calendar = await ctx.repo(schedule).calendar(ctx.settings.business)
        return bool(calendar.is_open(moment))
    return _plain_next_opening(ctx, moment) == moment


async def send_away(ctx: Context) -> None:
    """The emergency feature's away answer; our own plain one if it is not installed."""
    hook = provided(ctx.services, AWAY_ANSWER) or optional("werkbot.handlers.emergency.answer",
                                                           "send_away_answer")
    if hook is not None:
        await hook(ctx)
        return
    opens = _plain_next_opening(ctx, ctx.clock.now())
    if opens is None:
        await ctx.reply(TextReply(kind=AWAY_KIND, text=ctx.t("office.away_closed")))
        return
    weekdays = ctx.texts.raw("office.weekdays", ctx.lang)
    months = ctx.texts.raw("office.months", ctx.lang)
    when = ctx.t("office.moment", weekday=weekdays[opens.weekday()], day=opens.day,
                 month=opens.month, month_name=months[opens.month - 1],
                 time=opens.strftime("%H:%M"))
    await ctx.reply(TextReply(kind=AWAY_KIND, text=ctx.t("office.away", opens=when,
                                                         business=ctx.settings.business.name)))


def _plain_next_opening(ctx: Context, at: datetime) -> datetime | None:
    """The first open moment at or after `at` from `business.hours` alone (no holidays)."""
    zone = ZoneInfo(ctx.settings.business.timezone)
    local = at.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        for span in sorted(ctx.settings.business.hours.get(WEEKDAYS[day.weekday()], [])):
            start, end = parse_span(span)
            opens = datetime.combine(day, start, tzinfo=zone)
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone) \
                if end is None else datetime.combine(day, end, tzinfo=zone)
            if local < opens:
                return opens
            if local < closes:
                return at
    return None
