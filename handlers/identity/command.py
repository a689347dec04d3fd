"""`/person <person>` and `/person merge <a> <b>` (`/person zusammenführen`): staff's view
of a person's addresses, and joining two persons that are one customer.

A merge keeps `<a>`: every address and everything stored under `<b>` moves to `<a>` and
`<b>` is gone (`bot.identity.merge_persons`). It is checked before it is asked for (both
customers, not erased, not the same, no channel on which both have an address: consent
is per channel), then confirmed with `ja`, then checked again and audited
(`identity.merged`, subject `<a>`, detail `#<b> -> #<a>`). Roles: admin and office.
"""

from __future__ import annotations

from werkbot.bot.addresses import mask
from werkbot.bot.context import Context
from werkbot.bot.replies import Choice, ChoicesReply
from werkbot.bot.storage.models import Person
from werkbot.handlers.admin.person_lookup import resolve_person
from werkbot.handlers.commands import ADMIN_OFFICE, CONFIRM_FOR, UsageError, commands
from werkbot.handlers.identity.repo import IdentityRepo
from werkbot.handlers.staff_roles import staff_of

MERGE_WORDS = frozenset({"merge", "zusammenführen", "zusammenfuehren"})
CONFIRMED = "--confirmed"  # added to the arguments once staff said `ja`


@commands.command("person", aliases=("kontakt",), roles=ADMIN_OFFICE,
                  help_key="identity.help.person")
async def person_command(args: tuple[str, ...], ctx: Context) -> None:
    if not args:
        raise UsageError("missing", what=ctx.t("office.what.person"))
    if args[0].lower() in MERGE_WORDS:
        await _merge(args[1:], ctx)
        return
    if len(args) != 1:
        raise UsageError("bad_value", value=" ".join(args), why=ctx.t("identity.person.usage"))
    person = await resolve_person(ctx, args[0])
    await ctx.reply(await _describe(ctx, person))


async def _describe(ctx: Context, person: Person) -> str:
    rows = await ctx.people.addresses(person.id)
    listed = ", ".join(f"{row.channel}:{mask(row.address.partition(':')[2])}" for row in rows)
    return ctx.t("identity.person.show", person=person.id, kind=person.kind,
                 addresses=listed or "–", since=person.created_at.date().isoformat())


async def _merge(args: tuple[str, ...], ctx: Context) -> None:
    confirmed = bool(args) and args[-1] == CONFIRMED
    refs = args[:-1] if confirmed else args
    if len(refs) != 2:
        raise UsageError("missing", what=ctx.t("identity.person.two"))
    keep, gone = [await resolve_person(ctx, ref) for ref in refs]
    if keep.id == gone.id:
        raise UsageError("identity.person.same", person=refs[0])
    for person, ref in ((keep, refs[0]), (gone, refs[1])):
        if person.kind != "customer":
            raise UsageError("office.errors.staff_person", person=ref)
    clash = await ctx.repo(IdentityRepo).shared_channels(keep.id, gone.id)
    if clash:
        raise UsageError("identity.person.clash", a=keep.id, b=gone.id,
                         channels=", ".join(clash))
    if not confirmed:
        await _ask(ctx, keep, gone, refs)
        return
    await ctx.repo(IdentityRepo).merge(keep, gone)
    staff = staff_of(ctx)
    await ctx.audit.record(f"staff:{staff.id}" if staff else "staff", "identity.merged",
                           ctx.clock.now(), subject=f"person:{keep.id}",
                           detail=f"#{gone.id} -> #{keep.id}")
    await ctx.reply(ctx.t("identity.person.merged", a=keep.id, b=gone.id) + "\n"
                    + await _describe(ctx, keep))


async def _ask(ctx: Context, keep: Person, gone: Person, refs: tuple[str, ...]) -> None:
    """Ask once, showing both persons; `ja` runs the command again, confirmed."""
    until = ctx.clock.now() + CONFIRM_FOR
    ctx.state["confirm"] = {"command": "person",
                            "args": ["merge", *refs, CONFIRMED], "until": until.isoformat()}
    text = "\n".join((ctx.t("identity.person.confirm", a=keep.id, b=gone.id),
                      await _describe(ctx, keep), await _describe(ctx, gone)))
    await ctx.reply(ChoicesReply(kind="command_confirm", text=text, choices=(
        Choice(ctx.t("commands.yes"), "ja"), Choice(ctx.t("commands.no"), "nein"))))
