"""Staff commands: one registry for names, German aliases, roles, help, confirmation.

`@commands.command("oncall", aliases=("bereitschaft",), roles=ADMIN_OFFICE,
help_key="commands.oncall")` registers a handler `(args, ctx) -> None`. The registry's
router answers only staff (customers typing `/job` get the menu, as anyone else would);
a command matches with or without its leading slash. It checks roles (a refusal is
answered and audited), turns `UsageError` into a message saying what was wrong plus the
command's help, asks destructive commands for confirmation (`ja`/`yes` runs them) and
audits every run with who, what and when.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, CommandEvent, Event, TextEvent
from werkbot.bot.replies import Choice, ChoicesReply
from werkbot.bot.router import Filter, Router
from werkbot.handlers.filters import spoken
from werkbot.handlers.staff_roles import is_staff, staff_of

log = logging.getLogger(__name__)

ADMIN = frozenset({"admin"})
ADMIN_OFFICE = frozenset({"admin", "office"})
EVERY_ROLE = frozenset({"admin", "office", "fitter"})
CONFIRM_FOR = timedelta(minutes=5)
CommandHandler = Callable[[tuple[str, ...], Context], Awaitable[None]]
# Runs before a confirmation is asked: raises UsageError when the command cannot run
# (a job or person that does not exist), so nobody confirms what then fails.
Precheck = Callable[[tuple[str, ...], Context], Awaitable[None]]


class UsageError(Exception):
    """Bad arguments: `key` is a text key (plain names mean `commands.errors.<key>`)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class TextKey(str):
    """A `UsageError` value that is a text key: shown in the reader's language, so code
    that has no context at hand (a parser) never writes words of its own."""

    values: dict[str, object]

    def __new__(cls, key: str, **values: object) -> TextKey:
        made = super().__new__(cls, key)
        made.values = values
        return made


@dataclass(frozen=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]
    roles: frozenset[str]
    help_key: str
    handler: CommandHandler
    confirm: Callable[[tuple[str, ...]], bool]
    precheck: Precheck | None = None


def _never(args: tuple[str, ...]) -> bool:
    return False


class Commands:
    """The registry; `router` is the Router the root includes."""

    def __init__(self) -> None:
        self.specs: dict[str, CommandSpec] = {}
        self.router = Router("commands")
        self.router.on((ChoiceEvent, TextEvent, CommandEvent),
                       is_staff & Filter(self._pending_answer))(self._confirmed)
        self.router.on((CommandEvent, TextEvent), is_staff & Filter(self.parse))(self._run)

    def command(self, name: str, *, aliases: tuple[str, ...] = (),
                roles: frozenset[str] = ADMIN, help_key: str,
                confirm: Callable[[tuple[str, ...]], bool] = _never,
                precheck: Precheck | None = None
                ) -> Callable[[CommandHandler], CommandHandler]:
        def register(handler: CommandHandler) -> CommandHandler:
            spec = CommandSpec(name, aliases, roles, help_key, handler, confirm, precheck)
            for key in (name, *aliases):
                if key in self.specs:
                    raise ValueError(f"command {key!r} registered twice")
                self.specs[key] = spec
            return handler

        return register

    def help_for(self, spec: CommandSpec, ctx: Context) -> str:
        """The command's help for the sender: a fitter alone (no office or admin role)
        gets `<help_key>_fitter` where one exists, listing only what a fitter may use."""
        staff = staff_of(ctx)
        roles = set(staff.roles) if staff else set()
        if not roles & ADMIN_OFFICE:
            with suppress(KeyError):
                return ctx.texts.get(f"{spec.help_key}_fitter", ctx.lang)
        return ctx.t(spec.help_key)

    def names(self) -> frozenset[str]:
        """Every registered command name and alias (what the Telegram plug-ins claim)."""
        return frozenset(self.specs)

    def visible_to(self, roles: set[str]) -> list[CommandSpec]:
        unique = {spec.name: spec for spec in self.specs.values()}
        return [s for s in unique.values() if s.roles & roles]

    def parse(self, event: Event, ctx: Context) -> dict[str, object] | None:
        """The command a staff message names with its arguments, or None (the router's
        filter: its values reach the handler)."""
        if isinstance(event, CommandEvent):
            name, args = event.name, event.args
        elif isinstance(event, TextEvent):
            try:
                words = shlex.split(event.text.strip().lstrip("/"))
            except ValueError:
                words = event.text.strip().lstrip("/").split()
            if not words:
                return None
            name, args = words[0].lower(), tuple(words[1:])
        else:
            return None
        if isinstance(event, CommandEvent) and event.text:
            with suppress(ValueError):  # unbalanced quotes: keep the plain split
                args = tuple(shlex.split(event.text.strip())[1:])
        spec = self.specs.get(name)
        return None if spec is None else {"command": spec, "args": args, "typed": name}

    def _pending_answer(self, event: Event, ctx: Context) -> bool:
        pending = ctx.state.get("confirm")
        if not isinstance(pending, dict):
            return False
        return spoken(event) in ctx.texts.words("words.yes") | ctx.texts.words("words.no")

    async def _run(self, event: Event, ctx: Context) -> None:
        spec: CommandSpec = ctx.match["command"]
        args: tuple[str, ...] = ctx.match["args"]
        typed = str(ctx.match.get("typed", spec.name))  # shown back as the sender wrote it
        staff = staff_of(ctx)
        actor = f"staff:{staff.id}" if staff else "unknown"
        roles = set(staff.roles) if staff else set()
        now = ctx.clock.now()
        if not roles & spec.roles:
            await ctx.audit.record(actor, f"refused:{spec.name}", now,
                                   subject=" ".join(args)[:200])
            await ctx.reply(ctx.t("commands.refused", command=typed))
            return
        if spec.confirm(args):
            if spec.precheck is not None and not await self._passes(spec, args, ctx):
                return
            ctx.state["confirm"] = {"command": spec.name, "args": list(args),
                                    "until": (now + CONFIRM_FOR).isoformat()}
            await ctx.reply(ChoicesReply(
                kind="command_confirm",
                text=ctx.t("commands.confirm", command=f"/{typed} {' '.join(args)}".strip()),
                choices=(Choice(ctx.t("commands.yes"), "ja"), Choice(ctx.t("commands.no"),
                                                                     "nein"))))
            return
        await self._execute(spec, args, ctx, actor)

    async def _confirmed(self, event: Event, ctx: Context) -> None:
        pending = ctx.state.pop("confirm")
        spec = self.specs.get(str(pending.get("command")))
        expired = datetime.fromisoformat(str(pending.get("until"))) < ctx.clock.now()
        if spoken(event) in ctx.texts.words("words.no") or spec is None or expired:
            await ctx.reply(ctx.t("commands.cancelled"))
            return
        staff = staff_of(ctx)
        await self._execute(spec, tuple(pending.get("args", [])), ctx,
                            f"staff:{staff.id}" if staff else "unknown")

    async def _passes(self, spec: CommandSpec, args: tuple[str, ...], ctx: Context) -> bool:
        assert spec.precheck is not None
        try:
            await spec.precheck(args, ctx)
        except UsageError as exc:
            await self._usage(spec, exc, ctx)
            return False
        return True

    async def _usage(self, spec: CommandSpec, exc: UsageError, ctx: Context) -> None:
        key = exc.key if "." in exc.key else f"commands.errors.{exc.key}"
        values = {name: ctx.t(v, **v.values) if isinstance(v, TextKey) else v
                  for name, v in exc.values.items()}
        await ctx.reply(ctx.t(key, **values) + "\n\n" + self.help_for(spec, ctx))

    async def _execute(self, spec: CommandSpec, args: tuple[str, ...], ctx: Context,
                       actor: str) -> None:
        try:
            await spec.handler(args, ctx)
        except UsageError as exc:
            await self._usage(spec, exc, ctx)
            return
        await ctx.audit.record(actor, spec.name, ctx.clock.now(), subject=" ".join(args)[:200])


commands = Commands()


@commands.command("help", aliases=("hilfe",), roles=EVERY_ROLE, help_key="commands.help")
async def staff_help(args: tuple[str, ...], ctx: Context) -> None:
    """Staff help lists the commands the sender's roles allow, with their help texts."""
    staff = staff_of(ctx)
    roles = set(staff.roles) if staff else set()
    lines = [ctx.t("commands.help_intro")]
    lines += [commands.help_for(spec, ctx) for spec in sorted(commands.visible_to(roles),
                                                                key=lambda s: s.name)]
    await ctx.reply("\n\n".join(lines))
