"""werkbot in an existing python-telegram-bot (v22) `Application`.

    werkbot = EmbeddedWerkbot(load_settings())
    app = Application.builder().token(TOKEN).post_init(start).post_shutdown(stop).build()
    attach(app, werkbot)                 # one early handler group
    app.add_handler(CommandHandler("start", host_start))   # the host's own handlers

`attach` adds one `TypeHandler(Update, ...)` in an early group (default -1000). For every
update it applies werkbot's claim rule (`adapters.telegram.claim`) without a database
round trip; an update werkbot claims is stored and `ApplicationHandlerStop` keeps it from
the host's handlers. Everything else runs through the host's handlers as before. The
handler blocks (it is not `block=False`): only a blocking handler can stop propagation.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from werkbot.adapters.telegram.claim import Verdict
from werkbot.adapters.telegram.embed import EmbeddedWerkbot

__all__ = ["EARLY_GROUP", "EmbeddedWerkbot", "attach"]
EARLY_GROUP = -1000


def attach(application: Application[Any, Any, Any, Any, Any, Any], werkbot: EmbeddedWerkbot,
           group: int = EARLY_GROUP) -> TypeHandler[Update, Any, None]:
    """Put werkbot in front of the host's handlers; returns the handler (to remove it)."""

    async def offer(update: Update, context: object) -> None:
        # PTB's to_dict() keeps enums; a JSON round trip gives Telegram's plain JSON.
        data = json.loads(update.to_json())
        if await werkbot.offer(data) is Verdict.CLAIM:
            raise ApplicationHandlerStop

    handler: TypeHandler[Update, Any, None] = TypeHandler(Update, offer)
    application.add_handler(handler, group=group)
    return handler
