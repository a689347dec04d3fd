"""Admin commands about people: consent status and links, export, erasure, staff, close.

The person a command names is found by `person_lookup`.

`/consent <person>` reads the ledger (channels × purposes, when, how); `/consent link`,
`/export` and `/erase` act on the person's behalf through the rights feature. Erasure
asks for confirmation first (the registry does that). Staff persons are not erased here.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkbot.bot.context import Context
from werkbot.bot.staff_persons import staff_addresses
from werkbot.bot.storage.models import Person
from werkbot.handlers.admin.person_lookup import one_person_arg, resolve_person
from werkbot.handlers.admin.repo import AdminRepo
from werkbot.handlers.commands import ADMIN_OFFICE, UsageError, commands
from werkbot.handlers.consent.ledger import ALL_CHANNELS, PURPOSES
from werkbot.handlers.office.hooks import optional
from werkbot.handlers.office.models import CLOSED
from werkbot.handlers.office.store import ConversationsRepo

RIGHTS = {"create_consent_link": "werkbot.handlers.rights.signing",
          "export_link": "werkbot.handlers.rights.export",
          "erase_customer": "werkbot.handlers.rights.chat",
          "schedule_scrub": "werkbot.handlers.rights.chat"}


def _when(ctx: Context, at: datetime) -> str:
    return at.astimezone(ZoneInfo(ctx.settings.business.timezone)).strftime("%d.%m.%Y %H:%M")


def _actor(ctx: Context) -> str:
    return f"staff:{ctx.person.staff_id}" if ctx.person and ctx.person.staff_id else "staff"


async def _rights(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the rights feature's `name`; a `UsageError` if it is not installed."""
    found = optional(RIGHTS[name], name)
    if found is None:
        raise UsageError("office.errors.unavailable")
    result = found(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


@commands.command("consent", aliases=("einwilligung",), roles=ADMIN_OFFICE,
                  help_key="office.help.consent")
async def consent_command(args: tuple[str, ...], ctx: Context) -> None:
    if args and args[0].lower() == "link":
        person = await resolve_person(ctx, one_person_arg(args[1:], ctx.t("office.what.person")))
        channels = sorted({row.channel for row in await ctx.people.addresses(person.id)})
        link = await _rights("create_consent_link", ctx, person.id, channels,
                             created_by=_actor(ctx))
        await ctx.reply(ctx.t("office.consent.link", person=person.id, link=link))
        return
    person = await resolve_person(ctx, one_person_arg(args, ctx.t("office.what.person")))
    current = await ctx.repo(AdminRepo).consent_now(ctx.services, person.id)
    channels = [row.channel for row in await ctx.people.addresses(person.id)]
    channels += sorted({c for c, _ in current} - set(channels))
    lines = [ctx.t("office.consent.title", person=person.id)]
    for channel in channels:
        parts = []
        for purpose in PURPOSES:
            grant = current.get((channel, purpose)) or current.get((ALL_CHANNELS, purpose))
            name = ctx.t(f"office.purposes.{purpose}")
            if grant is None:
                parts.append(ctx.t("office.consent.never", purpose=name))
            else:
                key = "office.consent.granted" if grant.granted else "office.consent.withdrawn"
                parts.append(ctx.t(key, purpose=name, at=_when(ctx, grant.at),
                                   method=grant.method))
        label = ctx.t("office.channels.all") if channel == ALL_CHANNELS else channel
        lines.append(f"{label}: " + "; ".join(parts))
    if not current:
        lines.append(ctx.t("office.consent.none"))
    await ctx.reply("\n".join(lines))


@commands.command("export", aliases=("auskunft",), roles=ADMIN_OFFICE,
                  help_key="office.help.export")
async def export_command(args: tuple[str, ...], ctx: Context) -> None:
    person = await resolve_person(ctx, one_person_arg(args, ctx.t("office.what.person")))
    link = await _rights("export_link", ctx, person.id)
    await ctx.reply(ctx.t("office.export_link", person=person.id, link=link))


async def _erasable(args: tuple[str, ...], ctx: Context) -> Person:
    """The customer `/erase` names; checked before it asks for confirmation as well."""
    person = await resolve_person(ctx, one_person_arg(args, ctx.t("office.what.person")))
    if person.kind == "staff":
        raise UsageError("office.errors.staff_person", person=args[0])
    return person


async def _check_erasable(args: tuple[str, ...], ctx: Context) -> None:
    await _erasable(args, ctx)


@commands.command("erase", aliases=("loeschen", "löschen"), roles=ADMIN_OFFICE,
                  help_key="office.help.erase", confirm=lambda args: bool(args),
                  precheck=_check_erasable)
async def erase_command(args: tuple[str, ...], ctx: Context) -> None:
    person = await _erasable(args, ctx)
    result = await _rights("erase_customer", ctx, person.id, actor=_actor(ctx))
    # the providers' copies (Twilio's records, werkbot's Telegram messages to staff) too
    await _rights("schedule_scrub", ctx, [], result.provider_ids)
    await ctx.reply(ctx.t("office.erased", person=person.id))


@commands.command("staff", aliases=("mitarbeiter", "team"), roles=ADMIN_OFFICE,
                  help_key="office.help.staff")
async def staff_command(args: tuple[str, ...], ctx: Context) -> None:
    if args:
        raise UsageError("bad_value", value=" ".join(args), why=ctx.t("office.errors.no_args"))
    lines = [ctx.t("office.staff.title")]
    for staff in sorted(ctx.settings.staff, key=lambda s: s.id):
        roles = ", ".join(ctx.t(f"office.roles.{r}") for r in staff.roles) or "–"
        channels = ", ".join(a.channel for a in staff_addresses(staff)) or "–"
        lines.append(ctx.t("office.staff.line", id=staff.id, name=staff.name or staff.id,
                           roles=roles, channels=channels))
    await ctx.reply("\n".join(lines))


@commands.command("close", aliases=("schliessen", "schließen"), roles=ADMIN_OFFICE,
                  help_key="office.help.close")
async def close_command(args: tuple[str, ...], ctx: Context) -> None:
    person = await resolve_person(ctx, one_person_arg(args, ctx.t("office.what.person")))
    conv = await ctx.repo(ConversationsRepo).latest_for_person(person.id)
    if conv is None or conv.status == CLOSED:
        raise UsageError("office.errors.no_open_conversation", person=args[0])
    conv.status, conv.closed_at = CLOSED, ctx.clock.now()
    staff_id = ctx.person.staff_id if ctx.person and ctx.person.staff_id else ""
    conv.closed_by = staff_id
    await ctx.reply(ctx.t("office.closed", person=person.id))
