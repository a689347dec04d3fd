"""The consent feature's plug-in points (the mechanism: bot/hooks.py, one set per app).

- `ON_GRANTED`: `await hook(ctx)` in the customer's context right after a chat consent was
  recorded and the held messages were released (same transaction), e.g. the emergency
  feature sending the details of an open incident to the fitter.
- `KEEP_MEDIA`: `await keep(session, media_ids)` from the retention sweep; returns the ids
  still needed (photos of an open job), which the sweep then leaves alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.context import Context
from werkbot.bot.hooks import HookKey

GrantHook = Callable[[Context], Awaitable[None]]
MediaKeeper = Callable[[AsyncSession, Collection[int]], Awaitable[Collection[int]]]

ON_GRANTED: HookKey[GrantHook] = HookKey("consent.on_granted", "grant hook")
KEEP_MEDIA: HookKey[MediaKeeper] = HookKey("consent.keep_media", "media keeper")
