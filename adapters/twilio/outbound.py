"""Outbound messages: a reply becomes one `POST .../Messages.json` through twilio-python.

Every message names `From` (the configured sender) and `StatusCallback`
(`{public_url}/webhooks/{channel}/status`); media goes as `MediaUrl`s that are signed
public links from the media store; a WhatsApp template goes as `ContentSid` plus
`ContentVariables` (JSON) and no `Body`. Twilio's errors are mapped to `SendError` so
the outbox knows whether to retry (429/20429, 5xx, network), mark the address
unreachable (21610: the SMS recipient sent STOP) or fail for good with the code.

`find_sent` answers the outbox's question after a send whose outcome is unknown (time-out,
dropped connection): did Twilio create the message anyway? It reads Twilio's message list
(`GET .../Messages.json?To=...&From=...&DateSent>=...`, one page, newest first) and matches
the recipient, the sender, the rendered body and the number of media, created since the
given time. A WhatsApp Content template cannot be matched (the list shows neither its
ContentSid nor a body werkbot knows), so it is reported as not found: sent again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from aiohttp import ClientError
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)

from werkbot.adapters.twilio.client import TwilioApi
from werkbot.adapters.twilio.segments import count_segments
from werkbot.bot.adapter import UNREADABLE, MediaAccess, Receipt, SendError
from werkbot.bot.addresses import Address
from werkbot.bot.replies import ChoicesReply, MediaReply, Reply, TemplateReply, TextReply

log = logging.getLogger(__name__)

RETRY_CODES = frozenset({20429})
UNREACHABLE_CODES = frozenset({21610})
LOOKUP_PAGE_SIZE = 50
# Twilio's status of a message found in its list, as the outbox records it. Not here:
# failed, undelivered and canceled (the recipient never got it: not a match) and inbound.
FOUND_STATUS = {"accepted": "accepted", "scheduled": "accepted", "queued": "accepted",
                "sending": "accepted", "sent": "sent", "delivered": "delivered",
                "partially_delivered": "delivered", "read": "read"}


class Outbound:
    """Renders replies for one channel (`whatsapp` or `sms`) and sends them."""

    def __init__(self, channel: str, api: TwilioApi, sender: str, public_url: str,
                 templates: Mapping[str, str]) -> None:
        self.channel = channel
        self._api = api
        self.sender = sender
        self._callback = f"{public_url.rstrip('/')}/webhooks/{channel}/status"
        self._templates = dict(templates)
        self.media: MediaAccess | None = None

    def recipient(self, address: Address) -> str:
        return f"whatsapp:{address.id}" if self.channel == "whatsapp" else address.id

    def params(self, address: Address, reply: Reply) -> dict[str, Any]:
        """The form of the `POST .../Messages.json` that sends this reply."""
        params: dict[str, Any] = {"To": self.recipient(address), "From": self.sender,
                                  "StatusCallback": self._callback}
        if isinstance(reply, TemplateReply):
            if self.channel != "whatsapp":
                params["Body"] = reply.fallback_text
                return params
            content_sid = self._templates.get(reply.template, "")
            if not content_sid:
                raise SendError(f"no ContentSid configured for template {reply.template!r}",
                                code="no-template", unreachable=True)
            params["ContentSid"] = content_sid
            params["ContentVariables"] = json.dumps(reply.variables, ensure_ascii=False)
            return params
        if isinstance(reply, MediaReply):
            if self.media is None:
                raise SendError("media access not started", code="not-started", retryable=True)
            params["MediaUrl"] = [self.media.link(media_id) for media_id in reply.media_ids]
            if reply.caption:
                params["Body"] = reply.caption
            return params
        if isinstance(reply, ChoicesReply):
            # Reached only if the core did not degrade it: numbered text is what
            # WhatsApp (without Content templates) and SMS can both carry.
            lines = [reply.text, *(f"{i}) {c.label}" for i, c in enumerate(reply.choices, 1))]
            params["Body"] = "\n".join(lines)
            return params
        if isinstance(reply, TextReply):
            params["Body"] = reply.text
            return params
        raise SendError(f"cannot render {type(reply).__name__}", code="unsupported")

    async def send(self, address: Address, reply: Reply) -> Receipt:
        params = self.params(address, reply)
        if self.channel == "sms" and "Body" in params:
            segments = count_segments(params["Body"])
            log.debug("sms to %s: %d %s segment(s)", address.masked(), segments.count,
                      segments.encoding)
        try:
            message = await self._api.call("POST", f"{self._api.messages_url}.json",
                                           data=params)
        except (TwilioRestException, TwilioServiceException) as exc:
            # twilio-python raises TwilioServiceException (not a TwilioRestException) for
            # RFC 9457 problem bodies; both carry `status` and `code`.
            raise classify(exc) from None
        except (ClientError, TimeoutError) as exc:
            raise SendError(f"network error {type(exc).__name__}", code="network",
                            retryable=True) from None
        except ValueError:  # a 2xx whose body is not JSON: Twilio may well have the message
            raise SendError("Twilio's answer was unreadable", code=UNREADABLE,
                            retryable=True) from None  # looked up in its list before a resend
        sid = str(message.get("sid") or "")
        if not sid:
            raise SendError("Twilio accepted the message without a sid", code="no-sid",
                            retryable=False)
        log.info("%s %s to %s accepted as %s", self.channel, reply.kind, address.masked(), sid)
        # "accepted", not "queued": an outbox row in "queued" would be claimed and sent again.
        return Receipt(provider_id=sid, status="accepted")

    async def find_sent(self, address: Address, reply: Reply, since: datetime
                        ) -> Receipt | None:
        """Twilio's message for this reply, created at or after `since`, if there is one.

        Raises SendError (retryable) when Twilio cannot be asked right now."""
        try:
            params = self.params(address, reply)
        except SendError:
            return None  # it cannot have been sent either
        if "ContentSid" in params:
            return None  # a Content template: nothing in the list to match it by
        # DateSent has whole-day granularity (GMT): from the start of `since`'s day.
        day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            page = await self._api.call("GET", f"{self._api.messages_url}.json", params={
                "To": params["To"], "From": params["From"],
                "DateSent>": day.strftime("%Y-%m-%dT%H:%M:%SZ"), "PageSize": LOOKUP_PAGE_SIZE})
        except (TwilioException, ClientError, TimeoutError, ValueError) as exc:
            raise SendError(f"listing messages failed: {type(exc).__name__}",
                            code="lookup-failed", retryable=True) from None
        body = str(params.get("Body") or "")
        media = len(params.get("MediaUrl") or ())
        listed = page.get("messages")
        found = [m for m in listed if isinstance(m, dict)
                 and _matches(m, params, body, media, since)] if isinstance(listed, list) else []
        if not found:
            return None
        newest = max(found, key=lambda m: _created(m) or since)
        status = FOUND_STATUS[str(newest["status"])]
        log.info("%s %s to %s found at Twilio as %s (%s)", self.channel, reply.kind,
                 address.masked(), newest["sid"], status)
        return Receipt(provider_id=str(newest["sid"]), status=status)


async def erase_copies(api: TwilioApi, sids: Sequence[str]) -> list[str]:
    """Delete Twilio's copies of messages (and their media); return the sids still in flight.

    404 means already gone. Twilio refuses to delete a message that is still being
    delivered: those come back so the caller tries again later.
    """
    remaining: list[str] = []
    for sid in sids:
        try:
            await api.call("DELETE", f"{api.messages_url}/{sid}.json")
        except (TwilioRestException, TwilioServiceException) as exc:
            if int(getattr(exc, "status", 0) or 0) != 404:
                remaining.append(sid)
        except (ClientError, TimeoutError):
            remaining.append(sid)
    if remaining:
        log.info("%d Twilio message copies not deletable yet", len(remaining))
    return remaining


def _matches(message: Mapping[str, Any], params: Mapping[str, Any], body: str, media: int,
             since: datetime) -> bool:
    """Is this entry of Twilio's message list the message `params` would create?"""
    if not str(message.get("direction") or "").startswith("outbound"):
        return False
    if str(message.get("status") or "") not in FOUND_STATUS or not message.get("sid"):
        return False
    if message.get("to") != params["To"] or message.get("from") != params["From"]:
        return False
    if (message.get("body") or "") != body or str(message.get("num_media") or "0") != str(media):
        return False
    created = _created(message)
    return created is None or created >= since


def _created(message: Mapping[str, Any]) -> datetime | None:
    """`date_created` (RFC 2822, as Twilio writes it), or None if missing or unreadable."""
    try:
        return parsedate_to_datetime(str(message.get("date_created") or ""))
    except (TypeError, ValueError):
        return None


def classify(exc: Exception) -> SendError:
    """Twilio's answer as a SendError the outbox understands."""
    status = int(getattr(exc, "status", 0) or 0)
    code = getattr(exc, "code", None)
    label = str(code) if code else f"http-{status}"
    message = f"Twilio answered {status} ({label})"
    if status == 429 or code in RETRY_CODES or status >= 500:
        return SendError(message, code=label, retryable=True)
    if code in UNREACHABLE_CODES:
        return SendError(message, code=label, unreachable=True)
    return SendError(message, code=label)
