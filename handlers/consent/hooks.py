"""What other features add to the consent dialogue, registered at start-up.

`consent_hooks(services)` returns the one `ConsentHooks` of the app (created on first
use). A feature's `setup` appends to it:

- `on_granted`: called as `await hook(ctx)` in the customer's context right after a
  chat consent was recorded and the held messages were released (same transaction),
  e.g. the emergency feature sending the details of an open incident to the fitter.
- `keep_media`: called by the retention sweep as `await keep(session, media_ids)`; returns
  the ids still needed (photos of an open job), which the sweep then leaves alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.context import Context
from werkbot.bot.services import ServiceKey, Services

GrantHook = Callable[[Context], Awaitable[None]]
MediaKeeper = Callable[[AsyncSession, Collection[int]], Awaitable[Collection[int]]]


@dataclass
class ConsentHooks:
    on_granted: list[GrantHook] = field(default_factory=list)
    keep_media: list[MediaKeeper] = field(default_factory=list)


HOOKS = ServiceKey("consent.hooks", ConsentHooks)


def consent_hooks(services: Services) -> ConsentHooks:
    """The app's consent hooks, created on first use."""
    try:
        return services.get(HOOKS)
    except LookupError:
        hooks = ConsentHooks()
        services.provide(HOOKS, hooks)
        return hooks
