"""The plug-in claim follows the handlers: a command or word added is claimed with no
change to the Telegram adapter (which never imports the handlers)."""

from __future__ import annotations

from dataclasses import replace

from tests.services import free_port
from tests.telegram.helpers import text_update
from werkbot.adapters.telegram.claim import ClaimRule, Verdict
from werkbot.adapters.telegram.embed import EmbeddedWerkbot
from werkbot.bot.context import Context
from werkbot.bot.plugins import Plugins
from werkbot.bot.settings import Settings
from werkbot.bot.texts import Texts
from werkbot.handlers import build_bundle
from werkbot.handlers.commands import EVERY_ROLE, commands


def test_a_newly_registered_command_is_claimed_by_the_embedded_werkbot(
        tg_settings: Settings) -> None:
    settings = replace(tg_settings, server=replace(tg_settings.server, port=free_port()))
    stocktake = text_update(1, "/inventur Keller")
    assert EmbeddedWerkbot(settings, plugins=Plugins(adapters=[], bundle=build_bundle(
        settings)), run_workers=False, listen=False).verdict(stocktake) is Verdict.HOST

    @commands.command("inventur", aliases=("stocktake",), roles=EVERY_ROLE,
                      help_key="commands.help")
    async def count_stock(args: tuple[str, ...], ctx: Context) -> None: ...

    try:
        embedded = EmbeddedWerkbot(settings, plugins=Plugins(adapters=[], bundle=build_bundle(
            settings)), run_workers=False, listen=False)
    finally:
        for name in ("inventur", "stocktake"):
            commands.specs.pop(name)
    assert embedded.verdict(stocktake) is Verdict.CLAIM
    assert embedded.verdict(text_update(2, "/stocktake@other_bot")) is Verdict.HOST
    assert embedded.verdict(text_update(3, "/stocktake")) is Verdict.CLAIM
    assert embedded.verdict(text_update(4, "/job new Bad @karl")) is Verdict.CLAIM
    assert embedded.verdict(text_update(5, "/start")) is Verdict.HOST  # the host's own


def test_every_word_list_in_the_texts_is_claimed() -> None:
    texts = Texts({"de": {"words": {"help": ["hilfe"], "stocktake": ["inventur"],
                                    "stop_all": ["stop alles"], "emergency": ["notfall"]}},
                   "en": {"words": {"stocktake": ["stock count"]}}})
    rule = ClaimRule.from_texts(texts)

    for said in ("inventur", "Inventur", "/inventur", "stock count", "stop alles", "hilfe"):
        assert rule.verdict(text_update(1, said)) is Verdict.CLAIM, said
    for said in ("inventur bitte morgen", "Wann kommt ihr?"):
        assert rule.verdict(text_update(1, said)) is Verdict.HOST, said
