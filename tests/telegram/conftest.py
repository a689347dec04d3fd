"""Fixtures for the Telegram tests: the fake Bot API, settings pointing at it, the
recorded fixture updates, and a harness whose `telegram` channel is the real adapter."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import menu_bundle
from tests.telegram.fake_bot_api import FakeBotAPI
from werkbot.adapters.telegram.adapter import TelegramAdapter
from werkbot.bot.clock import FrozenClock
from werkbot.bot.settings import Settings
from werkbot.bot.testing import Harness, make_settings

TOKEN = "123456:TEST-token_abc"
SECRET = "s3cret-Token_for-tests"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram" / "telegram-updates.json"
NOW = datetime.fromisoformat("2026-12-02T10:00:00+01:00")  # a Wednesday, office open


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    fake = FakeBotAPI(TOKEN)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def make_tg_settings(tmp_path: Path, fake_api: FakeBotAPI) -> Callable[..., Settings]:
    def make(**telegram: Any) -> Settings:
        section = {"token": TOKEN, "api_base": fake_api.url, "webhook_secret": SECRET,
                   "bot_username": "fitter_test_bot", **telegram}
        return make_settings(tmp_path, telegram=section)

    return make


@pytest.fixture
def tg_settings(make_tg_settings: Callable[..., Settings]) -> Settings:
    return make_tg_settings()


@pytest.fixture
def updates() -> dict[str, dict[str, Any]]:
    """The eight recorded updates, a fresh copy per test."""
    data: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text(encoding="utf-8"))
    return copy.deepcopy(data)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


async def telegram_health(harness: Harness) -> tuple[int, str]:
    """/healthz's status code and what it says about the Telegram channel."""
    assert harness.client is not None
    response = await harness.client.get("/healthz")
    return response.status, str((await response.json()).get("telegram"))


async def until_registered(harness: Harness, *, leaving: str = "registering",
                           timeout: float = 10.0) -> str:
    """Wait (with a safety time-out) until the background start's state is no longer
    `leaving`: its first outcome, or (`leaving="failed..."`) the one after failures."""
    async with asyncio.timeout(timeout):
        while (state := (await telegram_health(harness))[1]).startswith(leaving):
            await asyncio.sleep(0.01)
    return state


async def open_harness(settings: Settings, clock: FrozenClock, *, registered: bool = True,
                       **adapter_options: Any) -> tuple[Harness, TelegramAdapter]:
    """werkbot with the real adapter; `registered`: once its start-up has an outcome."""
    adapter = TelegramAdapter(settings, clock=clock, **adapter_options)
    harness = Harness(settings, menu_bundle(), channels=("whatsapp", "sms"),
                      clock=clock, adapters=[adapter])
    await harness.__aenter__()
    if registered:
        await until_registered(harness)
    return harness, adapter


@pytest.fixture
async def tg(tg_settings: Settings, clock: FrozenClock, fake_api: FakeBotAPI
             ) -> AsyncIterator[tuple[Harness, TelegramAdapter]]:
    """werkbot with the real Telegram adapter (webhook mode) against the fake Bot API."""
    harness, adapter = await open_harness(tg_settings, clock)
    yield harness, adapter
    await harness.__aexit__(None, None, None)
