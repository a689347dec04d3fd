"""An example third-party werkbot channel, `echo`: a webhook in, JSON replies out.

Inbound: `POST /webhooks/echo` with the header `X-Echo-Token: <echo.token>` and JSON
`{"id": "m1", "from": "alice", "text": "hallo", "name": "Alice"}`. Outbound: every reply
werkbot sends to `echo:alice` is POSTed as JSON `{"to": "alice", "text": ...}` to
`echo.outbound_url`. Configured by its own section:

    [echo]
    token = "a-long-random-secret"     # empty: the channel is off
    outbound_url = "https://chat.example.de/outbound"
    price_list = "Anfahrt 45 EUR, jede Stunde 68 EUR"   # empty: no answer to `preise`

It also brings a handler of its own, on every channel: `preise` (or `prices`) is answered
with `echo.price_list`. werkbot puts it after its consent gate, so only a customer who
agreed gets the answer; what someone writes before agreeing is held and answered after.

The `plugin` object below is what the entry point in pyproject.toml names.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from werkbot.bot.adapter import Feed, MediaAccess, MediaUnavailable, Receipt, SendError
from werkbot.bot.addresses import Address
from werkbot.bot.capabilities import Capabilities
from werkbot.bot.context import Context
from werkbot.bot.events import MediaRef, TextEvent
from werkbot.bot.plugins import Plugin
from werkbot.bot.replies import Reply, TextReply, text_of
from werkbot.bot.router import Router
from werkbot.bot.settings import Settings, SettingsError

CHANNEL = "echo"
ROUTE = "/webhooks/echo"
PRICE_WORDS = frozenset({"preise", "prices"})


@dataclass(frozen=True)
class EchoSettings:
    """The `[echo]` section; every field has a default, so werkbot runs without it."""

    token: str = ""
    outbound_url: str = ""
    timeout: timedelta = timedelta(seconds=10)
    price_list: str = ""  # the answer to `preise`; empty: the word is left to werkbot


class EchoChannel:
    """werkbot's `Adapter` protocol (werkbot.bot.adapter) for the echo service."""

    name = CHANNEL
    capabilities = Capabilities(max_text=2000)  # text only: werkbot numbers any choices

    def __init__(self, section: EchoSettings) -> None:
        self.section = section
        self._feed: Feed | None = None
        self._http: aiohttp.ClientSession | None = None
        self._sent = 0

    async def start(self, feed: Feed, media: MediaAccess) -> None:
        self._feed = feed
        timeout = aiohttp.ClientTimeout(total=self.section.timeout.total_seconds())
        self._http = aiohttp.ClientSession(timeout=timeout)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [web.post(ROUTE, self._inbound)]

    async def _inbound(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Echo-Token", "")
        if not hmac.compare_digest(given.encode(), self.section.token.encode()):
            raise web.HTTPForbidden(text="bad token")
        try:
            body: Any = await request.json()
            event = TextEvent(id=f"{CHANNEL}:{body['id']}",
                              sender=Address(CHANNEL, str(body["from"])),
                              sender_name=str(body.get("name", "")),
                              received_at=datetime.now(UTC), text=str(body["text"]))
        except (ValueError, KeyError, TypeError):
            raise web.HTTPBadRequest(text="expected JSON with id, from and text") from None
        if self._feed is None:
            raise web.HTTPServiceUnavailable(text="not started")
        await self._feed([event])  # stored durably; werkbot handles it in the background
        return web.json_response({"ok": True})

    async def send(self, address: Address, reply: Reply) -> Receipt:
        if self._http is None:
            raise SendError("echo channel not started", retryable=True)
        payload = {"to": address.id, "text": text_of(reply), "kind": reply.kind}
        try:
            async with self._http.post(self.section.outbound_url, json=payload) as resp:
                if resp.status >= 500 or resp.status == 429:
                    raise SendError(f"echo service answered {resp.status}",
                                    code=str(resp.status), retryable=True)
                if resp.status >= 400:
                    raise SendError(f"echo service refused: {resp.status}",
                                    code=str(resp.status))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"echo service unreachable: {type(exc).__name__}",
                            retryable=True) from exc
        self._sent += 1
        return Receipt(provider_id=f"{CHANNEL}-{self._sent}")

    async def fetch_media(self, ref: MediaRef) -> tuple[bytes, str]:
        raise MediaUnavailable("the echo channel carries no media")


def build(settings: Settings) -> list[EchoChannel]:
    """The echo channel when `echo.token` is set, else nothing."""
    section = settings.section(EchoSettings)
    if not section.token:
        return []
    if not section.outbound_url.startswith(("http://", "https://")):
        raise SettingsError("echo.outbound_url", "expected an http(s) URL")
    return [EchoChannel(section)]


def price_routers(settings: Settings) -> list[Router]:
    """The `preise` handler, when `echo.price_list` is set."""
    answer = settings.section(EchoSettings).price_list
    if not answer:
        return []
    router = Router("echo.prices")

    def asks_for_prices(event: TextEvent, ctx: Context) -> bool:
        return event.text.strip(" ?!.").lower() in PRICE_WORDS

    @router.on(TextEvent, asks_for_prices)
    async def prices(event: TextEvent, ctx: Context) -> None:
        await ctx.reply(TextReply(kind="echo_prices", text=answer))

    return [router]


plugin = Plugin(name=CHANNEL, section=EchoSettings, adapters=build, routers=price_routers)
