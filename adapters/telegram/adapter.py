"""The Telegram adapter: webhook or long polling in, aiogram's `Bot` client out.

- Webhook mode: `POST /webhooks/telegram`; the `X-Telegram-Bot-Api-Secret-Token` header is
  compared in constant time (missing: 401, wrong: 403, nothing stored), the update is
  stored through `feed` and only then answered 200. `start()` returns at once; in the
  background aiogram loads and the webhook is set when Telegram's `getWebhookInfo` differs
  from what werkbot wants, retried with back-off (`state`, shown in `/healthz`).
- Polling mode: no route; in the background any webhook is deleted (one try) and a
  getUpdates loop runs.
- Embedded mode (the plug-ins): no route, no polling, no webhook; the host bot receives
  updates and hands them to `accept`.

In every mode `accept` parses, drops update ids already seen, feeds the events and answers
callback queries, so a button never spins. aiogram is imported only after `start()`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from werkbot.adapters.telegram.capabilities import CAPABILITIES
from werkbot.adapters.telegram.memory import ChatMemory, SeenUpdates
from werkbot.adapters.telegram.parse import CHANNEL, Parsed, parse_update
from werkbot.bot.adapter import Feed, MediaAccess, Receipt, SendError, count_duplicates
from werkbot.bot.addresses import Address
from werkbot.bot.clock import Clock
from werkbot.bot.events import ChoiceEvent, ContactEvent, Event, MediaRef, TextEvent
from werkbot.bot.replies import Reply
from werkbot.bot.settings import Settings
from werkbot.bot.untrusted import UntrustedInput, loads_json

if TYPE_CHECKING:
    from werkbot.adapters.telegram.client import TelegramClient
    from werkbot.adapters.telegram.polling import Poller
    from werkbot.adapters.telegram.sender import ReplySender

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
CALLBACK_ANSWER_TIMEOUT = 5.0


class _UTCClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class TelegramAdapter:
    """The `telegram` channel. `embedded=True` is the plug-in mode (see module docstring)."""

    name = CHANNEL
    capabilities = CAPABILITIES

    def __init__(self, settings: Settings, *, embedded: bool = False, clock: Clock | None = None,
                 poll_timeout: int = 25, retry_delay: float = 1.0) -> None:
        self.settings = settings.telegram
        self.embedded = embedded
        self.webhook_url = settings.server.public_url.rstrip("/") + WEBHOOK_PATH
        self.memory = ChatMemory()
        self._clock: Clock = clock or _UTCClock()
        self._poll_timeout = poll_timeout
        self._seen = SeenUpdates()
        self._feed: Feed | None = None
        self._client: TelegramClient | None = None
        self._sender: ReplySender | None = None
        self._poller: Poller | None = None
        self._starting: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._retry_delay = retry_delay
        self.state = "ok" if embedded else "stopped"  # the webhook's, shown in /healthz

    @property
    def polling(self) -> bool:
        return not self.embedded and self.settings.mode == "polling"

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        if self.embedded or self.polling:
            return []  # no route means no unauthenticated way in (there may be no secret)
        return [web.post(WEBHOOK_PATH, self._webhook)]

    async def start(self, feed: Feed, media: MediaAccess) -> None:
        self._feed = feed
        if self.embedded:  # the host bot has loaded aiogram already
            self._use_client(media)
            return
        self.state = "registering"
        self._ready = asyncio.Event()
        self._starting = asyncio.create_task(self._start_in_background(media),
                                             name="telegram-start")

    async def _start_in_background(self, media: MediaAccess) -> None:
        """Load aiogram in a thread, then set (or, for polling, delete) the webhook with
        back-off; the server answers meanwhile (see `starting`)."""
        from werkbot.adapters.telegram.starting import keep_trying, load_client_modules

        try:
            await load_client_modules()
            client = self._use_client(media)
        except Exception as exc:  # aiogram missing or broken: sends fail, the rest serves
            log.exception("telegram client could not be loaded")
            self.state = f"failed: {type(exc).__name__}"
            self._ready.set()
            return
        if self.polling:  # one try: the poller retries getUpdates (and logs) on its own
            try:
                await client.delete_webhook()
                self.state = "ok"
            except SendError as exc:
                log.error("telegram deleteWebhook failed (%s); polling anyway", exc.code)
                self.state = f"failed: {exc.code}"
            from werkbot.adapters.telegram.polling import Poller

            self._poller = Poller(client, self.accept, self._poll_timeout)
            self._poller.start()
            return

        async def register() -> None:
            if await client.ensure_webhook(self.webhook_url, self.settings.webhook_secret):
                log.info("telegram webhook set")

        await keep_trying(register, self._report, what="setWebhook",
                          first_delay=self._retry_delay)

    def _report(self, state: str) -> None:
        self.state = state

    def _use_client(self, media: MediaAccess) -> TelegramClient:
        # Deferred imports: aiogram loads only when Telegram is switched on.
        from werkbot.adapters.telegram.client import TelegramClient
        from werkbot.adapters.telegram.sender import ReplySender

        client = TelegramClient(self.settings.token, self.settings.api_base)
        self._client = client
        self._sender = ReplySender(client, media, self.memory)
        self._ready.set()
        return client

    async def _started(self) -> None:
        """Wait until the client exists (the first seconds after start)."""
        if self._client is None and self._starting is not None:
            await self._ready.wait()

    async def stop(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
            self._starting = None
        if self._poller is not None:
            await self._poller.stop()
            self._poller = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> TelegramClient:
        if self._client is None:
            raise RuntimeError("the telegram adapter is not started")
        return self._client

    async def _webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            raise web.HTTPUnauthorized(text="missing secret token")
        if not hmac.compare_digest(given.encode(), self.settings.webhook_secret.encode()):
            raise web.HTTPForbidden(text="wrong secret token")
        try:
            update = loads_json(await request.read())
        except UntrustedInput as exc:  # not JSON, or nested deeper than any Update
            log.warning("telegram webhook refused: %s", exc)
            raise web.HTTPBadRequest(text=f"body must be a JSON Update: {exc}") from None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise web.HTTPBadRequest(text="body must be a JSON Update")
        try:
            await self.accept([update])
        except Exception:  # not stored: a 503 makes Telegram deliver it again
            log.exception("telegram update could not be stored")
            raise web.HTTPServiceUnavailable(text="try again") from None
        return web.Response(status=200)

    async def accept(self, updates: Sequence[Mapping[str, Any]]) -> list[Parsed]:
        """Parse, de-duplicate and store updates (one `feed` call), then answer buttons."""
        if self._feed is None:
            raise RuntimeError("the telegram adapter is not started")
        now = self._clock.now()
        taken: list[Parsed] = []
        for update in updates:
            parsed = parse_update(update, now, self.settings.bot_username)
            if parsed.update_id is None:
                continue
            if not self._seen.first_time(parsed.update_id):
                count_duplicates(self._feed, CHANNEL)
                continue
            parsed = dataclasses.replace(parsed, events=tuple(
                self._with_keyboard(e) for e in parsed.events))
            if not parsed.events:
                log.info("telegram update %s (%s) acknowledged and ignored",
                         parsed.update_id, parsed.kind or "empty")
            taken.append(parsed)
        try:
            await self._feed([event for parsed in taken for event in parsed.events])
        except BaseException:
            for parsed in taken:
                if parsed.update_id is not None:
                    self._seen.forget(parsed.update_id)
            raise
        for parsed in taken:
            if parsed.callback_id:
                await self._answer(parsed.callback_id)
        return taken

    def _with_keyboard(self, event: Event) -> Event:
        """A reply-keyboard press arrives as text: turn it back into the choice it was."""
        if isinstance(event, ContactEvent):
            self.memory.keyboard_done(event.sender.id)
        if not isinstance(event, TextEvent):
            return event
        value = self.memory.keyboard_value(event.sender.id, event.text)
        if value is None:
            return event
        self.memory.keyboard_done(event.sender.id)
        return ChoiceEvent(id=event.id, sender=event.sender, received_at=event.received_at,
                           sender_name=event.sender_name, reply_to=event.reply_to,
                           thread=event.thread, actor=event.actor, raw=event.raw,
                           value=value, label=event.text)

    async def _answer(self, query_id: str) -> None:
        try:
            async with asyncio.timeout(CALLBACK_ANSWER_TIMEOUT):  # not wait_for (3.11)
                await self._started()
                await self.client.answer_callback(query_id)
        except TimeoutError:
            log.warning("answerCallbackQuery timed out")

    async def send(self, address: Address, reply: Reply) -> Receipt:
        await self._started()
        if self._sender is None:
            raise SendError("telegram adapter not started", code="not-started", retryable=True)
        return await self._sender.send(address.id, reply)

    async def erase_messages(self, provider_ids: Sequence[str]) -> list[str]:
        """Erasure: delete werkbot's copies of a person's data in staff's and the office's
        chats; returns the ids to try again later."""
        await self._started()
        return await self.client.delete_copies(provider_ids)

    async def fetch_media(self, ref: MediaRef) -> tuple[bytes, str]:
        await self._started()
        data, content_type = await self.client.download(ref.ref, ref.size)
        return data, ref.content_type or content_type
