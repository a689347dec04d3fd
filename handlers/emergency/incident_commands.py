"""`/incident`: the latest emergencies, one incident's timeline, closing an incident.

For the admin and the office. The timeline reads as the boss would tell it: one line
per step with the local time, who, on which channel, and how long it had taken
("Ludwig Maier hat übernommen, 4 Minuten nach Eingang"), never what the customer wrote.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from werkbot.bot.context import Context
from werkbot.handlers.commands import ADMIN_OFFICE, UsageError, commands
from werkbot.handlers.emergency import alerts, telling
from werkbot.handlers.emergency.durations import spoken
from werkbot.handlers.emergency.models import Incident, IncidentStep
from werkbot.handlers.emergency.repo import IncidentsRepo
from werkbot.handlers.staff_roles import staff_of

LIST_LENGTH = 10
_ACTIONS = frozenset({"created", "alerted", "unreachable", "acknowledged", "escalated",
                      "details", "exhausted", "closed", "reply", "followup", "customer_told"})


def _at(ctx: Context, at: datetime) -> str:
    return at.astimezone(ZoneInfo(ctx.settings.business.timezone)).strftime("%d.%m. %H:%M")


def _status(ctx: Context, incident: Incident) -> str:
    return ctx.t(f"emergency.incident.status.{incident.status}")


def _mode(ctx: Context, incident: Incident) -> str:
    return ctx.t(f"emergency.incident.modes.{incident.mode}")


def _channel(ctx: Context, channel: str) -> str:
    return ctx.t(f"office.channels.{channel}") if channel else ""


def _step_line(ctx: Context, incident: Incident, step: IncidentStep) -> str:
    """One timeline line: `02:04  Ludwig Maier hat übernommen (Telegram), nach 4 Minuten`."""
    since = spoken(ctx.texts, ctx.lang, step.at - incident.created_at)
    waited = spoken(ctx.texts, ctx.lang, ctx.settings.oncall.ack_timeout)
    danger = ctx.t(f"emergency.incident.dangers.{incident.danger}") if incident.danger else ""
    action = step.action if step.action in _ACTIONS else "other"
    text = ctx.t(f"emergency.incident.steps.{action}",
                 staff=telling.staff_name(ctx, step.staff_id) if step.staff_id else "",
                 channel=_channel(ctx, step.channel), since=since, waited=waited,
                 danger=danger, mode=_mode(ctx, incident), action=step.action)
    return ctx.t("emergency.incident.step", at=_time(ctx, step.at), text=text)


def _time(ctx: Context, at: datetime) -> str:
    return at.astimezone(ZoneInfo(ctx.settings.business.timezone)).strftime("%H:%M")


async def list_incidents(args: tuple[str, ...], ctx: Context) -> None:
    rows = await ctx.repo(IncidentsRepo).newest(LIST_LENGTH)
    if not rows:
        await ctx.reply(ctx.t("emergency.incident.none"))
        return
    lines = [ctx.t("emergency.incident.header")]
    for row in rows:
        who = f" {telling.staff_name(ctx, row.acked_by)}" if row.acked_by else ""
        lines.append(ctx.t("emergency.incident.line", id=row.id, at=_at(ctx, row.created_at),
                           status=_status(ctx, row), who=who, mode=_mode(ctx, row)))
    await ctx.reply("\n".join(lines))


@commands.command("incident", aliases=("einsatz", "notfälle"), roles=ADMIN_OFFICE,
                  help_key="emergency.help.incident")
async def incident(args: tuple[str, ...], ctx: Context) -> None:
    if not args:
        await list_incidents(args, ctx)
        return
    number = args[0].lstrip("#")
    if not number.isdigit():
        raise UsageError("bad_value", value=args[0], why="#<Nr>")
    row = await ctx.repo(IncidentsRepo).lock(int(number))
    if row is None:
        raise UsageError("emergency.errors.no_incident", id=number)
    if len(args) > 1:
        if args[1].lower() not in ctx.texts.words("emergency.incident.words_close"):
            raise UsageError("unknown_action", action=args[1])
        await close(ctx, row)
        return
    danger = ctx.t(f"emergency.incident.dangers.{row.danger}") if row.danger else ""
    lines = [ctx.t("emergency.incident.timeline", id=row.id, at=_at(ctx, row.created_at),
                   mode=_mode(ctx, row), status=_status(ctx, row), danger=danger)]
    steps = await ctx.repo(IncidentsRepo).steps_of(row.id)
    lines += [_step_line(ctx, row, step) for step in steps]
    await ctx.reply("\n".join(lines))


async def close(ctx: Context, row: Incident) -> None:
    now, staff = ctx.clock.now(), staff_of(ctx)
    if row.status != "closed":
        row.status, row.closed_at = "closed", now
        await ctx.timers.cancel(alerts.timer_key(row.id, row.step + 1))
        await ctx.repo(IncidentsRepo).add_step(row, "closed", now, staff=staff.id if staff else "")
    await ctx.reply(ctx.t("emergency.incident.closed", id=row.id))
