"""werkbot in an existing aiogram 3 bot: a `Router` the host's `Dispatcher` includes.

    werkbot = EmbeddedWerkbot(load_settings())
    dp = Dispatcher()
    dp.include_router(werkbot_router(werkbot))   # first, before the host's own routers
    dp.include_router(host_router)
    dp.startup.register(werkbot.start)
    dp.shutdown.register(werkbot.stop)

The router's handlers match only the updates werkbot claims (the rule in
`adapters.telegram.claim`: werkbot's buttons, words, commands and replies); every other
update falls through to the host's routers. aiogram tries a dispatcher's own handlers
before its routers, so handlers registered directly on `dp.message` run first: keep those
for updates werkbot does not claim, or register them on a router included after this one.
Block notices (`my_chat_member`) are recorded and still reach the host.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.types import TelegramObject, Update

from werkbot.adapters.telegram.claim import Verdict
from werkbot.adapters.telegram.client import freeze_heap_once
from werkbot.adapters.telegram.embed import EmbeddedWerkbot

__all__ = ["EmbeddedWerkbot", "werkbot_router"]


def werkbot_router(werkbot: EmbeddedWerkbot, name: str = "werkbot") -> Router:
    """A router that hands werkbot's updates to werkbot and lets the rest through."""
    freeze_heap_once()
    router = Router(name=name)

    async def claimed(event: TelegramObject, event_update: Update) -> bool | dict[str, Any]:
        # Telegram's own JSON shape ("from", unix dates) for the one shared parser.
        data = event_update.model_dump(mode="json", exclude_none=True, by_alias=True)
        verdict = werkbot.verdict(data)
        if verdict is Verdict.HOST:
            return False
        if verdict is Verdict.OBSERVE:
            await werkbot.adapter.accept([data])
            return False  # recorded; the host's handlers still see it
        return {"werkbot_update": data}

    async def handle(event: TelegramObject, werkbot_update: dict[str, Any]) -> None:
        await werkbot.adapter.accept([werkbot_update])

    for observer in (router.message, router.callback_query, router.my_chat_member):
        observer.register(handle, claimed)
    return router
