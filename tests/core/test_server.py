"""The server: health, metrics, signed media links, body limits, sandbox input checks,
and a shutdown that loses nothing that was acknowledged."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from tests.conftest import menu_bundle
from werkbot.bot.addresses import Address
from werkbot.bot.clock import FrozenClock
from werkbot.bot.plugins import Plugins, load_plugins
from werkbot.bot.pressure import Pressure
from werkbot.bot.server import DISPATCHER, OUTBOX, SERVICES, create_app
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.bot.testing import Harness, RecordingAdapter, make_settings, text
from werkbot.handlers import build_bundle

CUSTOMER = Address("whatsapp", "+491701234567")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LIMIT = 1_048_576


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    """The server with the menu handlers only: these tests are about the core's endpoints."""
    async with Harness(settings, menu_bundle()) as h:
        yield h


# ---------------------------------------------------------------- health and metrics


async def test_healthz_answers_ok_when_the_database_answers(harness: Harness) -> None:
    assert harness.client is not None
    resp = await harness.client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["inbox_pending"] == 0 and body["outbox_queued"] == 0


def _sample(metrics: str, name: str, labels: str = "") -> float:
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    for line in metrics.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return 0.0


async def test_metrics_count_events_replies_and_queue_depth(harness: Harness) -> None:
    assert harness.client is not None
    resp = await harness.client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    before = await resp.text()
    assert "# TYPE werkbot_events_in_total counter" in before
    assert _sample(before, "werkbot_events_in_total", 'channel="whatsapp"') == 0
    await harness.feed(text(CUSTOMER, "hilfe"))
    queued = await (await harness.client.get("/metrics")).text()
    assert _sample(queued, "werkbot_queue_depth", 'queue="inbox"') == 1
    await harness.run()
    await harness.feed(text(CUSTOMER, "hilfe", event_id="dup"), text(CUSTOMER, "x",
                                                                   event_id="dup"))
    await harness.run()
    after = await (await harness.client.get("/metrics")).text()
    assert _sample(after, "werkbot_events_in_total", 'channel="whatsapp"') == 2
    assert _sample(after, "werkbot_events_duplicate_total", 'channel="whatsapp"') == 1
    assert _sample(after, "werkbot_replies_out_total", 'channel="whatsapp"') == 2
    assert _sample(after, "werkbot_handling_seconds_count") == 2
    assert _sample(after, "werkbot_queue_depth", 'queue="inbox"') == 0
    assert _sample(after, "werkbot_queue_depth", 'queue="outbox"') == 0


# ---------------------------------------------------------------- media links


async def _stored_media(h: Harness) -> int:
    async with h.services.db.session() as session:
        saved = await h.services.media.save(session, PNG, filename="x.png",
                                            now=h.clock.now())
    return saved.id


async def test_a_signed_media_link_serves_the_stored_bytes(harness: Harness) -> None:
    assert harness.client is not None
    media_id = await _stored_media(harness)
    link = harness.services.media.link(media_id)
    assert link.startswith("https://bot.example.de/media/")
    resp = await harness.client.get("/media/" + link.rsplit("/", 1)[1])
    assert resp.status == 200
    assert await resp.read() == PNG
    assert resp.content_type == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_forged_expired_and_other_purpose_media_tokens_get_404(harness: Harness) -> None:
    assert harness.client is not None
    services = harness.services
    media_id = await _stored_media(harness)
    token = services.media.link(media_id).rsplit("/", 1)[1]
    payload, mac = token.split(".")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    ttl = services.settings.media.link_ttl
    now = harness.clock.now()
    wrong = [
        f"{payload}.{flipped}",  # forged signature
        f"{payload}x.{mac}",  # altered payload
        "not-a-token",
        services.signer.sign("consent", {"m": media_id}, ttl, now),  # other purpose
        services.signer.sign("media", {"m": media_id + 999}, ttl, now),  # no such media
        services.signer.sign("media", {"m": str(media_id)}, ttl, now),  # wrong type
    ]
    for candidate in wrong:
        resp = await harness.client.get(f"/media/{candidate}")
        assert resp.status == 404, candidate
        assert PNG not in await resp.read()
    assert (await harness.client.get(f"/media/{token}")).status == 200
    harness.clock.advance(ttl + timedelta(seconds=1))
    assert (await harness.client.get(f"/media/{token}")).status == 404  # expired


# ---------------------------------------------------------------- body limits


@dataclass
class EchoAdapter(RecordingAdapter):
    """A test channel with a webhook route that stores one text event per request."""

    bodies: list[int] = field(default_factory=list)

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [web.post("/webhooks/test", self._webhook)]

    in_flight: list[int] = field(default_factory=list)  # webhooks in flight, seen by each
    pressure: Pressure | None = None

    async def _webhook(self, request: web.Request) -> web.Response:
        if self.pressure is not None:
            self.in_flight.append(self.pressure.requests)
        body = await request.read()
        self.bodies.append(len(body))
        assert self.feed is not None
        await self.feed([text(Address("test", "1"), "x")])
        return web.Response(text="ok")


@pytest.fixture
async def echo(settings: Settings) -> AsyncIterator[tuple[Harness, EchoAdapter]]:
    adapter = EchoAdapter("test")
    async with Harness(settings, build_bundle(settings), adapters=[adapter]) as h:
        yield h, adapter


async def test_webhooks_count_as_in_flight_and_other_requests_do_not(
        echo: tuple[Harness, EchoAdapter]) -> None:
    """Handling gives way to webhooks someone waits for (bot/pressure.py): each webhook is
    counted while it runs, and no longer once answered, refused or failed."""
    h, adapter = echo
    assert h.client is not None
    pressure = h.app[DISPATCHER].pressure
    adapter.pressure = pressure
    assert (await h.client.post("/webhooks/test", data=b"x")).status == 200
    assert (await h.client.post("/webhooks/test", data=b"x" * (LIMIT + 1))).status == 413
    assert (await h.client.get("/healthz")).status == 200
    assert adapter.in_flight == [1]
    assert pressure.requests == 0


async def test_a_webhook_body_over_1_mb_gets_413_and_nothing_is_stored(
        echo: tuple[Harness, EchoAdapter]) -> None:
    h, adapter = echo
    assert h.client is not None
    resp = await h.client.post("/webhooks/test", data=b"x" * (LIMIT + 1))
    assert resp.status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the read is capped
        for _ in range(20):
            yield b"y" * 65536

    resp = await h.client.post("/webhooks/test", data=chunks())
    assert resp.status == 413
    assert adapter.bodies == []
    resp = await h.client.post("/webhooks/test", data=b"x" * LIMIT)
    assert resp.status == 200 and adapter.bodies == [LIMIT]
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(InboxRow)
                                   .where(InboxRow.kind != "TimerEvent")) == 1


# ---------------------------------------------------------------- the sandbox's input


def _menu_plugins(settings: Settings) -> Plugins:
    """The configured channels (the sandbox) with the menu handlers only."""
    return Plugins(adapters=load_plugins(settings).adapters, bundle=menu_bundle())


def _sandbox_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, server={"sandbox": True})


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    settings = _sandbox_settings(tmp_path)
    app = create_app(settings, plugins=_menu_plugins(settings), run_workers=False)
    async with TestClient(TestServer(app)) as client:
        yield client


async def _stored(client: TestClient[web.Request, web.Application]) -> int:
    async with client.app[SERVICES].db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxRow)
                                   .where(InboxRow.kind != "TimerEvent")) or 0)


GOOD = {"channel": "whatsapp", "from": "+491701234567", "text": "hilfe"}


@pytest.mark.parametrize(("body", "says"), [
    (b"hilfe", "JSON"),
    (b"{not json", "JSON"),
    (b'["whatsapp", "+491701234567", "hilfe"]', "object"),
    (json.dumps({"from": "+491701234567", "text": "hilfe"}).encode(), "channel"),
    (json.dumps({"channel": "fax", "from": "+491701234567", "text": "x"}).encode(), "channel"),
    (json.dumps({"channel": "whatsapp", "text": "hilfe"}).encode(), "from"),
    (json.dumps({"channel": "whatsapp", "from": "  ", "text": "hilfe"}).encode(), "from"),
    (json.dumps({"channel": "whatsapp", "from": "+491701234567"}).encode(), "text"),
    (json.dumps({**GOOD, "text": ""}).encode(), "text"),
    (json.dumps({**GOOD, "text": 42}).encode(), "text"),
    (json.dumps({**GOOD, "text": "x" * 5000}).encode(), "longer"),
    (json.dumps({**GOOD, "from": "+999 1234567"}).encode(), "phone"),
    (json.dumps({**GOOD, "channel": "sms", "from": "+999 1234567"}).encode(), "phone"),
    (json.dumps({**GOOD, "channel": "sms", "from": "hello"}).encode(), "phone"),
    (json.dumps({**GOOD, "from": "+1 000 000 0000 0000 0"}).encode(), "phone"),
    (json.dumps({**GOOD, "channel": "telegram", "from": "@someone"}).encode(), "Telegram"),
])
async def test_malformed_sandbox_input_gets_400_with_a_message_and_nothing_is_stored(
        sandbox: TestClient[web.Request, web.Application], body: bytes, says: str) -> None:
    resp = await sandbox.post("/sandbox/api/messages", data=body,
                              headers={"Content-Type": "application/json"})
    assert resp.status == 400
    message = await resp.text()
    assert says.lower() in message.lower(), message
    assert await _stored(sandbox) == 0
    transcript = await (await sandbox.get("/sandbox/api/transcript")).json()
    assert transcript["messages"] == []


async def test_bad_transcript_parameters_get_400(
        sandbox: TestClient[web.Request, web.Application]) -> None:
    resp = await sandbox.get("/sandbox/api/transcript?after=abc")
    assert resp.status == 400 and "number" in await resp.text()


async def test_a_good_sandbox_message_is_stored_before_the_answer(
        sandbox: TestClient[web.Request, web.Application]) -> None:
    resp = await sandbox.post("/sandbox/api/messages", json={**GOOD, "id": "sb-1"})
    assert resp.status == 200
    assert (await resp.json()) == {"ok": True, "id": "sb-1"}
    assert await _stored(sandbox) == 1
    again = await sandbox.post("/sandbox/api/messages", json={**GOOD, "id": "sb-1"})
    assert again.status == 200 and await _stored(sandbox) == 1  # de-duplicated by id


# ---------------------------------------------------------------- graceful shutdown


async def test_acknowledged_events_are_handled_after_a_restart(tmp_path: Path) -> None:
    settings = _sandbox_settings(tmp_path)
    clock = FrozenClock(datetime.fromisoformat("2026-12-02T10:00:00+01:00"))
    first = create_app(settings, plugins=_menu_plugins(settings), clock=clock, run_workers=False)
    async with TestClient(TestServer(first)) as client:
        for n in range(5):
            resp = await client.post("/sandbox/api/messages",
                                      json={**GOOD, "from": f"+4917012345{n:02d}",
                                            "id": f"sb-{n}"})
            assert resp.status == 200
    # The first server shut down without handling anything; a new one takes over.
    plugins = _menu_plugins(settings)
    second = create_app(settings, plugins=plugins, clock=clock, run_workers=False)
    async with TestClient(TestServer(second)) as client:
        assert await second[DISPATCHER].drain() == 5
        assert await second[DISPATCHER].drain() == 0
        await second[OUTBOX].drain()
        transcript = await (await client.get("/sandbox/api/transcript")).json()
        out = [m for m in transcript["messages"] if m["direction"] == "out"]
        assert sorted(m["address"] for m in out) == [f"+4917012345{n:02d}" for n in range(5)]
        async with second[SERVICES].db.session() as session:
            statuses = (await session.scalars(select(OutboxRow.status))).all()
            assert statuses == ["sent"] * 5


async def test_shutdown_with_running_workers_loses_nothing(tmp_path: Path) -> None:
    settings = _sandbox_settings(tmp_path)
    app = create_app(settings, plugins=_menu_plugins(settings), run_workers=True)
    async with TestClient(TestServer(app)) as client:
        for n in range(30):
            resp = await client.post("/sandbox/api/messages",
                                     json={**GOOD, "from": f"+4917012345{n:02d}",
                                           "id": f"sb-{n}"})
            assert resp.status == 200
    # Stopped mid-work: every acknowledged event is either handled or still pending.
    again = create_app(settings, plugins=Plugins(*_plugins(settings)), run_workers=False)
    async with TestClient(TestServer(again)):
        db = again[SERVICES].db
        async with db.session() as session:
            statuses = (await session.scalars(select(InboxRow.status))).all()
        assert len(statuses) == 30 and set(statuses) <= {"done", "pending"}
        await again[DISPATCHER].drain()
        await again[OUTBOX].drain()
        async with db.session() as session:
            assert (await session.scalars(select(InboxRow.status))).all() == ["done"] * 30
            replies = (await session.execute(
                select(OutboxRow.address, OutboxRow.kind, OutboxRow.status))).all()
        # handled exactly once each (no reply lost, none twice), every reply sent
        assert sorted(replies) == [(f"whatsapp:+4917012345{n:02d}", "menu", "sent")
                                   for n in range(30)]


def _plugins(settings: Settings) -> tuple[list[Any], Any]:
    loaded = _menu_plugins(settings)
    return loaded.adapters, loaded.bundle


async def test_sandbox_answers_503_while_the_database_refuses_and_stores_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from werkbot.bot.storage.inbox_sqlite import SqliteInboxStore

    settings = _sandbox_settings(tmp_path)
    app = create_app(settings, plugins=_menu_plugins(settings), run_workers=False)
    real_insert = SqliteInboxStore.insert

    async def locked(self: SqliteInboxStore, rows: Any) -> set[str]:
        raise sqlite3.OperationalError("database is locked")

    async with TestClient(TestServer(app)) as client:
        monkeypatch.setattr(SqliteInboxStore, "insert", locked)
        refused = await client.post("/sandbox/api/messages", json={**GOOD, "id": "sb-locked"})
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        monkeypatch.setattr(SqliteInboxStore, "insert", real_insert)
        again = await client.post("/sandbox/api/messages", json={**GOOD, "id": "sb-locked"})
        assert again.status == 200
        async with app[SERVICES].db.session() as session:
            keys = (await session.scalars(select(InboxRow.dedup_key))).all()
        assert keys == ["sb-locked"]
