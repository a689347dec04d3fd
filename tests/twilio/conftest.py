"""Fixtures for the Twilio adapters: the recording fake Twilio, settings pointing at it,
the whole app (real Twilio adapters, SQLite, help handler) and Prism on Twilio's spec.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy import select
from twilio.http.async_http_client import AsyncTwilioHttpClient

from tests.conftest import menu_bundle
from tests.services import free_port
from tests.twilio.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.twilio.payloads import BUSINESS_SMS, BUSINESS_WA
from werkbot.adapters.twilio import build
from werkbot.adapters.twilio.adapter import TwilioAdapter
from werkbot.adapters.twilio.client import TwilioApi
from werkbot.bot.adapter import StoredMedia
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.testing import Harness, make_settings

REPO = Path(__file__).resolve().parents[2]
MENU_TEMPLATE = "HX" + "a" * 32


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    twilio = await FakeTwilio().start()
    yield twilio
    await twilio.close()


def twilio_section(api_base: str, **overrides: Any) -> dict[str, Any]:
    section: dict[str, Any] = {
        "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_base": api_base,
        "whatsapp_from": BUSINESS_WA, "sms_from": BUSINESS_SMS,
        "templates": {"menu": MENU_TEMPLATE},
    }
    section.update(overrides)
    return section


@pytest.fixture
def settings(tmp_path: Path, fake: FakeTwilio) -> Settings:
    return make_settings(tmp_path, twilio=twilio_section(fake.base_url))


class App:
    """The whole werkbot app with the real Twilio adapters, posting as Twilio would."""

    def __init__(self, harness: Harness, fake: FakeTwilio) -> None:
        self.h = harness
        self.fake = fake

    @property
    def base_url(self) -> str:
        assert self.h.client is not None
        return str(self.h.client.make_url("")).rstrip("/")

    def adapter(self, name: str) -> TwilioAdapter:
        adapter = self.h.adapters[name]
        assert isinstance(adapter, TwilioAdapter)
        return adapter

    async def post(self, path: str, form: dict[str, str], **kwargs: Any) -> ClientResponse:
        return await self.fake.post(self.base_url, path, form,
                                    public_url=self.h.settings.server.public_url, **kwargs)

    async def inbox(self) -> list[InboxRow]:
        """What the webhooks stored (timers the handlers schedule at start-up left out)."""
        async with self.h.services.db.session() as session:
            return list((await session.scalars(
                select(InboxRow).where(InboxRow.kind != "TimerEvent").order_by(InboxRow.id)
            )).all())


@pytest.fixture
async def app(settings: Settings, fake: FakeTwilio) -> AsyncIterator[App]:
    async with Harness(settings, menu_bundle(), channels=(),
                       adapters=build(settings)) as harness:
        yield App(harness, fake)


class HeaderHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """twilio-python's async client plus extra request headers (Prism's `Prefer`):
    werkbot passes no such headers, so they are added where the request is made."""

    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.extra_headers: dict[str, str] = {}
        self.requests: list[tuple[str, Any]] = []  # (url, form data) as sent
        self.sent: list[tuple[str, str, Any]] = []  # (method, url, query parameters)

    async def request(self, method: str, url: str, params: Any = None, data: Any = None,
                      headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        merged = {**(headers or {}), **self.extra_headers}
        self.requests.append((url, data))
        self.sent.append((method, url, params))
        return await super().request(method, url, params=params, data=data, headers=merged,
                                     **kwargs)


def _ensure_prism() -> Path:
    binary = REPO / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed; Prism tests need Node and npm")
        # `npm ci` installs what the lock file pins and never rewrites package.json.
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=REPO, check=True,
                       timeout=300)
    return binary


@pytest.fixture(scope="session")
def prism() -> Iterator[str]:
    """Prism mocking Twilio's API v2010 (patched spec) on a free loopback port."""
    spec = REPO / "tests" / "fixtures" / "twilio" / "twilio_api_v2010.prism.json"
    if not spec.exists():
        raise RuntimeError(f"Twilio spec for Prism not found at {spec}")
    port = free_port()
    proc = subprocess.Popen(
        [str(_ensure_prism()), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(proc, "Prism is listening", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(proc: subprocess.Popen[str], marker: str, timeout: float) -> None:
    """Wait for `marker` in Prism's output. One thread reads every line (and keeps
    draining afterwards, so a full pipe never blocks Prism); select() on the pipe would
    miss lines already sitting in Python's read buffer."""
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True, name="prism-log").start()
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return
    proc.kill()
    raise RuntimeError("Prism did not start:\n" + "".join(seen[-20:]))


class NoMedia:
    """Media access for an adapter started alone: links only, no stored bytes."""

    def link(self, media_id: int) -> str:
        return f"https://bot.example.de/media/t{media_id}"

    async def read(self, media_id: int) -> StoredMedia:
        raise FileNotFoundError(media_id)


async def ignore_events(events: object) -> None:
    del events


async def started_adapter(settings: Settings, channel: str,
                          twilio: Any = None) -> TwilioAdapter:
    """A Twilio adapter for `channel`, started outside an app (`twilio`: other settings)."""
    section = twilio or settings.twilio
    adapter = TwilioAdapter(channel, section, settings.server.public_url, TwilioApi(section))
    await adapter.start(ignore_events, NoMedia())
    return adapter


@pytest.fixture
async def wa(settings: Settings) -> AsyncIterator[TwilioAdapter]:
    adapter = await started_adapter(settings, "whatsapp")
    yield adapter
    await adapter.stop()


@pytest.fixture
async def sms(settings: Settings) -> AsyncIterator[TwilioAdapter]:
    adapter = await started_adapter(settings, "sms")
    yield adapter
    await adapter.stop()
