"""`TwilioAdapter`: one Twilio channel (WhatsApp or SMS) as a werkbot adapter.

It composes the pieces of this package: signature check, form parsing, status callbacks,
outbound rendering and media download. Its routes verify first (403, nothing read into
the inbox), then parse (400 for what is not a readable message), then `feed` the events,
which returns once they are stored durably, and only then answer 200 with empty TwiML:
replies never go in the TwiML body but through the outbox. A store that fails (the
database down or locked) is answered 503, never 2xx, so Twilio delivers it again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web
from multidict import MultiDict

from werkbot.adapters.twilio.capabilities import WHATSAPP_CAPABILITIES, sms_capabilities
from werkbot.adapters.twilio.client import TwilioApi
from werkbot.adapters.twilio.form import parse_form
from werkbot.adapters.twilio.inbound import IDEMPOTENCY_HEADER, InboundError, parse_message
from werkbot.adapters.twilio.media import MMS_LIMITS, WHATSAPP_LIMITS, MediaFetcher, MediaLimits
from werkbot.adapters.twilio.outbound import Outbound, erase_copies
from werkbot.adapters.twilio.signature import SIGNATURE_HEADER, SignatureChecker, signed_url
from werkbot.adapters.twilio.status import parse_status
from werkbot.bot.adapter import Feed, MediaAccess, Receipt, count_duplicates
from werkbot.bot.addresses import Address
from werkbot.bot.events import Event, MediaRef
from werkbot.bot.replies import Reply
from werkbot.bot.settings import TwilioSettings

log = logging.getLogger(__name__)

Parser = Callable[..., Event | list[Event]]
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
RECENT_TOKENS = 4096


class TwilioAdapter:
    """A Twilio channel: `whatsapp` or `sms`. Holds the shared `TwilioApi`, never is one."""

    def __init__(self, channel: str, settings: TwilioSettings, public_url: str, api: TwilioApi,
                 *, clock: Callable[[], datetime] | None = None) -> None:
        if channel not in ("whatsapp", "sms"):
            raise ValueError(f"not a Twilio channel: {channel!r}")
        self.name = channel
        self.capabilities = (WHATSAPP_CAPABILITIES if channel == "whatsapp"
                             else sms_capabilities(settings.mms))
        self.api = api
        self._public_url = public_url.rstrip("/")
        self._checker = SignatureChecker(settings.auth_token)
        sender = settings.whatsapp_from if channel == "whatsapp" else settings.sms_from
        if channel == "whatsapp" and not sender.lower().startswith("whatsapp:"):
            sender = f"whatsapp:{sender}"
        self.outbound = Outbound(channel, api, sender, public_url, settings.templates)
        limits: MediaLimits = WHATSAPP_LIMITS if channel == "whatsapp" else MMS_LIMITS
        self._fetcher = MediaFetcher(settings.api_base, settings.account_sid,
                                     settings.auth_token, limits)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._feed: Feed | None = None
        self._recent: OrderedDict[str, None] = OrderedDict()

    @property
    def webhook_url(self) -> str:
        return f"{self._public_url}/webhooks/{self.name}"

    @property
    def status_url(self) -> str:
        return f"{self.webhook_url}/status"

    def describe(self) -> str:
        """What `werkbot check` prints: where to paste which URL in the Twilio console."""
        return (f"sender {self.outbound.sender}: set 'A message comes in' to "
                f"{self.webhook_url} (HTTP POST); status callbacks go to {self.status_url} "
                "with every message")

    async def start(self, feed: Feed, media: MediaAccess) -> None:
        self._feed = feed
        self.outbound.media = media
        await self.api.open()

    async def stop(self) -> None:
        self._feed = None
        await self.api.close()

    def routes(self) -> Sequence[web.AbstractRouteDef]:
        return [web.post(f"/webhooks/{self.name}", self._on_message),
                web.post(f"/webhooks/{self.name}/status", self._on_status)]

    async def send(self, address: Address, reply: Reply) -> Receipt:
        return await self.outbound.send(address, reply)

    async def find_sent(self, address: Address, reply: Reply, since: datetime
                        ) -> Receipt | None:
        """Twilio's copy of a send whose outcome is unknown (`bot.adapter.SentFinder`)."""
        return await self.outbound.find_sent(address, reply, since)

    async def fetch_media(self, ref: MediaRef) -> tuple[bytes, str]:
        return await self._fetcher.fetch(self.api.session, ref.ref, ref.content_type)

    async def erase_messages(self, provider_ids: Sequence[str]) -> list[str]:
        """Delete Twilio's copies (erasure, Art. 17); returns the ids to try again later."""
        return await erase_copies(self.api, provider_ids)

    async def verify(self, request: web.Request) -> MultiDict[str]:
        """The request's form if its signature is Twilio's; raises 403 or 400 otherwise."""
        if not request.headers.get(SIGNATURE_HEADER):
            log.warning("%s webhook without signature refused", self.name)
            raise web.HTTPForbidden(text="signature required")
        body = await request.read()  # over the body limit: aiohttp raises 413
        try:
            form = parse_form(body)
        except (UnicodeDecodeError, ValueError):
            log.warning("%s webhook body is not UTF-8 form data; refused", self.name)
            raise web.HTTPBadRequest(text="malformed form body") from None
        url = signed_url(self._public_url, request.raw_path)
        if not self._checker.valid(url, form, request.headers):
            log.warning("%s webhook with a wrong signature refused", self.name)
            raise web.HTTPForbidden(text="invalid signature")
        return form

    def parse(self, form: MultiDict[str], token: str = "", *, status: bool = False
              ) -> list[Event]:
        """Events for a verified form; `InboundError` for one that is not readable."""
        now = self._clock()
        if status:
            return parse_status(self.name, form, now=now, token=token)
        return [parse_message(self.name, form, now=now, token=token)]

    async def _on_message(self, request: web.Request) -> web.Response:
        return await self._handle(request, status=False)

    async def _on_status(self, request: web.Request) -> web.Response:
        return await self._handle(request, status=True)

    async def _handle(self, request: web.Request, *, status: bool) -> web.Response:
        form = await self.verify(request)
        token = request.headers.get(IDEMPOTENCY_HEADER, "")[:200]
        if token and token in self._recent:
            count_duplicates(self._feed, self.name)
            return _twiml()  # a redelivery already stored: the same answer, no new work
        try:
            events = self.parse(form, token, status=status)
        except InboundError as exc:
            log.warning("%s %s refused: %s", self.name, "status" if status else "webhook", exc)
            raise web.HTTPBadRequest(text=str(exc)) from None
        if self._feed is None:
            raise web.HTTPServiceUnavailable(text="not started")
        try:
            await self._feed(events)
        except Exception as exc:  # not stored: a 503 makes Twilio deliver it again
            log.error("%s %s could not be stored (%s); answered 503", self.name,
                      "status" if status else "webhook", type(exc).__name__)
            raise web.HTTPServiceUnavailable(text="try again",
                                             headers={"Retry-After": "1"}) from None
        if token:
            self._recent[token] = None
            while len(self._recent) > RECENT_TOKENS:
                self._recent.popitem(last=False)
        if log.isEnabledFor(logging.DEBUG):  # one line per message (metrics count them)
            for event in events:
                log.debug("%s %s %s from %s stored", self.name, type(event).__name__,
                          event.id.rsplit(":", 1)[-1], event.sender.masked())
        return _twiml()


_TWIML_BODY = EMPTY_TWIML.encode()


def _twiml() -> web.Response:
    return web.Response(body=_TWIML_BODY, content_type="text/xml", charset="utf-8")
