"""Issue 21: the office answers in the sandbox, over its HTTP API, as the demo page does.

A customer writes on the simulated WhatsApp; the office (Anna on the simulated Telegram)
sees the forward in the transcript with its `id`, answers with `reply_to` naming it (the
page's reply button), and the customer sees the answer. The transcript names the office
staff the page shows beside the customer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from werkbot.bot.clock import FrozenClock
from werkbot.bot.plugins import Plugins, load_plugins
from werkbot.bot.server import DISPATCHER, OUTBOX, create_app
from werkbot.bot.testing import make_settings
from werkbot.handlers import build_bundle

TUESDAY_10 = datetime.fromisoformat("2026-12-01T10:00:00+01:00")
STAFF = [
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "whatsapp": "+4917100000001"},
    {"id": "anna", "name": "Anna Huber", "roles": ["office"], "telegram": 133333333},
]
CUSTOMER = {"channel": "whatsapp", "from": "+491701234567"}
ANNA = {"channel": "telegram", "from": "133333333"}
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Client]:
    settings = make_settings(tmp_path, server={"sandbox": True}, staff=STAFF,
                             business={"holidays": "", "hours": {"tue": ["07:30-16:30"]}})
    plugins = Plugins(adapters=load_plugins(settings).adapters, bundle=build_bundle(settings))
    app = create_app(settings, plugins=plugins, clock=FrozenClock(TUESDAY_10),
                     run_workers=False)
    async with TestClient(TestServer(app)) as client:
        yield client


async def say(client: Client, body: dict[str, Any]) -> None:
    resp = await client.post("/sandbox/api/messages", json=body)
    assert resp.status == 200, await resp.text()
    while await client.app[DISPATCHER].drain():
        pass
    await client.app[OUTBOX].drain()


async def transcript(client: Client) -> dict[str, Any]:
    resp = await client.get("/sandbox/api/transcript")
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


def sent_to(body: dict[str, Any], address: str) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["direction"] == "out" and m["address"] == address]


async def test_the_office_answers_a_forward_with_the_reply_button(sandbox: Client) -> None:
    await say(sandbox, {**CUSTOMER, "text": "Hallo, die Heizung tropft"})
    await say(sandbox, {**CUSTOMER, "text": "ja"})
    await say(sandbox, {**CUSTOMER, "name": "Erika", "text": "Wann können Sie kommen?"})
    body = await transcript(sandbox)
    assert body["office"][0] == {"channel": "telegram", "address": "133333333",
                                 "name": "Anna Huber"}
    forward = next(m for m in sent_to(body, "133333333") if "Wann können" in m["text"])
    assert "tel:+491701234567" in forward["text"] and forward["id"].startswith("sandbox-")

    await say(sandbox, {**ANNA, "text": "Morgen um 8 Uhr.", "reply_to": forward["id"]})
    body = await transcript(sandbox)
    assert sent_to(body, "+491701234567")[-1]["text"] == "Morgen um 8 Uhr."
    assert sent_to(body, "133333333")[-1]["text"].startswith("✓ An #")
    answer = [m for m in body["messages"] if m["direction"] == "in"][-1]
    assert answer["reply_to"] == forward["id"]  # the page shows what was answered


async def test_a_reply_to_that_is_not_a_sent_message_gets_400(sandbox: Client) -> None:
    for bad in ("SM123", "sandbox-", 42, "sandbox-1; DROP"):
        resp = await sandbox.post("/sandbox/api/messages",
                                  json={**ANNA, "text": "x", "reply_to": bad})
        assert resp.status == 400 and "reply_to" in await resp.text()
    assert (await transcript(sandbox))["messages"] == []
