"""How adapters and handlers plug in: declared entry points, loaded by name.

`bot` never imports `adapters` or `handlers`. The distribution declares them in
`pyproject.toml` under the entry-point groups `werkbot.adapters` (factories returning
the adapters a configuration enables) and `werkbot.handlers` (one factory returning a
`HandlerBundle`). Another distribution can add its own channel the same way: explicit
declaration, no module scanning.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from aiohttp import web

from werkbot.bot.adapter import Adapter
from werkbot.bot.context import Context
from werkbot.bot.events import Event
from werkbot.bot.router import Middleware, Router
from werkbot.bot.services import DeliveryPolicy, Services
from werkbot.bot.settings import Settings

ADAPTER_GROUP = "werkbot.adapters"
HANDLER_GROUP = "werkbot.handlers"


@dataclass
class HandlerBundle:
    """What the handlers contribute: the router tree and the hooks around it."""

    router: Router
    outer: Sequence[Middleware] = ()
    policy: Callable[[Services], DeliveryPolicy] | None = None
    setup: Callable[[Services], Awaitable[None]] | None = None
    routes: Sequence[web.AbstractRouteDef] = ()  # pages such as /consent/{token}
    seed_demo: Callable[[Services], Awaitable[None]] | None = None
    # Events flood protection never holds back (an emergency, whoever floods).
    unthrottled: Callable[[Event, Context], bool] | None = None


@dataclass
class Plugins:
    adapters: list[Adapter]
    bundle: HandlerBundle
    names: list[str] = field(default_factory=list)


AdapterFactory = Callable[[Settings], Sequence[Adapter]]
BundleFactory = Callable[[Settings], HandlerBundle]


def load_plugins(settings: Settings) -> Plugins:
    """Build the enabled adapters and the handler bundle from the declared entry points."""
    adapters: list[Adapter] = []
    names: list[str] = []
    for ep in sorted(entry_points(group=ADAPTER_GROUP), key=lambda e: e.name):
        factory: AdapterFactory = ep.load()
        made = list(factory(settings))
        adapters += made
        names += [a.name for a in made]
    bundles = list(entry_points(group=HANDLER_GROUP))
    if len(bundles) != 1:
        raise RuntimeError(f"expected one '{HANDLER_GROUP}' entry point, found {len(bundles)}")
    bundle_factory: BundleFactory = bundles[0].load()
    return Plugins(adapters=adapters, bundle=bundle_factory(settings), names=names)
