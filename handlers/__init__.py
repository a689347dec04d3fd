"""werkbot's handlers: one router per feature, their order fixed here.

First match wins, so the order is the policy:

0. groups: Telegram groups other than the office's are not customers (one notice, nothing
   kept);
1. office replies: messages in the office's forum group and staff replies to forwarded
   customer messages (they must never meet the consent gate or the menu);
2. staff commands and their confirmations (staff only);
3. emergency: safety advice and the on-call number come before anything else, even
   before consent (vital interests), plus staff acknowledgements;
3a. identity: a Telegram chat joining a person (`/start <link>`, the own contact) and
   the personal Telegram link on request, before the consent gate could hold them;
4. consent words (yes / no / other ways / stop), yielding to a pending erasure's `ja`;
5. data-subject rights (export, erasure): open to everyone, consented or not;
6. the consent gate: holds whatever a customer without consent writes;
7. the menu, 8. job photos and `#code` notes;
9. other plug-ins' routers (`Plugin.routers`): what the features above leave, only ever
   from someone the consent gate let through;
10. the office inbox;
11. the fallback that answers anything left: customers with the menu, staff with a hint.

`plugin` is the entry point `werkbot.plugins:handlers`: the bundle and `werkbot
privacy-report`.
"""

from __future__ import annotations

from werkbot.bot.hooks import hooks
from werkbot.bot.plugins import HandlerBundle, Plugin
from werkbot.bot.router import Router
from werkbot.bot.services import Services
from werkbot.bot.settings import Settings
from werkbot.handlers import (
    admin,
    consent,
    emergency,
    groups,
    identity,
    jobs,
    menu,
    office,
    office_web,
    rights,
)
from werkbot.handlers.commands import commands
from werkbot.handlers.emergency.detect import is_emergency

__all__ = ["admin", "build_bundle", "build_root", "identity", "plugin", "setup"]


def build_root(extensions: Router | None = None) -> Router:
    """The tree in the order above; `extensions`: where other plug-ins' routers go."""
    root = Router("root")
    for router in (
        groups.router,
        office.replies_router,
        commands.router,
        emergency.router,
        identity.router,
        consent.words_router(yield_to=(rights.erasure_pending,)),
        rights.router,
        consent.gate,
        menu.router,
        jobs.router,
        *([extensions] if extensions is not None else []),
        office.router,
        menu.fallback,
    ):
        root.include_router(router)
    return root


async def setup(services: Services) -> None:
    """Start-up work of the features, in dependency order."""
    await consent.setup(services)
    await rights.setup(services)
    hooks(services, consent.ON_GRANTED).add("emergency", emergency.on_consent_granted)
    for feature in (jobs, office, office_web):
        feature.register(services)


def build_bundle(settings: Settings) -> HandlerBundle:
    """The handler bundle of werkbot's plug-in `handlers`."""
    del settings
    extensions = Router("plug-ins")
    return HandlerBundle(router=build_root(extensions), policy=consent.build_policy,
                         setup=setup, routes=[*rights.routes, *office_web.routes],
                         seed_demo=jobs.seed_demo, unthrottled=is_emergency,
                         command_names=commands.names, extensions=extensions)


plugin = Plugin(name="handlers", handlers=build_bundle, cli=rights.register_cli)
