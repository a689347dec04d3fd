"""Issue 21 on the demo configuration, through the sandbox's HTTP API with every shipped
handler: the "no" answer names the SMS number and a Telegram link; a photo uploaded
without a job code reaches the office, not a made-up job; SMS answers go out in GSM-7
(no emoji, no "tap the button") while WhatsApp keeps its emoji."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from sqlalchemy import func, select

from werkbot.bot.clock import FrozenClock
from werkbot.bot.gsm7 import is_gsm7, segments
from werkbot.bot.server import DISPATCHER, OUTBOX, SERVICES, create_app
from werkbot.bot.settings import PACKAGED_CONFIG, load_settings
from werkbot.handlers.jobs.models import Job, JobMedia

SATURDAY_NIGHT = datetime(2026, 12, 5, 2, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # closed
CUSTOMER = "+491705550011"
OFFICE_TG = "100000002"  # "buero" in config/demo.toml
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Client]:
    settings = load_settings(PACKAGED_CONFIG / "demo.toml", env={
        "WERKBOT_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "WERKBOT_MEDIA__DIR": str(tmp_path / "media"),
        "WERKBOT_SERVER__SECRET": "demo-test-secret-0123456789"})
    app = create_app(settings, clock=FrozenClock(SATURDAY_NIGHT), run_workers=False)
    async with TestClient(TestServer(app)) as client:
        yield client


async def say(client: Client, text: str, channel: str = "whatsapp",
              sender: str = CUSTOMER) -> list[dict[str, Any]]:
    """Post like the sandbox page does, handle and send everything; the new replies."""
    before = len(await transcript(client))
    resp = await client.post("/sandbox/api/messages",
                             json={"channel": channel, "from": sender, "text": text})
    assert resp.status == 200, await resp.text()
    await settle(client)
    return [m for m in (await transcript(client))[before:] if m["direction"] == "out"]


async def settle(client: Client) -> None:
    while await client.app[DISPATCHER].drain() + await client.app[OUTBOX].drain():
        pass


async def transcript(client: Client) -> list[dict[str, Any]]:
    return list((await (await client.get("/sandbox/api/transcript")).json())["messages"])


async def test_declining_names_the_sms_number_and_a_telegram_link(demo: Client) -> None:
    (request,) = await say(demo, "Hallo, mein Wasserhahn tropft")
    assert "Einwilligung" in request["text"]
    (answer,) = await say(demo, "nein")
    assert "SMS an +4989123456780" in answer["text"]
    assert "Telegram: https://t.me/maier_demo_bot" in answer["text"]
    assert "Telefon: +49 89 1234567" in answer["text"]
    assert "WhatsApp" not in answer["text"]  # not the channel just declined


async def test_a_photo_without_a_code_reaches_the_office_not_a_new_job(demo: Client) -> None:
    await say(demo, "Hallo")
    await say(demo, "ja")
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo, format="JPEG")
    form = FormData()
    form.add_field("channel", "whatsapp")
    form.add_field("from", CUSTOMER)
    form.add_field("caption", "Bild")
    form.add_field("file", photo.getvalue(), filename="bild.jpg", content_type="image/jpeg")
    before = len(await transcript(demo))
    resp = await demo.post("/sandbox/api/media", data=form)
    assert resp.status == 200, await resp.text()
    await settle(demo)
    new = (await transcript(demo))[before:]
    assert new[0]["direction"] == "in" and new[0]["media"] == ["image"]  # the upload
    to_office = [m for m in new if m["direction"] == "out" and m["address"] == OFFICE_TG]
    assert any(m.get("media") for m in to_office), new  # the photo itself reached the office
    to_customer = [m["text"] for m in new if m["direction"] == "out"
                   and m["address"] == CUSTOMER]
    assert not any("gespeichert" in text or "Auftrag" in text for text in to_customer)
    async with demo.app[SERVICES].db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0
        assert await session.scalar(select(func.count()).select_from(JobMedia)) == 0


async def test_sms_answers_go_in_gsm7_and_whatsapp_keeps_its_emoji(demo: Client) -> None:
    sms = "+491705550012"
    await say(demo, "Die Heizung ist kalt", "sms", sms)
    replies = await say(demo, "ja", "sms", sms)  # consent: the held message goes on
    (away,) = [m["text"] for m in replies if "nicht besetzt" in m["text"]]
    assert is_gsm7(away) and "Knopf" not in away and "NOTFALL" in away
    assert away.endswith("1) Notfall")  # the emergency choice, numbered, without 🚨
    assert segments(away) <= 3  # five as UCS-2 before (issue 21)
    await say(demo, "Die Heizung ist kalt")
    replies = await say(demo, "ja")
    (away_wa,) = [m for m in replies if "nicht besetzt" in m["text"]]
    # as on real WhatsApp (no free-form buttons): numbered text, the emoji kept
    assert "choices" not in away_wa and away_wa["text"].endswith("1) 🚨 Notfall")
