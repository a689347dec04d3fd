"""Issue 21: the Telegram Bot API times out while an emergency alert goes out.

The on-call fitter is on Telegram only; while the Bot API does not answer in time, the
SMS customer still gets the number at once, the alert waits and is retried, and once
Telegram answers again the fitter gets it exactly once, acknowledges, and the customer
is told who is coming and how to reach them. If the outage lasts past the
acknowledgement timeout, the customer hears that werkbot is still reaching someone.
Real adapters: Twilio for SMS against the fake Twilio, Telegram against a fake Bot API
that hangs (the outbox's 30 s send time-out is patched down to 0.2 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from tests.scenarios.conftest import (
    CHEF_TG,
    LUDWIG_PHONE,
    LUDWIG_TG,
    SATURDAY_NIGHT,
    SMS_CUSTOMER,
    World,
    WorldFactory,
    tg_message,
)
from tests.telegram.conftest import TOKEN
from tests.telegram.fake_bot_api import FakeBotAPI
from werkbot.bot import outbox as outbox_module
from werkbot.bot.addresses import Address
from werkbot.bot.storage.models import OutboxRow

HANG_SECONDS = 0.6  # longer than the patched send time-out


class HangingBotAPI(FakeBotAPI):
    """The fake Bot API, but `send*` calls hang (unanswered, not recorded) while `down`."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.down = False
        self.hung = 0

    async def _method(self, request: web.Request) -> web.Response:
        if self.down and request.match_info["method"].startswith("send"):
            self.hung += 1
            await asyncio.sleep(HANG_SECONDS)
            return web.Response(status=504)
        return await super()._method(request)


@pytest.fixture
async def fake_api() -> AsyncIterator[HangingBotAPI]:
    api = HangingBotAPI(TOKEN)
    await api.start()
    yield api
    await api.close()


async def alert_rows(w: World, chat: int) -> list[OutboxRow]:
    async with w.h.services.db.session() as session:
        return list((await session.scalars(select(OutboxRow).where(
            OutboxRow.address == f"telegram:{chat}").order_by(OutboxRow.id))).all())


async def emergency_while_telegram_hangs(world_at: WorldFactory,
                                         monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr(outbox_module, "SEND_TIMEOUT", 0.2)
    w = await world_at(SATURDAY_NIGHT)
    assert isinstance(w.api, HangingBotAPI)
    w.api.down = True
    await w.consented(Address("sms", SMS_CUSTOMER))
    await w.sms("Notfall Wasserrohrbruch im Keller")
    assert any(LUDWIG_PHONE in body for body in w.sms_to())  # the number, at once
    return w


async def test_alert_arrives_once_after_a_telegram_timeout_outage(
        world_at: WorldFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    w = await emergency_while_telegram_hangs(world_at, monkeypatch)
    api = w.api
    assert isinstance(api, HangingBotAPI)
    for _ in range(4):  # two minutes of time-outs, well before the escalation
        await w.h.advance(timedelta(seconds=30))
    assert api.hung >= 2 and w.telegram_texts(LUDWIG_TG) == []
    (waiting,) = await alert_rows(w, LUDWIG_TG)
    assert waiting.status == "queued" and waiting.error_code == "timeout"
    assert waiting.attempts >= 2

    api.down = False
    await w.h.advance(timedelta(seconds=60))
    (alert,) = w.telegram_texts(LUDWIG_TG)
    assert "Wasserrohrbruch im Keller" in alert
    before = len(w.sms_to())
    await w.telegram(tg_message("ok", chat_id=LUDWIG_TG, user_id=LUDWIG_TG, name="Ludwig"))
    (coming,) = w.sms_to()[before:]
    assert "Ludwig Maier hat Ihren Notfall übernommen" in coming
    assert "+49 171 1111111" in coming and "tel:+491711111111" in coming
    await w.h.advance(timedelta(minutes=15))
    assert w.telegram_texts(CHEF_TG) == []  # acknowledged: no escalation
    assert (await alert_rows(w, LUDWIG_TG))[0].status == "sent"


async def test_customer_hears_werkbot_is_still_trying_during_a_long_outage(
        world_at: WorldFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    w = await emergency_while_telegram_hangs(world_at, monkeypatch)
    sent_before = len(w.sms_to())
    for _ in range(10):  # ten minutes: Ludwig's acknowledgement time-out passes
        await w.h.advance(timedelta(minutes=1))
    told = w.sms_to()[sent_before:]
    assert len(told) == 1 and told[0].startswith(  # SMS: GSM-7, so without the emoji
        "Ludwig Maier hat sich noch nicht gemeldet. Wir erreichen jetzt Josef Maier"), told
    assert w.telegram_texts(LUDWIG_TG) == [] and w.telegram_texts(CHEF_TG) == []
    w.api.down = False  # type: ignore[attr-defined]
    await w.h.advance(timedelta(minutes=5))
    assert any("Wasserrohrbruch" in t for t in w.telegram_texts(CHEF_TG))
