"""Issue 5: how the consent words are understood: numbers on SMS, punctuation, English,
and yielding `ja` to another open question (the erasure confirmation)."""

from __future__ import annotations

from pathlib import Path

from tests.consent.conftest import (
    CUSTOMERS,
    OFFICE,
    consent_settings,
    emergency,
    got,
    office,
    tell,
)
from werkbot.bot.context import Context
from werkbot.bot.events import Event, TextEvent
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Filter, Router
from werkbot.bot.testing import Harness
from werkbot.handlers import consent, menu
from werkbot.handlers.consent import kinds


async def test_numbers_answer_an_open_request_on_sms(h: Harness) -> None:
    customer = CUSTOMERS["sms"]
    assert await tell(h, customer, "1") != []  # no request open yet: just a message
    [confirmed] = await tell(h, customer, "1")
    assert confirmed.reply.kind == kinds.CONSENT_CONFIRMATION
    assert got(h, OFFICE) == ["1"]


async def test_punctuation_and_case_do_not_matter(h: Harness) -> None:
    customer = CUSTOMERS["telegram"]
    await tell(h, customer, "Hallo")
    [confirmed] = await tell(h, customer, "  JA!  ")
    assert confirmed.reply.kind == kinds.CONSENT_CONFIRMATION


async def test_english_answers_get_english_replies(h: Harness) -> None:
    customer = CUSTOMERS["whatsapp"]
    await tell(h, customer, "Hello, my boiler is broken")
    [confirmed] = await tell(h, customer, "Yes")
    assert confirmed.text.startswith("Thank you")
    [stopped] = await tell(h, customer, "unsubscribe")
    assert "withdrawn" in stopped.text


def _erasure_open(event: Event, ctx: Context) -> bool:
    return bool(ctx.state.get("erase_pending"))


erasure_pending = Filter(_erasure_open, "erasure_pending")
rights = Router("test.rights")


@rights.on(TextEvent, Filter(lambda e, c: isinstance(e, TextEvent) and e.text == "löschen"))
async def ask_erasure(event: Event, ctx: Context) -> None:
    ctx.state["erase_pending"] = True
    await ctx.reply(TextReply(kind=kinds.ERASURE_CONFIRM, text="Wirklich löschen?"))


@rights.on(TextEvent, erasure_pending)
async def confirm_erasure(event: Event, ctx: Context) -> None:
    ctx.state.pop("erase_pending")
    await ctx.reply(TextReply(kind=kinds.ERASURE_DONE, text="Gelöscht."))


async def test_yes_yields_to_an_open_erasure_question(tmp_path: Path) -> None:
    root = Router("root")
    root.include_router(emergency)
    root.include_router(consent.words_router(yield_to=(erasure_pending,)))
    root.include_router(rights)
    root.include_router(consent.gate)
    root.include_router(office)
    root.include_router(menu.fallback)
    bundle = HandlerBundle(router=root, policy=consent.build_policy, setup=consent.setup)
    async with Harness(consent_settings(tmp_path), bundle) as h:
        customer = CUSTOMERS["sms"]
        await tell(h, customer, "Hallo")
        await tell(h, customer, "nein")
        [question] = await tell(h, customer, "löschen")  # answered without consent
        assert question.reply.kind == kinds.ERASURE_CONFIRM
        [done] = await tell(h, customer, "ja")
        assert done.reply.kind == kinds.ERASURE_DONE
        [request] = await tell(h, customer, "ja")  # no question open: consent re-asked
        assert request.reply.kind == kinds.CONSENT_REQUEST
        [stopped] = await tell(h, customer, "stop")  # withdrawal words are never yielded
        assert stopped.reply.kind == kinds.WITHDRAWAL_CONFIRMATION
