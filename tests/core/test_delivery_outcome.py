"""`ctx.send`/`ctx.reply` say what became of a message: queued, or why not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from tests.conftest import menu_bundle
from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.delivery import Delivery, Outcome
from werkbot.bot.events import TextEvent
from werkbot.bot.replies import Reply
from werkbot.bot.router import Router
from werkbot.bot.server import DISPATCHER
from werkbot.bot.settings import Settings
from werkbot.bot.testing import Harness

CUSTOMER = Address("telegram", "7001")
NEVER_WROTE = Address("whatsapp", "+491709999999")


class RefuseWhatsApp:
    """A delivery policy that never allows WhatsApp."""

    async def allows(self, ctx: Context, address: Address, reply: Reply) -> bool:
        return address.channel != "whatsapp"

    async def choose(self, ctx: Context, person_id: int, reply: Reply) -> Address | None:
        return None


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    async with Harness(settings, menu_bundle()) as h:
        yield h


async def _outcomes(harness: Harness, *targets: Address | None) -> list[Delivery]:
    got: list[Delivery] = []

    async def send_all(event: TextEvent, ctx: Context) -> None:
        for target in targets:
            got.append(await (ctx.reply("Hallo") if target is None
                              else ctx.send(target, "Hallo")))

    tree = Router("sending")
    tree.on(TextEvent)(send_all)
    harness.app[DISPATCHER].root = tree
    await harness.say(CUSTOMER, "hallo")
    return got


async def test_a_queued_reply_is_true_and_names_its_address(harness: Harness) -> None:
    (reply,) = await _outcomes(harness, None)
    assert reply == Delivery(Outcome.QUEUED, CUSTOMER) and reply and reply.queued
    assert [s.text for s in harness.adapter("telegram").to(CUSTOMER)] == ["Hallo"]


async def test_what_was_not_queued_is_false_and_says_why(harness: Harness) -> None:
    caps = harness.services.channels["whatsapp"]
    harness.services.channels["whatsapp"] = replace(caps, templates=False)
    no_channel, closed = await _outcomes(harness, Address("fax", "+498912345"), NEVER_WROTE)
    harness.services.policy = RefuseWhatsApp()
    (refused,) = await _outcomes(harness, NEVER_WROTE)

    assert no_channel.outcome is Outcome.NO_CHANNEL
    assert closed == Delivery(Outcome.WINDOW_CLOSED, NEVER_WROTE)
    assert refused.outcome is Outcome.REFUSED
    assert not any((no_channel, closed, refused))
    assert harness.adapter("whatsapp").to(NEVER_WROTE) == []
