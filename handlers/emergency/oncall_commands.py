"""`/oncall`: who is on call now and next, overrides, swaps.

`/oncall` shows the rota; `/oncall <id>` puts <id> on call until the next hand-over
(contract §5); `/oncall <id> until <date> [HH:MM]` until then (the hand-over time when
no time is given); `/oncall swap <a> <b>` gives each the other's next rota week;
`/oncall clear` cancels the overrides from now on; `/oncall incidents` lists emergencies.
"""

from __future__ import annotations

from datetime import date, datetime, time

from werkbot.bot.context import Context
from werkbot.bot.replies import TextReply
from werkbot.bot.staff_persons import staff_addresses
from werkbot.handlers.commands import ADMIN_OFFICE, UsageError, commands
from werkbot.handlers.emergency.calendar import format_moment
from werkbot.handlers.emergency.incident_commands import list_incidents
from werkbot.handlers.emergency.models import OncallOverride
from werkbot.handlers.emergency.repo import ScheduleRepo
from werkbot.handlers.emergency.rota import Rota
from werkbot.handlers.staff_roles import staff_of


def _is(ctx: Context, arg: str, key: str) -> bool:
    return arg.lower() in ctx.texts.words(f"emergency.oncall.words_{key}")


def _when(ctx: Context, rota: Rota, at: datetime) -> str:
    return format_moment(ctx.texts, ctx.lang, at.astimezone(rota.zone))


def _name(ctx: Context, staff_id: str | None) -> str:
    staff = ctx.settings.staff_by_id(staff_id) if staff_id else None
    if staff_id is None:
        return ctx.t("emergency.oncall.nobody")
    return (staff.name or staff.id) if staff else staff_id


def _staff_id(ctx: Context, arg: str) -> str:
    staff_id = arg.lower().lstrip("@")
    if ctx.settings.staff_by_id(staff_id) is None:
        raise UsageError("unknown_staff", staff=arg)
    return staff_id


@commands.command("oncall", aliases=("bereitschaft",), roles=ADMIN_OFFICE,
                  help_key="emergency.help.oncall")
async def oncall(args: tuple[str, ...], ctx: Context) -> None:
    now = ctx.clock.now()
    rota = await ctx.repo(ScheduleRepo).rota(ctx.settings, now)
    if not args:
        await ctx.reply(_show(ctx, rota, now))
    elif _is(ctx, args[0], "incidents"):
        await list_incidents(args[1:], ctx)
    elif _is(ctx, args[0], "clear"):
        await _clear(ctx, now)
    elif _is(ctx, args[0], "swap"):
        if len(args) != 3:
            raise UsageError("missing", what="<a> <b>")
        await _swap(ctx, rota, now, _staff_id(ctx, args[1]), _staff_id(ctx, args[2]))
    else:
        staff_id = _staff_id(ctx, args[0])
        until = rota.period(now).ends_at
        if len(args) > 1:
            if not _is(ctx, args[1], "until") or len(args) not in (3, 4):
                raise UsageError("bad_value", value=" ".join(args[1:]),
                                 why=ctx.t("emergency.errors.bad_date", value=args[-1]))
            until = _parse_until(ctx, rota, args[2], args[3] if len(args) == 4 else "")
            if until <= now:
                raise UsageError("emergency.errors.past")
        await _cover(ctx, rota, staff_id, now, until, "override")
        await ctx.reply(ctx.t("emergency.oncall.set", name=_name(ctx, staff_id),
                              until=_when(ctx, rota, until)))


def _parse_until(ctx: Context, rota: Rota, day: str, clock: str) -> datetime:
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise UsageError("emergency.errors.bad_date", value=day) from None
    at = rota.handover_time
    if clock:
        try:
            at = time.fromisoformat(clock)
        except ValueError:
            raise UsageError("emergency.errors.bad_time", value=clock) from None
    return datetime.combine(when, at, tzinfo=rota.zone)


async def _cover(ctx: Context, rota: Rota, staff_id: str, starts: datetime, ends: datetime,
                 reason: str) -> None:
    staff = staff_of(ctx)
    now = ctx.clock.now()
    await ctx.repo(ScheduleRepo).add_override(OncallOverride(
        staff_id=staff_id, starts_at=starts, ends_at=ends, reason=reason,
        created_by=staff.id if staff else "", created_at=now))
    person = ctx.settings.staff_by_id(staff_id)
    addresses = staff_addresses(person) if person else []
    if person is not None and addresses and (staff is None or staff.id != staff_id):
        await ctx.send(addresses[0], TextReply(kind="oncall_assigned", text=ctx.texts.get(
            "emergency.alert.oncall_assigned", person.language,
            until=format_moment(ctx.texts, person.language, ends.astimezone(rota.zone)))))


async def _swap(ctx: Context, rota: Rota, now: datetime, a: str, b: str) -> None:
    week_a, week_b = rota.first_period_of(a, now), rota.first_period_of(b, now)
    if week_a is None:
        raise UsageError("emergency.errors.not_in_rota", staff=a)
    if week_b is None:
        raise UsageError("emergency.errors.not_in_rota", staff=b)
    a_since, b_since = max(week_a.starts_at, now), max(week_b.starts_at, now)
    await _cover(ctx, rota, b, a_since, week_a.ends_at, "swap")
    await _cover(ctx, rota, a, b_since, week_b.ends_at, "swap")
    await ctx.reply(ctx.t(
        "emergency.oncall.swapped", a=_name(ctx, a), b=_name(ctx, b),
        a_since=_when(ctx, rota, a_since), a_until=_when(ctx, rota, week_a.ends_at),
        b_since=_when(ctx, rota, b_since), b_until=_when(ctx, rota, week_b.ends_at)))


async def _clear(ctx: Context, now: datetime) -> None:
    rows = await ctx.repo(ScheduleRepo).overrides_from(now)
    for row in rows:
        row.cancelled_at = now
    await ctx.reply(ctx.t("emergency.oncall.cleared", count=len(rows)))


def _show(ctx: Context, rota: Rota, now: datetime) -> str:
    change = rota.next_change(now)
    lines = [ctx.t("emergency.oncall.now", name=_name(ctx, rota.on_call(now)),
                   until=_when(ctx, rota, change)),
             ctx.t("emergency.oncall.next", name=_name(ctx, rota.on_call(change)),
                   since=_when(ctx, rota, change))]
    for cover in sorted(rota.covers, key=lambda c: c.starts_at):
        lines.append(ctx.t("emergency.oncall.override", name=_name(ctx, cover.staff_id),
                           since=_when(ctx, rota, cover.starts_at),
                           until=_when(ctx, rota, cover.ends_at)))
    return "\n".join(lines)
