"""Polling mode: no webhook kept, getUpdates with offsets, each update_id handled once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.telegram.conftest import open_harness
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.helpers import album, post_update, stored_events, text_update
from werkbot.adapters.telegram.adapter import TelegramAdapter
from werkbot.bot.clock import FrozenClock
from werkbot.bot.events import MediaEvent
from werkbot.bot.settings import Settings
from werkbot.bot.testing import Harness


@pytest.fixture
async def polling(make_tg_settings: Callable[..., Settings], clock: FrozenClock,
                  fake_api: FakeBotAPI) -> AsyncIterator[tuple[Harness, TelegramAdapter]]:
    # A webhook left over from an earlier webhook-mode deployment.
    fake_api.webhook = {"url": "https://old.example.de/webhooks/telegram"}
    settings = make_tg_settings(mode="polling", webhook_secret="")
    harness, adapter = await open_harness(settings, clock, poll_timeout=1)
    yield harness, adapter
    await harness.__aexit__(None, None, None)


async def test_polling_removes_the_webhook_and_mounts_no_route(
        polling: tuple[Harness, TelegramAdapter], fake_api: FakeBotAPI) -> None:
    harness, _ = polling
    assert fake_api.webhook["url"] == ""
    assert "deleteWebhook" in fake_api.methods() and "setWebhook" not in fake_api.methods()
    response = await post_update(harness, text_update(1, "hilfe"))
    assert response.status in (404, 405)
    await fake_api.wait_for("getUpdates")
    assert fake_api.calls_of("getUpdates")[0].params["allowed_updates"] == [
        "message", "edited_message", "callback_query", "my_chat_member"]


async def test_each_update_id_is_handled_once(
        polling: tuple[Harness, TelegramAdapter], fake_api: FakeBotAPI) -> None:
    harness, _ = polling
    await fake_api.push_update(text_update(800001, "hilfe"), text_update(800002, "help"))
    polls_before_redelivery = len(await fake_api.wait_for("getUpdates", 2))
    # Telegram redelivers after a lost confirmation: the same ids come again.
    await fake_api.push_update(text_update(800001, "hilfe"), text_update(800003, "menü"))
    calls = await fake_api.wait_for("getUpdates", polls_before_redelivery + 2)
    await harness.run()
    events = await stored_events(harness)
    assert sorted(e.id for e in events) == ["telegram:800001", "telegram:800002",
                                            "telegram:800003"]
    assert len(fake_api.calls_of("sendMessage")) == 3
    offsets = [int(c.params.get("offset", 0)) for c in calls]
    assert offsets == sorted(offsets) and max(offsets) == 800004


async def test_an_album_burst_arrives_as_one_batch(
        polling: tuple[Harness, TelegramAdapter], fake_api: FakeBotAPI) -> None:
    harness, adapter = polling
    batches: list[int] = []
    original = adapter._feed  # noqa: SLF001 - counts what each poll feeds
    assert original is not None

    async def counting_feed(events: object) -> None:
        batches.append(len(events))  # type: ignore[arg-type]
        await original(events)  # type: ignore[arg-type]

    adapter._feed = counting_feed  # noqa: SLF001
    await fake_api.push_update(*album(810000, 4, group="burst"))
    calls = await fake_api.wait_for("getUpdates", 2)
    await fake_api.wait_for("getUpdates", len(calls) + 1)  # the batch is confirmed
    assert batches == [4]
    events = await stored_events(harness)
    assert {e.group for e in events if isinstance(e, MediaEvent)} == {"burst"}


async def test_a_rate_limited_poll_is_retried(
        make_tg_settings: Callable[..., Settings], clock: FrozenClock,
        fake_api: FakeBotAPI) -> None:
    fake_api.fail_next("getUpdates", 429, retry_after=0)
    await fake_api.push_update(text_update(820001, "hilfe"))
    settings = make_tg_settings(mode="polling", webhook_secret="")
    harness, _ = await open_harness(settings, clock, poll_timeout=1)
    try:
        await fake_api.wait_for("getUpdates", 3)
        assert [e.id for e in await stored_events(harness)] == ["telegram:820001"]
    finally:
        await harness.__aexit__(None, None, None)
