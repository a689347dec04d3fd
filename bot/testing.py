"""Test support that ships with the core: a recording adapter, a frozen clock, event
factories and an in-process app harness, so handler tests never import an adapter.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from werkbot.bot.adapter import Feed, MediaAccess, Receipt, SendError
from werkbot.bot.addresses import Address
from werkbot.bot.capabilities import Capabilities
from werkbot.bot.clock import FrozenClock
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    Event,
    MediaEvent,
    MediaRef,
    TextEvent,
    parse_command,
)
from werkbot.bot.plugins import HandlerBundle, Plugins
from werkbot.bot.replies import ChoicesReply, Reply, TextReply, text_of
from werkbot.bot.server import DISPATCHER, INBOX, OUTBOX, SERVICES, create_app
from werkbot.bot.services import Services
from werkbot.bot.settings import PACKAGED_TEXTS, Settings, settings_from_dict

__all__ = ["FrozenClock", "Harness", "RecordingAdapter", "make_settings", "offered", "text"]

_ids = itertools.count(1)
UNFILLED = re.compile(r"\{[a-z_]+(:[^}]*)?\}")  # a text placeholder nobody filled
_NUMBERED = re.compile(r"^\d{1,2}\) (.+)$", re.MULTILINE)  # a choice rendered as text

_MEDIA = frozenset({"image", "document", "audio", "voice", "video"})
_MB = 1024 * 1024
RICH = Capabilities(buttons=True, max_buttons=8, max_text=4096, media_kinds=_MEDIA,
                    max_media_bytes=50 * _MB, media_group=True, share_contact=True)
# The real channels' capabilities (the adapters' own, which `bot/` may not import;
# tests/core/test_harness_capabilities.py holds them equal), so degrade and window rules
# act here as in production.
CHANNEL_CAPS = {
    "whatsapp": Capabilities(buttons=False, max_text=1600, media_kinds=_MEDIA,
                             max_media_bytes=16 * _MB, media_group=False, templates=True,
                             window_hours=24),
    "sms": Capabilities(max_text=1600, gsm7=True),
    "telegram": RICH,
}


@dataclass
class Sent:
    """One message a recording adapter was asked to send."""

    address: Address
    reply: Reply

    @property
    def text(self) -> str:
        return text_of(self.reply)


@dataclass
class RecordingAdapter:
    """An adapter that records what it sends and can be told to fail."""

    name: str
    capabilities: Capabilities = RICH
    sent: list[Sent] = field(default_factory=list)
    failures: list[SendError] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)
    feed: Feed | None = None
    media_access: MediaAccess | None = None

    async def start(self, feed: Feed, media: MediaAccess) -> None:
        self.feed, self.media_access = feed, media

    async def stop(self) -> None:
        return None

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return []

    async def send(self, address: Address, reply: Reply) -> Receipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(Sent(address, reply))
        return Receipt(provider_id=f"{self.name}-out-{next(_ids)}")

    async def fetch_media(self, ref: MediaRef) -> tuple[bytes, str]:
        return self.media[ref.ref], ref.content_type

    def to(self, address: Address | str) -> list[Sent]:
        wanted = Address.parse(address) if isinstance(address, str) else address
        return [s for s in self.sent if s.address == wanted]


def make_settings(tmp: Path, **sections: Any) -> Settings:
    """Settings for a test: SQLite and media under `tmp`, the repo's texts, overrides."""
    data: dict[str, Any] = {
        "server": {"public_url": "https://bot.example.de", "secret": "test-secret-0123456789"},
        "database": {"url": f"sqlite+aiosqlite:///{tmp / 'werkbot.db'}"},
        "media": {"dir": str(tmp / "media")},
        "business": {"holidays": "", "hours": {}},
        "texts_dir": str(PACKAGED_TEXTS),
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return settings_from_dict(data, env={})


def text(sender: Address | str, body: str, *, at: datetime | None = None,
         event_id: str | None = None) -> Event:
    """A text (or a command, if it starts with '/') from `sender`."""
    address = Address.parse(sender) if isinstance(sender, str) else sender
    common: dict[str, Any] = {"id": event_id or f"test:{next(_ids)}", "sender": address,
                              "received_at": at or datetime.now().astimezone()}
    command = parse_command(body)
    if command:
        return CommandEvent(name=command[0], args=command[1], text=body, **common)
    return TextEvent(text=body, **common)


def choice(sender: Address | str, value: str, *, event_id: str | None = None) -> ChoiceEvent:
    address = Address.parse(sender) if isinstance(sender, str) else sender
    return ChoiceEvent(id=event_id or f"test:{next(_ids)}", sender=address,
                       received_at=datetime.now().astimezone(), value=value)


def media(sender: Address | str, ref: str, content_type: str = "image/jpeg", *,
          caption: str = "", group: str = "") -> MediaEvent:
    address = Address.parse(sender) if isinstance(sender, str) else sender
    kind = "image" if content_type.startswith("image/") else "document"
    return MediaEvent(id=f"test:{next(_ids)}", sender=address,
                      received_at=datetime.now().astimezone(),
                      media=(MediaRef(kind=kind, content_type=content_type, ref=ref),),
                      caption=caption, group=group)


class Harness:
    """A whole werkbot app in-process, with recording adapters and a frozen clock.

    Workers do not run by themselves: `await h.run()` handles everything due and sends
    what was queued, so a test decides exactly when time moves and work happens.
    """

    def __init__(self, settings: Settings, bundle: HandlerBundle, *,
                 channels: Sequence[str] = ("whatsapp", "sms", "telegram"),
                 clock: FrozenClock | None = None,
                 adapters: Sequence[Any] = ()) -> None:
        self.settings = settings
        self.clock = clock or FrozenClock(datetime.fromisoformat("2026-12-02T10:00:00+01:00"))
        self.adapters = {name: RecordingAdapter(name, CHANNEL_CAPS.get(name, RICH))
                         for name in channels}
        for extra in adapters:
            self.adapters[extra.name] = extra
        self.plugins = Plugins(adapters=list(self.adapters.values()), bundle=bundle)
        self.app = create_app(settings, plugins=self.plugins, clock=self.clock,
                              run_workers=False)
        self.client: TestClient[web.Request, web.Application] | None = None

    async def __aenter__(self) -> Harness:
        self.client = TestClient(TestServer(self.app))
        await self.client.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.close()
        if exc and exc[0] is None:
            leftover = [s.text for a in self.adapters.values()
                        if isinstance(a, RecordingAdapter) for s in a.sent
                        if UNFILLED.search(s.text)]
            # A text whose `{placeholder}` was never filled reached someone (issue 21).
            assert not leftover, f"unfilled placeholders sent: {leftover}"

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    def adapter(self, name: str) -> RecordingAdapter:
        return self.adapters[name]

    async def feed(self, *events: Event) -> int:
        """Store events through the durable inbox, as a webhook would."""
        return await self.app[INBOX].store(list(events))

    async def run(self) -> None:
        """Handle all due events and send all due messages, until nothing moves."""
        while (await self.app[DISPATCHER].drain()) + (await self.app[OUTBOX].drain()):
            pass

    async def say(self, sender: Address | str, body: str) -> list[Sent]:
        """Send a text as `sender`, run everything, and return what `sender` got back."""
        address = Address.parse(sender) if isinstance(sender, str) else sender
        before = len(self.adapters[address.channel].to(address))
        await self.feed(text(address, body, at=self.clock.now()))
        await self.run()
        return self.adapters[address.channel].to(address)[before:]

    def all_sent(self) -> list[Sent]:
        return [s for a in self.adapters.values() for s in a.sent]

    async def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        await self.run()


def offered(reply: Reply) -> list[str]:
    """The choices a reply offers, as the recipient sees them: the buttons' labels, or,
    on a channel without buttons (WhatsApp, SMS), the numbered lines they became."""
    if isinstance(reply, ChoicesReply):
        return [choice.label for choice in reply.choices]
    if isinstance(reply, TextReply):
        return _NUMBERED.findall(reply.text)
    return []
