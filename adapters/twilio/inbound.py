"""Inbound message webhooks (form fields) to core events, for WhatsApp and SMS alike.

One webhook is one event, keyed `"{channel}:{MessageSid}"` so a redelivery is stored
once. The full form rides along as `event.raw` (with Twilio's idempotency token). What
cannot be read as a message from a known sender raises `InboundError`, which the route
answers with 400 and stores nothing; a message of a type werkbot does not know is an
`UnknownEvent`, stored and acknowledged.
"""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime
from typing import Any

from multidict import MultiDict

from werkbot.bot.addresses import Address, AddressError
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    Event,
    LocationEvent,
    MediaEvent,
    MediaRef,
    TextEvent,
    UnknownEvent,
    parse_command,
)
from werkbot.bot.media import kind_of

log = logging.getLogger(__name__)

MAX_MEDIA = 10  # MMS carries up to ten; WhatsApp one per webhook
# WhatsApp MessageType values werkbot reads; anything else becomes an UnknownEvent.
KNOWN_TYPES = frozenset({"text", "image", "audio", "video", "document", "sticker",
                         "location", "button", "interactive", "contacts"})
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
VCARD_TYPES = frozenset({"text/vcard", "text/x-vcard", "text/directory"})
_MEDIA_URLS = tuple(f"MediaUrl{i}" for i in range(MAX_MEDIA))
_SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}", re.IGNORECASE)
MAX_ADDRESS = 100  # a phone number or a business-scoped id; the address column holds 200


class InboundError(ValueError):
    """A verified request that is not a message werkbot can read (answered 400)."""


def address_of(channel: str, value: str) -> Address:
    """`whatsapp:+49...` / `+49...` / a business-scoped id as a core address."""
    ident = value.strip()
    if ident.lower().startswith("whatsapp:"):
        ident = ident[len("whatsapp:"):]
    if not ident:
        raise InboundError("empty address")
    if len(ident) > MAX_ADDRESS or not ident.isprintable():
        raise InboundError("unreadable address")
    return _address(channel, ident)


def message_sid(value: str) -> str:
    """A Twilio message SID (two letters, 32 hex digits), else `InboundError`: it keys
    the inbox, and nothing else may pose as one."""
    sid = value.strip()
    if not _SID.fullmatch(sid):
        raise InboundError("MessageSid is not a Twilio SID")
    return sid


def _address(channel: str, ident: str) -> Address:
    try:
        return Address.of(channel, ident)
    except AddressError as exc:
        raise InboundError("unreadable address") from exc


def raw_of(form: MultiDict[str], token: str) -> dict[str, Any]:
    raw: dict[str, Any] = {key: form[key] for key in form}
    if token:
        raw[IDEMPOTENCY_HEADER] = token
    return raw


def parse_message(channel: str, form: MultiDict[str], *, now: datetime,
                  token: str = "") -> Event:
    """The core event for one inbound message webhook."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid") or ""
    if not sid:
        raise InboundError("no MessageSid")
    sid = message_sid(sid)
    sender_field = form.get("From", "")
    if not sender_field:
        raise InboundError("no From")
    base: dict[str, Any] = {
        "id": f"{channel}:{sid}",
        "sender": address_of(channel, sender_field),
        "received_at": now,
        "sender_name": form.get("ProfileName", ""),
        "reply_to": form.get("OriginalRepliedMessageSid", ""),
        "raw": raw_of(form, token),
    }
    kind = form.get("MessageType", "").strip().lower()
    body = form.get("Body", "")
    media = _media(form, kind)
    if form.get("ButtonPayload") or form.get("ButtonText"):
        payload = form.get("ButtonPayload") or form.get("ButtonText") or ""
        return ChoiceEvent(value=payload, label=form.get("ButtonText", ""), **base)
    if form.get("ListId"):  # a pick from an interactive list
        return ChoiceEvent(value=form["ListId"], label=form.get("ListTitle", ""), **base)
    if "Latitude" in form or "Longitude" in form:
        return LocationEvent(latitude=_coordinate(form, "Latitude", 90),
                             longitude=_coordinate(form, "Longitude", 180),
                             label=form.get("Label", ""), address=form.get("Address", ""), **base)
    if any(ref.kind == "contact" for ref in media):  # whatever MessageType WhatsApp names
        return MediaEvent(media=media, caption=body, **base)
    if kind and kind not in KNOWN_TYPES:
        log.info("unknown %s MessageType %r stored as UnknownEvent", channel, kind[:32])
        return UnknownEvent(type=kind[:64], **base)
    if media:
        return MediaEvent(media=media, caption=body, **base)
    command = parse_command(body)
    if command is not None:
        name, args = command
        return CommandEvent(name=name, args=args, text=body, **base)
    return TextEvent(text=body, **base)


def _media(form: MultiDict[str], message_type: str) -> tuple[MediaRef, ...]:
    """MediaUrl0..9 as refs; a count that disagrees with the URLs is refused whole."""
    declared_text = form.get("NumMedia", "0").strip() or "0"
    if not (declared_text.isascii() and declared_text.isdigit() and len(declared_text) <= 3):
        raise InboundError("NumMedia is not a number")
    declared = int(declared_text)
    present = [i for i, name in enumerate(_MEDIA_URLS) if form.get(name)]
    # Refusing (rather than storing what is there) keeps a half-delivered batch out of
    # the inbox: the sender sees Twilio's error log instead of werkbot losing a photo.
    if declared > MAX_MEDIA or present != list(range(declared)):
        raise InboundError("NumMedia does not match the MediaUrl fields")
    refs = []
    for i in present:
        content_type = form.get(f"MediaContentType{i}", "").strip().lower()
        if content_type in VCARD_TYPES:
            kind = "contact"  # a shared contact: the core reads the card, never a job file
        elif message_type == "sticker":
            kind = "sticker"
        else:
            kind = kind_of(content_type)
        refs.append(MediaRef(kind=kind, content_type=content_type, ref=form[_MEDIA_URLS[i]]))
    return tuple(refs)


def _coordinate(form: MultiDict[str], name: str, bound: float) -> float:
    try:
        value = float(form.get(name, ""))
    except ValueError as exc:
        raise InboundError(f"{name} is not a number") from exc
    if not math.isfinite(value) or abs(value) > bound:
        raise InboundError(f"{name} out of range")
    return value
