"""An existing python-telegram-bot (v22) bot with werkbot added in one early handler group.

The host keeps its `/start` and its echo; werkbot takes its own words, commands and
buttons (rule: `werkbot.adapters.telegram.claim`) and stops propagation only for those.
werkbot's pages and media links listen on `server.host:server.port`.

Run (polling, the host's choice):
    WERKBOT_TELEGRAM__TOKEN=123:ABC python examples/ptb_host_bot.py [--config FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from werkbot import EmbeddedWerkbot, attach, load_settings, setup_logging


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            "Hallo! Ich bin der Bot der Firma. Schreiben Sie HILFE für den Service.")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            f"Der Host-Bot hat gelesen: {update.effective_message.text}")


def build_application(config: Path | None) -> Application[Any, Any, Any, Any, Any, Any]:
    settings = load_settings(config)
    setup_logging(settings.server.log_level)
    werkbot = EmbeddedWerkbot(settings)

    async def post_init(_: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await werkbot.start()

    async def post_shutdown(_: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await werkbot.stop()

    base = settings.telegram.api_base.rstrip("/")
    app = (Application.builder().token(settings.telegram.token)
           .base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
           .post_init(post_init).post_shutdown(post_shutdown).build())
    attach(app, werkbot)  # group -1000: before every handler of the host
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=None)
    build_application(parser.parse_args().config).run_polling(
        allowed_updates=["message", "callback_query", "my_chat_member"])
