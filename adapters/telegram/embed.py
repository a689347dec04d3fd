"""werkbot's core inside a host bot's process: the plug-ins' common part.

`EmbeddedWerkbot(settings)` builds the whole werkbot app (`create_app`: database,
workers, media links, pages) with the Telegram adapter in embedded mode: it neither polls
nor sets a webhook, because the host bot receives the updates. The app listens on
`server.host`/`server.port` (`web.AppRunner`) so media links, consent and export pages
work. `offer(update)` applies the claim rule (`adapters.telegram.claim`) and, when the
update is werkbot's, stores it through the adapter; the framework plug-ins only
translate their update objects to Telegram's JSON and stop or continue propagation.

    werkbot = EmbeddedWerkbot(load_settings())
    await werkbot.start()      # in the host's start-up hook
    ...
    await werkbot.stop()       # in its shutdown hook
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from werkbot.adapters.telegram.adapter import TelegramAdapter
from werkbot.adapters.telegram.claim import ClaimRule, Verdict
from werkbot.bot.clock import Clock
from werkbot.bot.plugins import Plugins, load_plugins
from werkbot.bot.server import create_app
from werkbot.bot.settings import Settings
from werkbot.bot.texts import Texts

log = logging.getLogger(__name__)


class EmbeddedWerkbot:
    """werkbot's app and embedded Telegram adapter, run inside a host bot."""

    def __init__(self, settings: Settings, *, plugins: Plugins | None = None,
                 clock: Clock | None = None, run_workers: bool = True, listen: bool = True,
                 host_commands: Iterable[str] = ("start",)) -> None:
        if not settings.telegram.token:
            raise ValueError("telegram.token: required to embed werkbot in a Telegram bot")
        self.settings = settings
        self.adapter = TelegramAdapter(settings, embedded=True, clock=clock)
        base = plugins or load_plugins(settings)
        # The entry point built a stand-alone Telegram adapter; ours replaces it (unstarted,
        # it never loaded aiogram nor touched Telegram).
        adapters = [a for a in base.adapters if a.name != self.adapter.name]
        self.plugins = Plugins(adapters=[*adapters, self.adapter], bundle=base.bundle,
                               names=[a.name for a in adapters] + [self.adapter.name],
                               routes=base.routes)
        self.app = create_app(settings, plugins=self.plugins, clock=clock,
                              run_workers=run_workers)
        self.rule = ClaimRule.from_texts(
            Texts.load(Path(settings.texts_dir)), commands=self.plugins.bundle.command_names(),
            office_chat=settings.telegram.office_chat,
            bot_username=settings.telegram.bot_username, host_commands=host_commands)
        self._listen = listen
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Open the database, start the workers and listen on `server.host:port`."""
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()  # runs create_app's start-up: migrations, workers, adapters
        self._runner = runner
        if self._listen:
            site = web.TCPSite(runner, self.settings.server.host, self.settings.server.port)
            await site.start()
            log.info("werkbot embedded; pages on port %d", self.settings.server.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> EmbeddedWerkbot:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def verdict(self, update: Mapping[str, Any]) -> Verdict:
        return self.rule.verdict(update, self.adapter.memory)

    async def offer(self, update: Mapping[str, Any]) -> Verdict:
        """Store the update if it is werkbot's; the verdict says whether the host sees it."""
        verdict = self.verdict(update)
        if verdict is not Verdict.HOST:
            await self.adapter.accept([update])
        return verdict
