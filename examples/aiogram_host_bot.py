"""An existing aiogram 3 bot with werkbot added: the host keeps `/start` and its echo.

werkbot takes its own words, commands and buttons (`hilfe`, `ja`, `notfall`, its inline
buttons ...; the rule is in `werkbot.adapters.telegram.claim`); everything else reaches the
host's handlers as before. werkbot's pages and media links listen on
`server.host:server.port`.

Run (polling, the host's choice):
    WERKBOT_TELEGRAM__TOKEN=123:ABC python examples/aiogram_host_bot.py [--config FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import Message

from werkbot import EmbeddedWerkbot, load_settings, setup_logging, werkbot_router

host = Router(name="host")


@host.message(CommandStart())
async def start(message: Message) -> None:
    await message.answer("Hallo! Ich bin der Bot der Firma. Schreiben Sie HILFE für den Service.")


@host.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(f"Der Host-Bot hat gelesen: {message.text}")


async def main(config: Path | None) -> None:
    settings = load_settings(config)
    setup_logging(settings.server.log_level)
    werkbot = EmbeddedWerkbot(settings)
    dp = Dispatcher()
    dp.include_router(werkbot_router(werkbot))  # first: werkbot's words before the host's echo
    dp.include_router(host)
    dp.startup.register(werkbot.start)
    dp.shutdown.register(werkbot.stop)
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_base))
    bot = Bot(settings.telegram.token, session=session)
    await bot.delete_webhook()  # the host polls; werkbot neither polls nor sets a webhook
    await dp.start_polling(bot, allowed_updates=["message", "callback_query", "my_chat_member"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=None)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(parser.parse_args().config))
