"""How channels and handlers plug in: one entry-point group, `werkbot.plugins`.

A distribution declares each plug-in in its `pyproject.toml`:

    [project.entry-points."werkbot.plugins"]
    echo = "werkbot_echo_channel:plugin"

The entry point names a `Plugin`: the config section it owns (a dataclass; the table
`[echo]` is validated like werkbot's own sections), the adapters it builds, and
optionally web routes, handler routers, the handler bundle or CLI subcommands.
werkbot's own sandbox, Twilio, Telegram and handlers are plug-ins declared the same way
in its own `pyproject.toml`. `bot` never imports `adapters` or `handlers`: explicit declaration,
no module scanning.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol

from aiohttp import web

from werkbot.bot.adapter import Adapter
from werkbot.bot.context import Context
from werkbot.bot.events import Event
from werkbot.bot.router import Router
from werkbot.bot.services import DeliveryPolicy, Services
from werkbot.bot.settings import BUILT_IN_SECTIONS, Settings

PLUGIN_GROUP = "werkbot.plugins"



class SubCommands(Protocol):
    """What `Plugin.cli` adds its subcommands to (`werkbot`'s argparse subparsers)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


@dataclass
class HandlerBundle:
    """What the handlers contribute: the router tree and the hooks around it."""

    router: Router
    policy: Callable[[Services], DeliveryPolicy] | None = None
    setup: Callable[[Services], Awaitable[None]] | None = None
    routes: Sequence[web.AbstractRouteDef] = ()  # pages such as /consent/{token}
    seed_demo: Callable[[Services], Awaitable[None]] | None = None
    # Events flood protection never holds back (an emergency, whoever floods).
    unthrottled: Callable[[Event, Context], bool] | None = None
    # The command names and aliases the handlers answer, read when a channel needs them
    # (a Telegram plug-in claims `/name ...` for werkbot); commands register at import.
    command_names: Callable[[], Iterable[str]] = tuple
    # Where other plug-ins' routers go in the tree: the bundle places it, so its order
    # (what the consent gate holds first) stays its own. None: it takes no routers.
    extensions: Router | None = None


@dataclass(frozen=True)
class Plugin:
    """What one `werkbot.plugins` entry point names; `name` is the entry point's name.

    `section`: a dataclass whose fields all have defaults; the config table `[<name>]`
    (and `WERKBOT_<NAME>__<KEY>`) fills it, read back with `settings.section(kind)`.
    `adapters`: the channels it builds from the settings (none when switched off).
    `routes`: further web routes. `routers`: handlers of its own, included where the
    handler bundle places them (`HandlerBundle.extensions`; werkbot's: after the consent
    gate, the menu and job intake, before the office inbox). `handlers`: the handler
    bundle (exactly one installed plug-in has one: werkbot's own). `cli`: adds
    subcommands to `werkbot`.
    """

    name: str
    section: type[Any] | None = None
    adapters: Callable[[Settings], Sequence[Adapter]] | None = None
    routes: Callable[[Settings], Sequence[web.AbstractRouteDef]] | None = None
    routers: Callable[[Settings], Sequence[Router]] | None = None
    handlers: Callable[[Settings], HandlerBundle] | None = None
    cli: Callable[[SubCommands], None] | None = None
    distribution: str = ""  # who declared it, filled in when loaded

    def __post_init__(self) -> None:
        if self.section is None:
            return
        if not is_dataclass(self.section):
            raise TypeError(f"plug-in {self.name!r}: section must be a dataclass")
        bare = [f.name for f in fields(self.section)
                if f.default is MISSING and f.default_factory is MISSING]
        if bare:  # werkbot must start with the plug-in installed and its table absent
            raise TypeError(f"plug-in {self.name!r}: section fields without a default: "
                            + ", ".join(bare))


@dataclass
class Plugins:
    """What the installed plug-ins built for one configuration."""

    adapters: list[Adapter]
    bundle: HandlerBundle
    names: list[str] = field(default_factory=list)  # the adapters' channel names
    routes: list[web.AbstractRouteDef] = field(default_factory=list)


@cache
def declared_plugins() -> tuple[Plugin, ...]:
    """Every installed plug-in, by name; loaded once per process."""
    found: dict[str, Plugin] = {}
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        plugin = ep.load()
        where = f"entry point {PLUGIN_GROUP}:{ep.name} ({ep.value})"
        if not isinstance(plugin, Plugin):
            raise TypeError(f"{where} names a {type(plugin).__name__}, not a Plugin")
        if plugin.name != ep.name:
            raise ValueError(f"{where} names the plug-in {plugin.name!r}")
        if ep.name in found:
            raise ValueError(f"{where}: the plug-in {ep.name!r} is declared twice")
        if plugin.section is not None and ep.name in BUILT_IN_SECTIONS:
            raise ValueError(f"{where}: [{ep.name}] is one of werkbot's own sections")
        dist = ep.dist
        label = f"{dist.name} {dist.version}" if dist is not None else ""
        found[ep.name] = Plugin(**{f.name: getattr(plugin, f.name) for f in fields(plugin)
                                   if f.name != "distribution"}, distribution=label)
    return tuple(found.values())


def plugin_sections() -> dict[str, type[Any]]:
    """The config sections the installed plug-ins declare, by table name."""
    return {p.name: p.section for p in declared_plugins() if p.section is not None}


def load_plugins(settings: Settings) -> Plugins:
    """Build the enabled adapters, the web routes and the handler bundle, with the other
    plug-ins' routers in the bundle's place for them."""
    plugins = declared_plugins()
    adapters = [a for p in plugins if p.adapters for a in p.adapters(settings)]
    routes = [r for p in plugins if p.routes for r in p.routes(settings)]
    bundles = [p.handlers for p in plugins if p.handlers]
    if len(bundles) != 1:
        raise RuntimeError(f"expected one '{PLUGIN_GROUP}' plug-in with handlers, "
                           f"found {len(bundles)}")
    bundle = bundles[0](settings)
    for plugin in plugins:
        for router in plugin.routers(settings) if plugin.routers else ():
            if bundle.extensions is None:
                raise RuntimeError(f"plug-in {plugin.name!r} brings handler routers, and "
                                   "the handler bundle has no place for them")
            bundle.extensions.include_router(router)
    return Plugins(adapters=adapters, bundle=bundle, names=[a.name for a in adapters],
                   routes=routes)
