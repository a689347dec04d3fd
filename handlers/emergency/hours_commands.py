"""`/hours`: the week's opening hours, holidays and company closures, and setting closures.

`/hours closed <from> [<to>] [reason]` adds a closure (both days included); `/hours open
<date>` makes that day ordinary again, splitting a longer closure around it.
"""

from __future__ import annotations

from datetime import date, timedelta

from werkbot.bot.context import Context
from werkbot.bot.settings import WEEKDAYS
from werkbot.handlers.commands import ADMIN_OFFICE, UsageError, commands
from werkbot.handlers.emergency.calendar import format_day, format_moment
from werkbot.handlers.emergency.models import Closure
from werkbot.handlers.emergency.repo import ScheduleRepo
from werkbot.handlers.staff_roles import staff_of


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError("emergency.errors.bad_date", value=text) from None


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@commands.command("hours", aliases=("zeiten", "öffnungszeiten"), roles=ADMIN_OFFICE,
                  help_key="emergency.help.hours")
async def hours(args: tuple[str, ...], ctx: Context) -> None:
    if not args:
        await _show(ctx)
        return
    action = args[0].lower()
    if action in ctx.texts.words("emergency.hours.words_closed"):
        await _close(args[1:], ctx)
    elif action in ctx.texts.words("emergency.hours.words_open"):
        if len(args) != 2:
            raise UsageError("missing", what="<YYYY-MM-DD>")
        await _open(_date(args[1]), ctx)
    else:
        raise UsageError("unknown_action", action=args[0])


async def _close(args: tuple[str, ...], ctx: Context) -> None:
    if not args:
        raise UsageError("missing", what="<YYYY-MM-DD>")
    first = _date(args[0])
    rest = list(args[1:])
    last = _date(rest.pop(0)) if rest and _is_date(rest[0]) else first
    if last < first:
        raise UsageError("emergency.errors.order", first=args[0], last=args[1])
    staff = staff_of(ctx)
    await ctx.repo(ScheduleRepo).add_closure(Closure(
        first=first, last=last, reason=" ".join(rest)[:200],
        created_by=staff.id if staff else "", created_at=ctx.clock.now()))
    await ctx.reply(ctx.t("emergency.hours.closed_set",
                          first=format_day(ctx.texts, ctx.lang, first),
                          last=format_day(ctx.texts, ctx.lang, last)))


async def _open(day: date, ctx: Context) -> None:
    schedule = ctx.repo(ScheduleRepo)
    rows = await schedule.closures_on(day)
    for row in rows:
        if row.first == row.last:
            await schedule.remove_closure(row)
        elif row.first == day:
            row.first = day + timedelta(days=1)
        elif row.last == day:
            row.last = day - timedelta(days=1)
        else:
            await schedule.add_closure(Closure(first=day + timedelta(days=1), last=row.last,
                                               reason=row.reason, created_by=row.created_by,
                                               created_at=ctx.clock.now()))
            row.last = day - timedelta(days=1)
    await ctx.reply(ctx.t("emergency.hours.opened", day=format_day(ctx.texts, ctx.lang, day),
                          count=len(rows)))


async def _show(ctx: Context) -> None:
    now = ctx.clock.now()
    business = ctx.settings.business
    calendar = await ctx.repo(ScheduleRepo).calendar(business, now.date())
    weekdays = ctx.texts.raw("emergency.calendar.weekdays", ctx.lang)
    holidays = (ctx.t("emergency.hours.holidays", code=business.holidays) if business.holidays
                else ctx.t("emergency.hours.no_holidays"))
    lines = [ctx.t("emergency.hours.header", zone=business.timezone, holidays=holidays)]
    for index, _ in enumerate(WEEKDAYS):
        spans = calendar.week.get(index, ())
        shown = ", ".join(
            ctx.t("emergency.hours.all_day") if (start.hour, start.minute, end) == (0, 0, None)
            else f"{start:%H:%M}-{end:%H:%M}" if end else f"{start:%H:%M}-24:00"
            for start, end in spans) or ctx.t("emergency.hours.closed_day")
        lines.append(ctx.t("emergency.hours.day", weekday=weekdays[index], spans=shown))
    opens = calendar.next_opening(now)
    if calendar.is_open(now):
        lines.append(ctx.t("emergency.hours.now_open"))
    elif opens is not None:
        lines.append(ctx.t("emergency.hours.now_closed",
                           opens=format_moment(ctx.texts, ctx.lang, calendar.local(opens))))
    lines.append("")
    if calendar.closures:
        lines.append(ctx.t("emergency.hours.closures"))
        lines += [ctx.t("emergency.hours.closure", first=format_day(ctx.texts, ctx.lang, c.first),
                        last=format_day(ctx.texts, ctx.lang, c.last), reason=c.reason).rstrip()
                  for c in calendar.closures]
    else:
        lines.append(ctx.t("emergency.hours.no_closures"))
    await ctx.reply("\n".join(lines))
