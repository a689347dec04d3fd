"""The on-call rota and the office hours in the browser: who is on call now and in the
coming weeks (overrides and swaps included), the weekly opening hours, company closures
and the next public holidays of the configured state.

Changes run the chat commands `/oncall` and `/hours` themselves (same roles, same
checks, same answers), like the office would type them.
"""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web
from sqlalchemy import select

from werkbot.bot.settings import WEEKDAYS
from werkbot.handlers.commands import UsageError, commands
from werkbot.handlers.emergency.models import OncallOverride
from werkbot.handlers.emergency.repo import ScheduleRepo
from werkbot.handlers.office_web.acting import web_context
from werkbot.handlers.office_web.guard import Call, office_page, see_other
from werkbot.handlers.staff_roles import OFFICE_ROLES

WEEKS_AHEAD = 8
HOLIDAYS_SHOWN = 8


def _name(call: Call, staff_id: str | None) -> str:
    found = call.services.settings.staff_by_id(staff_id) if staff_id else None
    return (found.name or found.id) if found else (staff_id or "–")


@office_page(roles=OFFICE_ROLES)
async def rota(call: Call) -> web.StreamResponse:
    now = call.services.clock.now()
    plan = await ScheduleRepo(call.session).rota(call.services.settings, now)
    calendar = await ScheduleRepo(call.session).calendar(call.services.settings.business,
                                                         now.date())
    first = plan.period(now).index
    weeks = []
    for index in range(first, first + WEEKS_AHEAD):
        period = plan.period_by_index(index)
        covers = [c for c in plan.covers if c.starts_at < period.ends_at
                  and c.ends_at > period.starts_at]
        weeks.append((period, _name(call, period.staff_id),
                      [(c, _name(call, c.staff_id)) for c in covers]))
    overrides = (await call.session.scalars(
        select(OncallOverride).where(OncallOverride.cancelled_at.is_(None),
                                     OncallOverride.ends_at > now)
        .order_by(OncallOverride.starts_at))).all()
    hours = [(index, call.services.settings.business.hours.get(day, []))
             for index, day in enumerate(WEEKDAYS)]
    today = calendar.local(now).date()
    holidays: list[tuple[date, str]] = []
    for offset in range(400):
        day = today + timedelta(days=offset)
        name = calendar.holiday(day)
        if name:
            holidays.append((day, name))
        if len(holidays) >= HOLIDAYS_SHOWN:
            break
    return call.page(
        "rota.html", now_on_call=_name(call, plan.on_call(now)), weeks=weeks,
        overrides=[(o, _name(call, o.staff_id)) for o in overrides], hours=hours,
        weekday_names=call.services.texts.raw("office.weekdays", call.lang),
        closures=calendar.closures, holidays=holidays,
        staff=[(s.id, s.name or s.id) for s in call.services.settings.staff
               if "fitter" in s.roles or s.id in call.services.settings.oncall.rotation])


async def _command(call: Call, name: str, *args: str) -> web.StreamResponse:
    spec = commands.specs[name]
    if not spec.roles & set(call.viewer.staff.roles):
        return call.page("refused.html", status=403, reason=call.t("not_allowed"))
    ctx = await web_context(call.session, call.services, call.viewer.staff)
    try:
        await spec.handler(tuple(args), ctx)
    except UsageError as exc:
        key = exc.key if "." in exc.key else f"commands.errors.{exc.key}"
        call.flash(ctx.t(key, **exc.values))
        return see_other("/office/rota")
    await call.audit(name, detail=" ".join(a for a in args if a)[:200])
    call.flash(*ctx.notices)
    if ctx.sent:
        call.after_commit.append(call.services.wake_outbox)
    return see_other("/office/rota")


@office_page(roles=OFFICE_ROLES, form=True)
async def oncall(call: Call) -> web.StreamResponse:
    """`/oncall <id> [until <date>]`, `/oncall swap <a> <b>`, `/oncall clear`."""
    action = call.form.get("action", "")
    staff, other = call.form.get("staff", ""), call.form.get("other", "")
    until = call.form.get("until", "")
    if action == "swap":
        return await _command(call, "oncall", "swap", staff, other)
    if action == "clear":
        return await _command(call, "oncall", "clear")
    return await _command(call, "oncall", staff, *(("until", until) if until else ()))


@office_page(roles=OFFICE_ROLES, form=True)
async def hours(call: Call) -> web.StreamResponse:
    """`/hours closed <from> <to> [reason]` and `/hours open <date>`."""
    if call.form.get("action") == "open":
        return await _command(call, "hours", "open", call.form.get("day", ""))
    reason = " ".join(call.form.get("reason", "").split())[:100]
    return await _command(call, "hours", "closed", call.form.get("first", ""),
                          call.form.get("last", ""), *reason.split())
