"""Plug-in points other features use: exporters, erasers, signing hooks, provider erasers.

Features register explicitly at import time of their own module (no scanning):

    exporters.add("jobs", export_jobs)        # async (session, person_id) -> JSON data
    erasers.add("jobs", erase_jobs)           # async (session, services, person_id) -> None
    needles.add("jobs", job_needles)          # async (session, person_id) -> list[str]
    signing_hooks.add("job", on_job_signed)   # async (ctx, request) -> None, after signing

Provider erasers (a channel's copies of messages, e.g. Twilio's) are services: the wiring
provides `PROVIDER_ERASERS` with one `ProviderEraser` per channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.adapter import ProviderEraser as CoreProviderEraser
from werkbot.bot.context import Context
from werkbot.bot.services import ServiceKey, Services

if TYPE_CHECKING:
    from werkbot.handlers.rights.models import SigningRequest

F = TypeVar("F")

Exporter = Callable[[AsyncSession, int], Awaitable[Any]]
Eraser = Callable[[AsyncSession, Services, int], Awaitable[None]]
# Texts about the person that staff typed elsewhere (a job's title and site): erasure
# also removes the rows that repeat them (the fitter's notification, audit lines).
NeedleSource = Callable[[AsyncSession, int], Awaitable[list[str]]]
SigningHook = Callable[[Context, "SigningRequest"], Awaitable[None]]


class Registry(Generic[F]):
    """Named callbacks in registration order; a name is registered once."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._items: dict[str, F] = {}

    def add(self, name: str, fn: F) -> F:
        if name in self._items and self._items[name] is not fn:
            raise ValueError(f"{self._what} {name!r} registered twice")
        self._items[name] = fn
        return fn

    def remove(self, name: str) -> None:
        self._items.pop(name, None)

    def get(self, name: str) -> F | None:
        return self._items.get(name)

    def items(self) -> Iterator[tuple[str, F]]:
        return iter(list(self._items.items()))


exporters: Registry[Exporter] = Registry("exporter")
erasers: Registry[Eraser] = Registry("eraser")
needles: Registry[NeedleSource] = Registry("needle source")
signing_hooks: Registry[SigningHook] = Registry("signing hook")


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


class ProviderErasers:
    """The provider erasers by channel name ("whatsapp", "sms", ...)."""

    def __init__(self) -> None:
        self.by_channel: dict[str, ProviderEraser] = {}

    def add(self, channel: str, eraser: ProviderEraser) -> None:
        self.by_channel[channel] = eraser


class AdapterEraser:
    """An adapter's `erase_messages` as a `ProviderEraser` (busy ids raise ProviderBusy)."""

    def __init__(self, erase: CoreProviderEraser) -> None:
        self._erase = erase

    async def erase(self, message_ids: Sequence[str]) -> None:
        remaining = await self._erase(message_ids)
        if remaining:
            raise ProviderBusy(remaining)


PROVIDER_ERASERS = ServiceKey("rights.provider_erasers", ProviderErasers)


def provider_erasers(services: Services) -> ProviderErasers:
    try:
        return services.get(PROVIDER_ERASERS)
    except LookupError:
        found = ProviderErasers()
        services.provide(PROVIDER_ERASERS, found)
        return found
