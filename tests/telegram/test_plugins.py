"""The plug-ins: werkbot inside a host's real aiogram Dispatcher and real PTB Application.

The host bot has its own `/start` and a catch-all echo; werkbot takes only its words and
buttons. Replies come from werkbot's real workers, so the tests wait for the fake Bot
API to record them (event-driven, with a safety time-out).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import Message
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from tests.services import free_port
from tests.telegram.conftest import TOKEN
from tests.telegram.fake_bot_api import Call, FakeBotAPI
from tests.telegram.helpers import blocked_update, stored_events, text_update
from werkbot.adapters.telegram.aiogram_plugin import werkbot_router
from werkbot.adapters.telegram.claim import ClaimRule, Verdict
from werkbot.adapters.telegram.embed import EmbeddedWerkbot
from werkbot.adapters.telegram.ptb_plugin import attach
from werkbot.bot.clock import FrozenClock
from werkbot.bot.plugins import Plugins
from werkbot.bot.settings import Settings
from werkbot.bot.texts import Texts
from werkbot.handlers import build_bundle
from werkbot.handlers.commands import commands

HOST_START = "Hallo vom Host-Bot"
MENU = "Willkommen bei Sanitär Maier GmbH"
CONSENT = "brauchen wir Ihre Einwilligung"


@pytest.fixture
async def werkbot(make_tg_settings: Callable[..., Settings], clock: FrozenClock
                  ) -> AsyncIterator[EmbeddedWerkbot]:
    settings = make_tg_settings()
    settings = replace(settings, server=replace(settings.server, port=free_port()))
    embedded = EmbeddedWerkbot(settings, clock=clock, plugins=Plugins(
        adapters=[], bundle=build_bundle(settings)))
    await embedded.start()
    yield embedded
    await embedded.stop()


def texts(calls: list[Call]) -> list[str]:
    return [str(c.params["text"]) for c in calls]


async def test_embedded_werkbot_serves_its_pages(werkbot: EmbeddedWerkbot) -> None:
    port = werkbot.settings.server.port
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{port}/healthz") as response:
        assert response.status == 200
        assert "telegram" in (await response.json())["channels"]


async def test_aiogram_host_keeps_its_start_while_werkbot_answers_hilfe(
        werkbot: EmbeddedWerkbot, fake_api: FakeBotAPI) -> None:
    host = Router(name="host")
    echoed: list[str] = []

    @host.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(HOST_START)

    @host.message(F.text)
    async def echo(message: Message) -> None:
        echoed.append(message.text or "")
        await message.answer(f"echo: {message.text}")

    dp = Dispatcher()
    dp.include_router(werkbot_router(werkbot))
    dp.include_router(host)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake_api.url)))
    try:
        for update_id, said in ((1, "/start"), (2, "hilfe"), (3, "Wann kommt ihr?")):
            await dp.feed_webhook_update(bot, text_update(update_id, said))
        sent = await fake_api.wait_for("sendMessage", 4)
    finally:
        await bot.session.close()
    said = texts(sent)
    assert len(said) == 4, said  # one answer each, none twice, none from both sides
    assert said.count(HOST_START) == 1  # the host's /start, untouched
    assert said.count("echo: Wann kommt ihr?") == 1
    assert sum(CONSENT in t for t in said) == 1  # werkbot's consent dialogue, first contact
    assert sum(MENU in t for t in said) == 1
    assert echoed == ["Wann kommt ihr?"]  # werkbot's word never reached the host's echo
    assert [e.id for e in await stored_events(werkbot)] == ["telegram:2"]


async def test_aiogram_werkbot_button_is_answered_and_host_buttons_are_not_taken(
        werkbot: EmbeddedWerkbot, fake_api: FakeBotAPI,
        updates: dict[str, dict[str, Any]]) -> None:
    host = Router(name="host")
    host_presses: list[str] = []

    @host.callback_query()
    async def pressed(query: Any) -> None:
        host_presses.append(query.data)

    dp = Dispatcher()
    dp.include_router(werkbot_router(werkbot))
    dp.include_router(host)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake_api.url)))
    ours = updates["callback_query"]
    ours["callback_query"]["data"] = "wb:hilfe"
    theirs = {"update_id": 5, "callback_query": {**ours["callback_query"], "id": "host-q",
                                                 "data": "host:order"}}
    try:
        await dp.feed_webhook_update(bot, ours)
        await dp.feed_webhook_update(bot, theirs)
        sent = await fake_api.wait_for("sendMessage", 1)
    finally:
        await bot.session.close()
    assert any(CONSENT in t or MENU in t for t in texts(sent))  # werkbot answered its button
    assert host_presses == ["host:order"]
    assert [c.params["callback_query_id"] for c in fake_api.calls_of("answerCallbackQuery")] \
        == ["4382bfdwdsb323b2d9"]


async def test_ptb_host_keeps_its_start_while_werkbot_answers_hilfe(
        werkbot: EmbeddedWerkbot, fake_api: FakeBotAPI) -> None:
    echoed: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(HOST_START)

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        echoed.append(update.effective_message.text or "")
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app = (Application.builder().token(TOKEN).base_url(fake_api.url + "/bot")
           .base_file_url(fake_api.url + "/file/bot").updater(None).build())
    attach(app, werkbot)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    await app.initialize()
    try:
        assert fake_api.methods()[0] == "getMe"
        for update_id, said in ((11, "/start"), (12, "HILFE"), (13, "Wann kommt ihr?")):
            await app.process_update(Update.de_json(text_update(update_id, said), app.bot))
        await app.process_update(Update.de_json(blocked_update(14), app.bot))
        sent = await fake_api.wait_for("sendMessage", 4)
    finally:
        await app.shutdown()
    said = texts(sent)
    assert len(said) == 4, said  # one answer each, none twice, none from both sides
    assert said.count(HOST_START) == 1  # the host's /start, untouched
    assert said.count("echo: Wann kommt ihr?") == 1
    assert sum(CONSENT in t for t in said) == 1  # werkbot's consent dialogue, first contact
    assert sum(MENU in t for t in said) == 1
    assert echoed == ["Wann kommt ihr?"]
    assert [e.id for e in await stored_events(werkbot)] == ["telegram:12", "telegram:14"]


def test_claim_rule_takes_werkbot_words_and_leaves_the_rest(tg_settings: Settings) -> None:
    rule = ClaimRule.from_texts(Texts.load(Path(tg_settings.texts_dir)), office_chat=-100999,
                                bot_username="fitter_test_bot", commands=commands.names())

    def verdict(text: str, chat_id: int = 7001) -> Verdict:
        return rule.verdict(text_update(1, text, chat_id=chat_id))

    claimed = ["hilfe", "/help", "Ja", "stop", "/job new Bad @karl", "Rohr kaputt, NOTFALL!",
               "Foto zu #A-1042", "irgendwas im Büro"]
    chats = [7001] * 7 + [-100999]
    assert [verdict(t, c) for t, c in zip(claimed, chats, strict=True)] == [Verdict.CLAIM] * 8
    for text in ("/start", "start", "/start job_42", "ja bitte morgen", "/help@other_bot",
                 "Wann kommt ihr?"):
        assert verdict(text) is Verdict.HOST, text
    for text in ("hilfe", "Rohr kaputt, NOTFALL!", "ja"):  # a host's group stays the host's
        assert verdict(text, chat_id=-100555) is Verdict.HOST, text
    assert rule.verdict(blocked_update(2)) is Verdict.OBSERVE
