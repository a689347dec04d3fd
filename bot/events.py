"""Inbound events: what people and providers tell werkbot, free of any channel's format.

Adapters turn provider payloads into these frozen dataclasses; handlers only ever see
them. `id` is the provider's unique id (de-duplication key); `raw` carries the provider
payload for evidence and debugging, never for logic: what logic needs is a typed field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkbot.bot.addresses import Address


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A piece of media: where to fetch it (adapter-specific ref) or its stored id."""

    kind: str  # image, audio, voice, video, document, sticker, animation, contact, other
    content_type: str = ""
    ref: str = ""  # adapter-specific locator, e.g. a Twilio media URL or a Telegram file_id
    stored_id: int | None = None  # set once the bytes are in the media store
    filename: str = ""
    size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every inbound event."""

    id: str  # provider-unique, e.g. "whatsapp:SM123"; de-duplicates the inbox
    sender: Address
    received_at: datetime
    sender_name: str = ""
    reply_to: str = ""  # provider id of the message this one answers
    thread: str = ""  # e.g. a Telegram forum topic the message came from
    actor: Address | None = None  # who wrote, when `sender` is a group chat (replies go there)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextEvent(Event):
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaEvent(Event):
    media: tuple[MediaRef, ...]
    caption: str = ""
    group: str = ""  # provider batch key (Telegram media_group_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationEvent(Event):
    latitude: float
    longitude: float
    label: str = ""
    address: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactEvent(Event):
    """A shared contact card; `own` is true when it is the sender's own number."""

    phone: str
    name: str = ""
    own: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EditEvent(Event):
    """A message the person changed after sending it: `text` is the new text (or
    caption), `original` the provider id of the message changed (as in `reply_to`).

    Its own type, so no feature mistakes an edited `ja` or `notfall` for a new answer:
    only the office inbox takes it, as an edit."""

    text: str
    original: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceEvent(Event):
    """A button press or list pick: `value` is the choice's stable value."""

    value: str
    label: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandEvent(Event):
    """A command such as `/job new Title @karl`: name without slash, lower case."""

    name: str
    args: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryStatus(Event):
    """A provider's word on an outbound message: sent, delivered, read, failed, ...

    `outbox_id` is set when werkbot's own outbox reports a send that failed (no provider
    callback: the row's status is already recorded). `window_closed`: the provider refused
    a free-form message because the address's window is closed (templates from now on)."""

    provider_message_id: str
    status: str
    error_code: str = ""
    outbox_id: int | None = None
    window_closed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Unreachable(Event):
    """The address can no longer be reached (bot blocked, number opted out); `outbox_id`
    is the outbox row whose send found out, when werkbot's own outbox reports it."""

    reason: str = ""
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(Event):
    """A payload werkbot stores and acknowledges but does not understand."""

    type: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerEvent(Event):
    """Due work at a time (escalations, retention, batch windows): same pipe as messages."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        TextEvent,
        MediaEvent,
        LocationEvent,
        ContactEvent,
        EditEvent,
        ChoiceEvent,
        CommandEvent,
        DeliveryStatus,
        Unreachable,
        UnknownEvent,
        TimerEvent,
    )
}


def parse_command(text: str) -> tuple[str, tuple[str, ...]] | None:
    """Split '/name arg arg' (or 'name@botname arg') into name and args, else None."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    head, *rest = stripped[1:].split()
    name = head.split("@", 1)[0].lower()
    if not name:
        return None
    return name, tuple(rest)
