"""Webhooks end to end under fuzzed bodies (issue 9): a validly signed Twilio webhook and a
Telegram update with the right secret never get a 5xx answer from the real app.

Each test builds one app (real adapters, SQLite, workers off) on its own event loop and
posts every hypothesis example through aiohttp's test client from a sync inner function.
Example counts: `WEBHOOK_EXAMPLES` (see `conftest.py`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import menu_bundle
from tests.fuzz.conftest import telegram_updates, twilio_pairs, webhook_settings, wire_text
from tests.telegram.conftest import NOW, SECRET, TOKEN
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.twilio.conftest import twilio_section
from tests.twilio.fake_twilio import FakeTwilio
from werkbot.adapters.telegram.adapter import SECRET_HEADER, WEBHOOK_PATH, TelegramAdapter
from werkbot.adapters.twilio import build
from werkbot.bot.clock import FrozenClock
from werkbot.bot.testing import Harness, make_settings

pytestmark = pytest.mark.fuzz

TWILIO_PATHS = ("/webhooks/whatsapp", "/webhooks/sms", "/webhooks/whatsapp/status",
                "/webhooks/sms/status")


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


class _RunningApp:
    """A harness and its provider stand-in, driven from a synchronous hypothesis test."""

    runner: asyncio.Runner
    harness: Harness
    fake: FakeTwilio | FakeBotAPI

    def close(self) -> None:
        self.runner.run(self.harness.__aexit__(None, None, None))
        self.runner.run(self.fake.close())


class TwilioApp(_RunningApp):
    def __init__(self, runner: asyncio.Runner, tmp_path: Path) -> None:
        self.runner = runner
        self.fake = runner.run(FakeTwilio().start())
        self.settings = make_settings(tmp_path, twilio=twilio_section(self.fake.base_url))
        self.harness = Harness(self.settings, menu_bundle(), channels=(),
                               adapters=build(self.settings))
        runner.run(self.harness.__aenter__())

    def post(self, path: str, form: dict[str, str]) -> int:
        async def go() -> int:
            assert self.harness.client is not None
            # Encoded here, not by aiohttp's FormData (which refuses odd keys client-side).
            signature = self.fake.sign(self.settings.server.public_url + path, form)
            resp = await self.harness.client.post(
                path, data=urlencode(list(form.items())).encode(),
                headers={"X-Twilio-Signature": signature,
                         "Content-Type": "application/x-www-form-urlencoded"})
            await resp.read()
            return resp.status
        return self.runner.run(go())



@pytest.fixture
def twilio_app(runner: asyncio.Runner, tmp_path: Path) -> Iterator[TwilioApp]:
    app = TwilioApp(runner, tmp_path)
    yield app
    app.close()


class TelegramApp(_RunningApp):
    def __init__(self, runner: asyncio.Runner, tmp_path: Path) -> None:
        self.runner = runner
        self.fake = FakeBotAPI(TOKEN)
        runner.run(self.fake.start())
        settings = make_settings(tmp_path, telegram={
            "token": TOKEN, "api_base": self.fake.url, "webhook_secret": SECRET,
            "bot_username": "fitter_test_bot"})
        adapter = TelegramAdapter(settings, clock=FrozenClock(NOW))
        self.harness = Harness(settings, menu_bundle(), channels=("whatsapp", "sms"),
                               clock=FrozenClock(NOW), adapters=[adapter])
        runner.run(self.harness.__aenter__())

    def post(self, update: dict[str, Any]) -> int:
        async def go() -> int:
            assert self.harness.client is not None
            resp = await self.harness.client.post(WEBHOOK_PATH, json=update,
                                                  headers={SECRET_HEADER: SECRET})
            await resp.read()
            return resp.status
        return self.runner.run(go())



@pytest.fixture
def telegram_app(runner: asyncio.Runner, tmp_path: Path) -> Iterator[TelegramApp]:
    app = TelegramApp(runner, tmp_path)
    yield app
    app.close()


_sids = itertools.count(1)


@webhook_settings
@given(data=st.data())
@example(data=None)
def test_signed_twilio_webhook_never_answers_5xx(twilio_app: TwilioApp, data: Any) -> None:
    if data is None:  # the explicit example: the bug found by fuzzing
        path, form = "/webhooks/whatsapp", {"MessageSid": "SM" + "b" * 32,
                                            "From": "whatsapp:+491701234567",
                                            "NumMedia": "²"}
    else:
        path = data.draw(st.sampled_from(TWILIO_PATHS), label="path")
        form = dict(data.draw(twilio_pairs(wire_text), label="form"))
        if form.get("MessageSid") == "SM" + "a" * 32:
            form["MessageSid"] = f"SM{next(_sids):032x}"  # store new messages, not repeats
    status = twilio_app.post(path, form)
    assert status < 500, (path, form, status)


_update_ids = itertools.count(10_000_000)


@webhook_settings
@given(update=telegram_updates, fresh_id=st.booleans())
@example(update={"update_id": 1, "message": {"message_id": 1, "chat": {"id": 7001},
                                             "location": {"latitude": 51.5}}},
         fresh_id=True)
def test_telegram_webhook_with_secret_never_answers_5xx(
        telegram_app: TelegramApp, update: dict[str, Any], fresh_id: bool) -> None:
    if fresh_id or not isinstance(update.get("update_id"), int):
        update = {**update, "update_id": next(_update_ids)}  # past the de-duplication
    status = telegram_app.post(update)
    assert status < 500, (update, status)
