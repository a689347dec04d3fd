"""`/stats [today|week|month|YYYY-MM-DD YYYY-MM-DD] [csv]` and `/audit [n]`.

Periods are local calendar spans in `business.timezone` (week from Monday, month from
the 1st; two dates include both days). `csv` answers with the same figures as CSV: inline
when short, otherwise as a document from the media store (channels without uploads get
its signed link). `/audit` lists the last audit lines: when, who (staff by name and
id), what (the command as typed, or the action in words) and to what or whom.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from werkbot.bot.context import Context
from werkbot.bot.replies import MediaReply
from werkbot.handlers.admin.figures import Durations, Figures
from werkbot.handlers.admin.repo import AdminRepo
from werkbot.handlers.commands import (
    ADMIN,
    ADMIN_OFFICE,
    TextKey,
    UsageError,
    commands,
)

INLINE_CSV = 1200
AUDIT_DEFAULT, AUDIT_MAX = 20, 100
PERIODS = {"today": "today", "heute": "today", "week": "week", "woche": "week",
           "month": "month", "monat": "month"}


def period(args: tuple[str, ...], now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    today = now.astimezone(zone).date()
    if not args:
        args = ("today",)
    if len(args) == 1 and args[0].lower() in PERIODS:
        name = PERIODS[args[0].lower()]
        if name == "today":
            first, last = today, today
        elif name == "week":
            first, last = today - timedelta(days=today.weekday()), today
        else:
            first, last = today.replace(day=1), today
    elif len(args) == 2:
        first, last = _date(args[0]), _date(args[1])
        if last < first:
            raise UsageError("bad_value", value=" ".join(args),
                             why=TextKey("office.errors.period_order"))
    else:
        raise UsageError("bad_value", value=" ".join(args),
                         why=TextKey("office.errors.period"))
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError("bad_value", value=text, why=TextKey("office.errors.date")) from None


def rows(figures: Figures) -> list[tuple[str, str, str]]:
    """The figures as (section, key, value) rows: the CSV and the message share them."""
    out: list[tuple[str, str, str]] = [
        ("period", "start", figures.start.date().isoformat()),
        ("period", "end", (figures.end - timedelta(days=1)).date().isoformat())]
    for section, counts in (("in", figures.messages_in), ("out", figures.messages_out),
                            ("failed", figures.failed), ("job", figures.per_job),
                            ("staff", figures.per_staff)):
        out += [(section, key, str(value)) for key, value in counts.items()]
    out += [("conversations", "opened", str(figures.conversations)),
            ("conversations", "closed", str(figures.closed))]
    out += _durations("first_response", figures.first_response)
    out += [("emergencies", "count", str(figures.emergencies)),
            ("emergencies", "acknowledged", str(figures.acknowledged))]
    out += _durations("ack_time", figures.ack_time)
    rate = figures.consent_rate
    out += [("consent", "granted", str(figures.consented)),
            ("consent", "declined", str(figures.declined)),
            ("consent", "withdrawn", str(figures.withdrawn)),
            ("consent", "rate", "" if rate is None else f"{rate:.2f}"),
            ("consent", "decline_rate",
             "" if figures.decline_rate is None else f"{figures.decline_rate:.2f}")]
    return out


def _durations(section: str, d: Durations) -> list[tuple[str, str, str]]:
    seconds = ("" if v is None else str(round(v)) for v in (d.median, d.p90))
    median, p90 = seconds
    return [(section, "count", str(d.count)), (section, "median_s", median),
            (section, "p90_s", p90)]


def as_csv(figures: Figures) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "key", "value"))
    writer.writerows(rows(figures))
    return buffer.getvalue()


def _minutes(ctx: Context, seconds: float | None) -> str:
    return "–" if seconds is None else ctx.t("office.stats.minutes", n=round(seconds / 60))


def as_text(ctx: Context, f: Figures) -> str:
    def counts(values: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in values.items()) or "0"

    rate = f.consent_rate
    return ctx.t(
        "office.stats.text", start=f.start.date().isoformat(),
        end=(f.end - timedelta(days=1)).date().isoformat(),
        inbound=counts(f.messages_in), outbound=counts(f.messages_out),
        failed=counts(f.failed), jobs=counts(f.per_job), staff=counts(f.per_staff),
        conversations=f.conversations, closed=f.closed,
        responses=f.first_response.count, median=_minutes(ctx, f.first_response.median),
        p90=_minutes(ctx, f.first_response.p90), emergencies=f.emergencies,
        acknowledged=f.acknowledged, ack_median=_minutes(ctx, f.ack_time.median),
        ack_p90=_minutes(ctx, f.ack_time.p90), consented=f.consented, declined=f.declined,
        withdrawn=f.withdrawn, rate="–" if rate is None else f"{rate:.0%}",
        decline_rate="–" if f.decline_rate is None else f"{f.decline_rate:.0%}")


@commands.command("stats", aliases=("statistik",), roles=ADMIN_OFFICE,
                  help_key="office.help.stats")
async def stats_command(args: tuple[str, ...], ctx: Context) -> None:
    want_csv = bool(args) and args[-1].lower() == "csv"
    zone = ZoneInfo(ctx.settings.business.timezone)
    start, end = period(args[:-1] if want_csv else args, ctx.clock.now(), zone)
    figures = await ctx.repo(AdminRepo).figures(ctx.services, start.astimezone(zone),
                                                end.astimezone(zone))
    if not want_csv:
        await ctx.reply(as_text(ctx, figures))
        return
    text = as_csv(figures)
    if len(text) <= INLINE_CSV:
        await ctx.reply(text)
        return
    name = f"werkbot-stats-{start.date().isoformat()}-{figures.end.date().isoformat()}.csv"
    saved = await ctx.repo(AdminRepo).save_report(ctx.services, text.encode(), name,
                                                  ctx.clock.now())
    await ctx.reply(MediaReply(kind="stats_csv", media_ids=(saved.id,),
                               media_kinds=("document",),
                               caption=ctx.t("office.stats.csv_caption",
                                             link=ctx.services.media.link(saved.id))))


@commands.command("audit", aliases=("protokoll",), roles=ADMIN, help_key="office.help.audit")
async def audit_command(args: tuple[str, ...], ctx: Context) -> None:
    if len(args) > 1 or (args and not args[0].isdigit()):
        raise UsageError("bad_value", value=" ".join(args), why=_AUDIT_COUNT)
    count = int(args[0]) if args else AUDIT_DEFAULT
    if not 1 <= count <= AUDIT_MAX:
        raise UsageError("bad_value", value=args[0], why=_AUDIT_COUNT)
    found = await ctx.repo(AdminRepo).newest_audit(count)
    zone = ZoneInfo(ctx.settings.business.timezone)
    lines = [ctx.t("office.audit.title", n=len(found))]
    lines += [ctx.t("office.audit.line", at=row.at.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
                    actor=_actor(ctx, row.actor), action=_action(ctx, row.action),
                    subject=row.subject or row.detail or "–")
              for row in reversed(found)]
    await ctx.reply("\n".join(lines))


_AUDIT_COUNT = TextKey("office.errors.audit_count", most=AUDIT_MAX)


def _actor(ctx: Context, actor: str) -> str:
    """Who: a staff member by name and id, werkbot's own parts and the person by role."""
    kind, _, ident = actor.partition(":")
    staff = ctx.settings.staff_by_id(ident) if kind == "staff" else None
    if staff is not None:
        return f"{staff.name or staff.id} ({staff.id})"
    return _text_or(ctx, f"office.audit.actors.{actor}", actor)


def _action(ctx: Context, action: str) -> str:
    """What: a staff command as it is typed, refusals marked, the rest from the texts."""
    refused = action.startswith("refused:")
    name = action.removeprefix("refused:")
    what = f"/{name}" if name in commands.specs else _text_or(
        ctx, f"office.audit.actions.{name}", name)
    return ctx.t("office.audit.refused", what=what) if refused else what


def _text_or(ctx: Context, key: str, fallback: str) -> str:
    try:
        return ctx.t(key)
    except KeyError:
        return fallback
