"""The sandbox channel: a web chat that plays WhatsApp, SMS or Telegram, for demos and tests.

It simulates every real channel that is switched off, with that channel's capabilities,
so the same addresses (`whatsapp:+4917...`) work as they would for real. A person picks
a channel and a number and chats at `/sandbox`; the transcript shows everything the bot
sends to everyone, staff included. `/sandbox/api/` does the same for scripts:

- `POST /sandbox/api/messages` JSON `{"channel", "from", "text" | "choice", "id"?, "name"?,
  "reply_to"?}`; `reply_to` names a message the bot sent (`sandbox-<seq>`, its `id` in
  the transcript), as a Telegram reply or a WhatsApp quoted reply would
- `POST /sandbox/api/media` multipart `channel`, `from`, `file`, `caption`
- `GET  /sandbox/api/transcript?after=N&wait=S` (long-poll); each message the bot sent
  carries its `id`, and `office` lists the simulated addresses of office and admin staff,
  so the page can show the office's view beside the customer's

Malformed input gets 400 and a message saying what is wrong.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from werkbot.adapters.telegram.capabilities import CAPABILITIES as TELEGRAM_CAPABILITIES
from werkbot.adapters.twilio.capabilities import WHATSAPP_CAPABILITIES, sms_capabilities
from werkbot.bot.adapter import Feed, MediaAccess, Receipt
from werkbot.bot.addresses import Address, AddressError, looks_like_phone
from werkbot.bot.capabilities import Capabilities
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    Event,
    MediaEvent,
    MediaRef,
    TextEvent,
    parse_command,
)
from werkbot.bot.media import kind_of, safe_filename, sniff
from werkbot.bot.plugins import Plugin
from werkbot.bot.replies import ChoicesReply, MediaReply, Reply, TemplateReply, TextReply
from werkbot.bot.settings import Settings
from werkbot.bot.untrusted import UntrustedInput, loads_json

log = logging.getLogger(__name__)
_SENT_ID = re.compile(r"sandbox-[0-9]{1,12}")
PAGE = Path(__file__).with_name("static") / "sandbox.html"
MAX_TEXT = 4096
MAX_TRANSCRIPT = 5000

SIMULATED = ("whatsapp", "sms", "telegram")


def simulated_capabilities(channel: str, settings: Settings) -> Capabilities:
    """The real adapter's capabilities for `channel`, so the sandbox renders as it does."""
    if channel == "whatsapp":
        return WHATSAPP_CAPABILITIES
    if channel == "sms":
        return sms_capabilities(settings.twilio.mms)
    if channel == "telegram":
        return TELEGRAM_CAPABILITIES
    raise ValueError(f"the sandbox does not simulate {channel!r}")


class SandboxInputError(ValueError):
    """Sandbox input that cannot become an event; answered with 400."""


class SandboxHub:
    """The shared transcript and uploads of all simulated channels, and the HTTP routes."""

    def __init__(self, channels: Sequence[str], max_upload: int,
                 office: Sequence[dict[str, str]] = ()) -> None:
        self.channels = tuple(channels)
        self.office = [dict(entry) for entry in office]
        self.max_upload = max_upload
        self.transcript: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._changed = asyncio.Condition()
        self._uploads: dict[str, bytes] = {}
        self._feed: Feed | None = None
        self.media: MediaAccess | None = None

    async def record(self, direction: str, address: Address, body: dict[str, Any]) -> int:
        seq = next(self._seq)
        if direction == "out":
            body = {**body, "id": f"sandbox-{seq}"}  # the provider id a reply names
        self.transcript.append({"seq": seq, "direction": direction, "channel": address.channel,
                                "address": address.id, "at": datetime.now(UTC).isoformat(),
                                **body})
        del self.transcript[:-MAX_TRANSCRIPT]
        async with self._changed:
            self._changed.notify_all()
        return seq

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/sandbox", self._page),
            web.get("/sandbox/api/transcript", self._transcript),
            web.post("/sandbox/api/messages", self._message),
            web.post("/sandbox/api/media", self._upload),
        ]

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE.read_text(encoding="utf-8"), content_type="text/html")

    async def _transcript(self, request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("after", "0"))
            wait = min(float(request.query.get("wait", "0")), 25.0)
        except ValueError:
            raise web.HTTPBadRequest(text="after and wait must be numbers") from None
        if wait > 0 and not any(e["seq"] > after for e in self.transcript):
            async with self._changed:
                with suppress(TimeoutError):  # not wait_for (it can lose a cancellation)
                    async with asyncio.timeout(wait):
                        await self._changed.wait()
        return web.json_response({"messages": [e for e in self.transcript if e["seq"] > after],
                                  "channels": list(self.channels), "office": self.office})

    async def _message(self, request: web.Request) -> web.Response:
        try:
            data = loads_json(await request.read())
        except UntrustedInput as exc:
            raise web.HTTPBadRequest(text=f"body must be JSON: {exc}") from None
        try:
            event = self._event_from(data)
        except SandboxInputError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        await self._store(event, {"kind": "text", "text": getattr(event, "text", "")
                                  or getattr(event, "value", ""), "reply_to": event.reply_to})
        return web.json_response({"ok": True, "id": event.id})

    async def _upload(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > self.max_upload:
            raise web.HTTPRequestEntityTooLarge(max_size=self.max_upload,
                                                actual_size=request.content_length)
        try:
            form = await request.post()
        except ValueError:
            raise web.HTTPBadRequest(text="expected a multipart form") from None
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            raise web.HTTPBadRequest(text="field 'file' must be a file")
        data = upload.file.read(self.max_upload + 1)
        if len(data) > self.max_upload:
            raise web.HTTPRequestEntityTooLarge(max_size=self.max_upload, actual_size=len(data))
        try:
            sender = self._sender(str(form.get("channel", "")), str(form.get("from", "")))
        except SandboxInputError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        ref = f"sandbox-upload:{uuid.uuid4().hex}"
        self._uploads[ref] = data
        content_type = sniff(data)
        media = MediaRef(kind=kind_of(content_type), content_type=content_type, ref=ref,
                         filename=safe_filename(upload.filename or ""), size=len(data))
        event = MediaEvent(id=f"sandbox:{uuid.uuid4().hex}", sender=sender,
                           received_at=datetime.now(UTC), media=(media,),
                           caption=str(form.get("caption", ""))[:MAX_TEXT])
        await self._store(event, {"kind": "media", "text": event.caption,
                                  "media": [media.kind], "filename": media.filename})
        return web.json_response({"ok": True, "id": event.id})

    async def _store(self, event: Event, body: dict[str, Any]) -> None:
        if self._feed is None:
            raise web.HTTPServiceUnavailable(text="sandbox is starting")
        try:
            await self._feed([event])  # stored durably before we answer
        except Exception:  # the database is down or locked: say so, the sender may retry
            log.warning("sandbox message not stored: database unavailable")
            raise web.HTTPServiceUnavailable(text="not stored, try again",
                                             headers={"Retry-After": "1"}) from None
        await self.record("in", event.sender, body)

    def _sender(self, channel: str, ident: str) -> Address:
        if channel not in self.channels:
            raise SandboxInputError(f"channel must be one of {', '.join(self.channels)}")
        if not ident.strip():
            raise SandboxInputError("'from' is required: a phone number or a chat id")
        try:
            if channel == "telegram":
                if not ident.strip().lstrip("-").isdigit():
                    raise SandboxInputError("a Telegram 'from' is a numeric chat id")
                return Address("telegram", ident.strip())
            if not looks_like_phone(ident):  # the sandbox plays phone numbers on these
                raise SandboxInputError(f"a {channel} 'from' is a phone number")
            return Address.of(channel, ident)
        except AddressError as exc:
            raise SandboxInputError(str(exc)) from None

    def _event_from(self, data: Any) -> Event:
        if not isinstance(data, dict):
            raise SandboxInputError("body must be a JSON object")
        sender = self._sender(str(data.get("channel", "")), str(data.get("from", "")))
        event_id = str(data.get("id") or f"sandbox:{uuid.uuid4().hex}")
        reply_to = data.get("reply_to", "")
        if not isinstance(reply_to, str) or (reply_to and not _SENT_ID.fullmatch(reply_to)):
            raise SandboxInputError("'reply_to' is the id of a message the bot sent "
                                    "(sandbox-<number>)")
        common: dict[str, Any] = {"id": event_id, "sender": sender,
                                  "received_at": datetime.now(UTC),
                                  "sender_name": str(data.get("name", ""))[:100],
                                  "reply_to": reply_to}
        if "choice" in data:
            return ChoiceEvent(value=str(data["choice"])[:64], **common)
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise SandboxInputError("'text' (a non-empty string) or 'choice' is required")
        if len(text) > MAX_TEXT:
            raise SandboxInputError(f"'text' is longer than {MAX_TEXT} characters")
        command = parse_command(text)
        if command is not None:
            return CommandEvent(name=command[0], args=command[1], text=text, **common)
        return TextEvent(text=text, **common)

    def attach(self, feed: Feed, media: MediaAccess) -> None:
        self._feed, self.media = feed, media

    def upload(self, ref: str) -> bytes:
        return self._uploads[ref]


@dataclass
class SandboxChannel:
    """One simulated channel; all of them share one hub."""

    name: str
    capabilities: Capabilities
    hub: SandboxHub
    owns_routes: bool = False

    async def start(self, feed: Feed, media: MediaAccess) -> None:
        self.hub.attach(feed, media)

    async def stop(self) -> None:
        return None

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return self.hub.routes() if self.owns_routes else []

    async def send(self, address: Address, reply: Reply) -> Receipt:
        seq = await self.hub.record("out", address, self._render(reply))
        return Receipt(provider_id=f"sandbox-{seq}")

    async def fetch_media(self, ref: MediaRef) -> tuple[bytes, str]:
        data = self.hub.upload(ref.ref)
        return data, ref.content_type

    def _render(self, reply: Reply) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": reply.kind, "thread": reply.thread}
        if isinstance(reply, TextReply):
            body["text"] = reply.text
        elif isinstance(reply, ChoicesReply):
            body["text"] = reply.text
            body["choices"] = [{"label": c.label, "value": c.value} for c in reply.choices]
        elif isinstance(reply, MediaReply):
            body["text"] = reply.caption
            media = self.hub.media
            body["media"] = [media.link(m) if media else str(m) for m in reply.media_ids]
        elif isinstance(reply, TemplateReply):
            body["text"] = reply.fallback_text
            body["template"] = reply.template
        return body


def build(settings: Settings) -> list[SandboxChannel]:
    """Simulate every switched-off channel when the sandbox is on."""
    if not settings.server.sandbox:
        return []
    real = {"whatsapp": bool(settings.twilio.whatsapp_from),
            "sms": bool(settings.twilio.sms_from), "telegram": bool(settings.telegram.token)}
    names = [name for name in SIMULATED if not real[name]]
    hub = SandboxHub(names, settings.media.max_upload_bytes, _office_view(settings, names))
    return [SandboxChannel(name, simulated_capabilities(name, settings), hub,
                           owns_routes=(i == 0))
            for i, name in enumerate(names)]


def _office_view(settings: Settings, channels: Sequence[str]) -> list[dict[str, str]]:
    """The simulated addresses of office and admin staff, office first: the page's right
    pane plays them, so a demo shows the customer and the office side by side."""
    found = []
    for role in ("office", "admin"):
        for staff in settings.staff:
            if role not in staff.roles:
                continue
            for channel, ident in (("telegram", staff.telegram), ("whatsapp", staff.whatsapp),
                                   ("sms", staff.sms)):
                if ident and channel in channels:
                    found.append({"channel": channel, "address": str(ident),
                                  "name": staff.name or staff.id})
    return list({(e["channel"], e["address"]): e for e in found}.values())


plugin = Plugin(name="sandbox", adapters=build)  # the `werkbot.plugins` entry point
