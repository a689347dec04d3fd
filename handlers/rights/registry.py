"""The rights feature's plug-in points: exporters, erasers, needle sources, signing hooks,
provider erasers (the mechanism: bot/hooks.py, one set per app).

Features register at start-up, from their setup:

    hooks(services, EXPORTERS).add("jobs", export_jobs)   # async (session, person_id) -> JSON
    hooks(services, ERASERS).add("jobs", erase_jobs)      # async (session, services, person_id)
    hooks(services, NEEDLES).add("jobs", job_needles)     # async (session, person_id) -> [str]
    hooks(services, SIGNING_HOOKS).add("job", on_signed)  # async (ctx, request), after signing

Provider erasers (a channel's copies of messages, e.g. Twilio's) are registered by channel
name by `rights.setup` for every adapter that can delete them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.adapter import ProviderEraser as CoreProviderEraser
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


class ProviderEraser(Protocol):
    """Deletes a provider's own copies of messages (and their media) by provider id.

    The Twilio adapter implements it with `DELETE /2010-04-01/Accounts/{sid}/Messages/
    {MessageSid}.json` per id (which also deletes the message's media); a message still in
    flight cannot be deleted yet and should raise `ProviderBusy`, so werkbot tries again.
    """

    async def erase(self, message_ids: Sequence[str]) -> None: ...


class ProviderBusy(Exception):
    """Some messages could not be deleted yet (still being delivered); try again later."""

    def __init__(self, remaining: Sequence[str]) -> None:
        super().__init__(f"{len(remaining)} messages not deletable yet")
        self.remaining = list(remaining)


class AdapterEraser:
    """An adapter's `erase_messages` as a `ProviderEraser` (busy ids raise ProviderBusy)."""

    def __init__(self, erase: CoreProviderEraser) -> None:
        self._erase = erase

    async def erase(self, message_ids: Sequence[str]) -> None:
        remaining = await self._erase(message_ids)
        if remaining:
            raise ProviderBusy(remaining)


EXPORTERS: HookKey[Exporter] = HookKey("rights.exporters", "exporter")
ERASERS: HookKey[Eraser] = HookKey("rights.erasers", "eraser")
NEEDLES: HookKey[NeedleSource] = HookKey("rights.needles", "needle source")
SIGNING_HOOKS: HookKey[SigningHook] = HookKey("rights.signing_hooks", "signing hook")
PROVIDER_ERASERS: HookKey[ProviderEraser] = HookKey("rights.provider_erasers",
                                                    "provider eraser")  # by channel name
