"""The Telegram channel: an adapter on aiogram's Bot API client, and plug-ins for host bots.

`plugin` is the entry point `werkbot.plugins:telegram`: its `build(settings)` returns no
adapter when `telegram.token` is empty, and it never imports aiogram itself (the adapter
does, in `start()`), so a server without Telegram does not pay aiogram's memory.

Modules: `parse` (Update JSON to events), `adapter` (webhook, polling, sends),
`client` and `sender` (aiogram calls), `polling`, `memory`, `claim` (which updates the
plug-ins take), `embed` (werkbot's core inside a host process), `aiogram_plugin` and
`ptb_plugin`.
"""

from __future__ import annotations

from werkbot.bot.adapter import Adapter
from werkbot.bot.plugins import Plugin
from werkbot.bot.settings import Settings

__all__ = ["build", "plugin"]


def build(settings: Settings) -> list[Adapter]:
    """The Telegram adapter when a token is configured, else nothing."""
    if not settings.telegram.token:
        return []
    from werkbot.adapters.telegram.adapter import TelegramAdapter

    return [TelegramAdapter(settings)]


plugin = Plugin(name="telegram", adapters=build)  # its section is the built-in [telegram]
