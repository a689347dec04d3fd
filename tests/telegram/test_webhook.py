"""Webhook mode end to end: fake Bot API, real aiogram client, werkbot's app and handlers."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from tests.telegram.conftest import SECRET, open_harness, telegram_health, until_registered
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.helpers import (
    album,
    blocked_update,
    post_update,
    stored_events,
    text_update,
)
from werkbot.adapters.telegram.adapter import TelegramAdapter
from werkbot.adapters.telegram.memory import SeenUpdates
from werkbot.bot.addresses import Address
from werkbot.bot.clock import FrozenClock
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    ContactEvent,
    LocationEvent,
    MediaEvent,
    TextEvent,
    Unreachable,
)
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import AddressRow
from werkbot.bot.testing import Harness

Tg = tuple[Harness, TelegramAdapter]
WEBHOOK_URL = "https://bot.example.de/webhooks/telegram"


async def test_start_sets_the_webhook_with_secret_and_allowed_updates(
        tg: Tg, fake_api: FakeBotAPI) -> None:
    (call,) = fake_api.calls_of("setWebhook")
    assert call.params["url"] == WEBHOOK_URL
    assert call.params["secret_token"] == SECRET
    assert sorted(call.params["allowed_updates"]) == ["callback_query", "edited_message",
                                                      "message", "my_chat_member"]
    assert fake_api.methods()[:2] == ["getWebhookInfo", "setWebhook"]


async def test_restart_does_not_set_an_unchanged_webhook_again(
        tg_settings: Settings, clock: FrozenClock, fake_api: FakeBotAPI, tmp_path: Any) -> None:
    for _ in range(2):
        harness, _adapter = await open_harness(tg_settings, clock)
        await harness.__aexit__(None, None, None)
    assert fake_api.methods().count("getWebhookInfo") == 2
    assert fake_api.methods().count("setWebhook") == 1


async def test_webhook_is_set_again_when_telegram_reports_our_rejections(
        tg_settings: Settings, clock: FrozenClock, fake_api: FakeBotAPI) -> None:
    fake_api.webhook = {"url": WEBHOOK_URL, "allowed_updates": [
        "message", "edited_message", "callback_query", "my_chat_member"]}
    fake_api.last_webhook_error = "Wrong response from the webhook: 403 Forbidden"
    harness, _adapter = await open_harness(tg_settings, clock)
    await harness.__aexit__(None, None, None)
    assert fake_api.calls_of("setWebhook")[0].params["secret_token"] == SECRET


async def test_the_server_is_healthy_while_telegram_holds_set_webhook_open(
        tg_settings: Settings, clock: FrozenClock, fake_api: FakeBotAPI,
        updates: dict[str, dict[str, Any]]) -> None:
    release = fake_api.hold("setWebhook")
    harness, _adapter = await open_harness(tg_settings, clock, registered=False)
    try:
        await fake_api.wait_for("setWebhook")
        assert await telegram_health(harness) == (200, "registering")
        stored = await post_update(harness, updates["text"])  # webhooks are taken meanwhile
        assert stored.status == 200
        release.set()
        assert await until_registered(harness) == "ok"
        assert fake_api.webhook["url"] == WEBHOOK_URL
    finally:
        release.set()
        await harness.__aexit__(None, None, None)


async def test_a_failed_set_webhook_is_shown_in_health_and_retried_until_it_works(
        tg_settings: Settings, clock: FrozenClock, fake_api: FakeBotAPI) -> None:
    for _ in range(5):
        fake_api.fail_next("setWebhook", 502, "Bad Gateway")
    harness, _adapter = await open_harness(tg_settings, clock, registered=False,
                                           retry_delay=0.05)
    try:
        await fake_api.wait_for("setWebhook", 2)  # retried; fails three more times
        assert await telegram_health(harness) == (200, "failed: 5xx")
        assert await until_registered(harness, leaving="failed") == "ok"
        assert len(fake_api.calls_of("setWebhook")) == 6
        assert fake_api.webhook["url"] == WEBHOOK_URL
    finally:
        await harness.__aexit__(None, None, None)


async def test_missing_or_wrong_secret_is_refused_and_nothing_stored(
        tg: Tg, updates: dict[str, dict[str, Any]]) -> None:
    harness, _ = tg
    missing = await post_update(harness, updates["text"], secret=None)
    wrong = await post_update(harness, updates["text"], secret=SECRET + "x")
    empty = await post_update(harness, updates["text"], secret="")
    assert (missing.status, wrong.status, empty.status) == (401, 403, 403)
    assert await stored_events(harness) == []


async def test_all_fixture_updates_are_stored_as_their_events(
        tg: Tg, updates: dict[str, dict[str, Any]], fake_api: FakeBotAPI) -> None:
    harness, _ = tg
    for update in updates.values():
        response = await post_update(harness, update)
        assert response.status == 200
    kinds = [type(e) for e in await stored_events(harness)]
    assert kinds == [TextEvent, CommandEvent, MediaEvent, MediaEvent, MediaEvent,
                     LocationEvent, ContactEvent, ChoiceEvent]
    (answer,) = fake_api.calls_of("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "4382bfdwdsb323b2d9"


async def test_same_update_id_twice_is_handled_once(tg: Tg, fake_api: FakeBotAPI) -> None:
    harness, adapter = tg
    update = text_update(900000100, "hilfe")
    assert (await post_update(harness, update)).status == 200
    assert (await post_update(harness, update)).status == 200
    adapter._seen = SeenUpdates()  # noqa: SLF001 - as after a restart: only the durable inbox remembers
    assert (await post_update(harness, update)).status == 200
    await harness.run()
    assert len(await stored_events(harness)) == 1
    assert len(fake_api.calls_of("sendMessage")) == 1


async def test_hilfe_gets_the_menu_with_werkbot_buttons_and_a_press_works(
        tg: Tg, fake_api: FakeBotAPI) -> None:
    harness, _ = tg
    await post_update(harness, text_update(900000101, "hilfe"))
    await harness.run()
    (menu,) = fake_api.calls_of("sendMessage")
    assert menu.params["chat_id"] == "7001"
    assert "Willkommen bei Sanitär Maier GmbH" in menu.params["text"]
    buttons = [row[0] for row in menu.params["reply_markup"]["inline_keyboard"]]
    assert [b["callback_data"] for b in buttons] == ["wb:notfall", "wb:auskunft", "wb:hilfe"]
    press = {"update_id": 900000102, "callback_query": {
        "id": "cbq-1", "chat_instance": "-61834", "data": "wb:hilfe",
        "from": {"id": 7001, "is_bot": False, "first_name": "Alice"},
        "message": {"message_id": 5000, "date": 1764666000, "text": menu.params["text"],
                    "chat": {"id": 7001, "type": "private", "first_name": "Alice"},
                    "reply_markup": menu.params["reply_markup"]}}}
    assert (await post_update(harness, press)).status == 200
    assert fake_api.calls_of("answerCallbackQuery")[0].params["callback_query_id"] == "cbq-1"
    await harness.run()
    assert len(fake_api.calls_of("sendMessage")) == 2


async def test_album_burst_is_stored_as_one_batch(tg: Tg) -> None:
    harness, _ = tg
    responses = await asyncio.gather(*(post_update(harness, u) for u in album(900000200, 3)))
    assert [r.status for r in responses] == [200, 200, 200]
    events = sorted(await stored_events(harness), key=lambda e: e.id)
    assert [e.id for e in events] == [f"telegram:{900000200 + i}" for i in range(3)]
    media = [e for e in events if isinstance(e, MediaEvent)]
    assert len(media) == 3  # every update of the album, none lost or turned into text
    assert [e.group for e in media] == ["album-1"] * 3  # one group: intake batches them
    assert [[m.ref for m in e.media] for e in media] == [
        [f"album-{i}-large"] for i in range(3)]  # the largest size only
    assert [e.caption for e in media] == ["Wasser im Keller", "", ""]


async def test_group_message_is_answered_in_the_group(tg: Tg, fake_api: FakeBotAPI) -> None:
    harness, _ = tg
    update = text_update(900000300, "hilfe", chat_id=-1001234567890, message_thread_id=42)
    await post_update(harness, update)
    await harness.run()
    (event,) = await stored_events(harness)
    assert event.sender == Address("telegram", "-1001234567890") and event.thread == "42"
    (reply,) = fake_api.calls_of("sendMessage")
    assert reply.params["chat_id"] == "-1001234567890"


async def test_blocking_the_bot_marks_the_address_unreachable(tg: Tg) -> None:
    harness, _ = tg
    await post_update(harness, text_update(900000400, "hilfe"))
    await post_update(harness, blocked_update(900000401))
    await harness.run()
    assert isinstance((await stored_events(harness))[-1], Unreachable)
    async with harness.services.db.session() as session:
        row = await session.scalar(select(AddressRow).where(
            AddressRow.address == "telegram:7001"))
        assert row is not None and row.unreachable_at is not None


async def test_unknown_and_malformed_updates_are_acknowledged_not_stored(tg: Tg) -> None:
    harness, _ = tg
    reaction = {"update_id": 900000500, "message_reaction": {
        "chat": {"id": 7001, "type": "private"}, "message_id": 5, "date": 1764666000,
        "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}
    not_a_chat = text_update(900000501, "hallo")
    not_a_chat["message"]["chat"]["id"] = "not-a-number"  # ids are integers, strictly
    assert (await post_update(harness, reaction)).status == 200
    assert (await post_update(harness, not_a_chat)).status == 200
    assert harness.client is not None
    bad = await harness.client.post("/webhooks/telegram", data=b"{not json",
                                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert bad.status == 400
    assert (await post_update(harness, [1, 2])).status == 400  # type: ignore[arg-type]
    assert await stored_events(harness) == []


async def test_a_blocked_send_marks_the_address_unreachable(
        tg: Tg, fake_api: FakeBotAPI) -> None:
    harness, _ = tg
    fake_api.fail_next("sendMessage", 403)
    await post_update(harness, text_update(900000600, "hilfe"))
    await harness.run()
    async with harness.services.db.session() as session:
        row = await session.scalar(select(AddressRow).where(
            AddressRow.address == "telegram:7001"))
        assert row is not None and row.unreachable_at is not None
