"""The rights feature's plug-in points: exporters, erasers, needle sources, signing hooks,
provider erasers (the mechanism: bot/hooks.py, one set per app).

Features register at start-up, from their setup:

    hooks(services, EXPORTERS).add("jobs", export_jobs)   # async (session, person_id) -> JSON
    hooks(services, ERASERS).add("jobs", erase_jobs)      # async (session, services, person_id)
    hooks(services, NEEDLES).add("jobs", job_needles)     # async (session, person_id) -> [str]
    hooks(services, SIGNING_HOOKS).add("job", on_signed)  # async (ctx, request), after signing

Provider erasers (a channel's copies of messages, e.g. Twilio's) are the adapters
themselves (`bot.adapter.ProviderEraser`), registered by channel name by `rights.setup`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.adapter import ProviderEraser
from werkbot.bot.context import Context
from werkbot.bot.hooks import HookKey
from werkbot.bot.services import Services

if TYPE_CHECKING:
    from werkbot.handlers.rights.models import SigningRequest

Exporter = Callable[[AsyncSession, int], Awaitable[Any]]
Eraser = Callable[[AsyncSession, Services, int], Awaitable[None]]
# Texts about the person that staff typed elsewhere (a job's title and site): erasure
# also removes the rows that repeat them (the fitter's notification, audit lines).
NeedleSource = Callable[[AsyncSession, int], Awaitable[list[str]]]
SigningHook = Callable[[Context, "SigningRequest"], Awaitable[None]]


EXPORTERS: HookKey[Exporter] = HookKey("rights.exporters", "exporter")
ERASERS: HookKey[Eraser] = HookKey("rights.erasers", "eraser")
NEEDLES: HookKey[NeedleSource] = HookKey("rights.needles", "needle source")
SIGNING_HOOKS: HookKey[SigningHook] = HookKey("rights.signing_hooks", "signing hook")
PROVIDER_ERASERS: HookKey[ProviderEraser] = HookKey("rights.provider_erasers",
                                                    "provider eraser")  # by channel name
