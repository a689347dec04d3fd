"""Telegram `Update` JSON (a plain dict) to werkbot events, free of any client library.

One parser serves the webhook, polling and both plug-ins: the adapter hands it the JSON
Telegram sent, the aiogram plug-in `Update.model_dump(mode="json", by_alias=True)` and
the PTB plug-in `json.loads(update.to_json())`.

Addressing rule: an event's `sender` is the *chat* the update came from
(`Address("telegram", "<chat id>")`), so every reply goes back where the person wrote. In
a private chat that is the user's id (what `[[staff]] telegram = ...` holds); in a group
it is the group, with `thread` set to the forum topic and `sender_name` naming the user.
Message ids in `reply_to` are `"<chat id>:<message id>"`, the form receipts use.

In a group, supergroup or channel the event's `actor` is the member who wrote (or the
chat that posted anonymously): the core then never takes the group for a person. An
edited message becomes an `EditEvent`. Ids must be integers (a string `chat.id` is
malformed, not an address); stickers and animations keep kinds of their own, so no
feature takes them for photos.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkbot.bot.addresses import Address, AddressError, normalize_phone
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    ContactEvent,
    EditEvent,
    Event,
    LocationEvent,
    MediaEvent,
    MediaRef,
    TextEvent,
    UnknownEvent,
    Unreachable,
    parse_command,
)

log = logging.getLogger(__name__)

CHANNEL = "telegram"
CALLBACK_PREFIX = "wb:"  # marks werkbot's own buttons; the plug-ins claim only these
GONE_STATUSES = frozenset({"kicked", "left"})  # the bot was blocked or removed
GROUP_TYPES = frozenset({"group", "supergroup", "channel"})
# What a person can send that werkbot cannot show: stored as an UnknownEvent naming it, so
# the office hears of it. Service messages (pinned, timers changed ...) give no event.
OTHER_CONTENT = ("poll", "dice", "game", "story", "invoice", "paid_media", "giveaway",
                 "checklist")
MessageJSON = Mapping[str, Any]

# Message field -> (werkbot media kind, content type when Telegram names none).
_MEDIA_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("voice", "voice", "audio/ogg"),
    ("audio", "audio", "audio/mpeg"),
    ("video", "video", "video/mp4"),
    ("video_note", "video", "video/mp4"),
    ("animation", "animation", "video/mp4"),
    ("document", "document", "application/octet-stream"),
    ("sticker", "sticker", "image/webp"),
)


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one update means: its events, and a callback query id that needs an answer."""

    update_id: int | None
    events: tuple[Event, ...] = ()
    callback_id: str = ""
    kind: str = ""  # the update's payload field, e.g. "message", for logs


def update_kind(update: MessageJSON) -> str:
    """The name of the payload field an update carries ('message', 'callback_query', ...)."""
    return next((k for k in update if k != "update_id"), "")


def parse_update(update: MessageJSON, now: datetime, bot_username: str = "") -> Parsed:
    """Turn one Update into events. Unknown kinds give no events (the caller logs them);
    so does a known kind with malformed fields (a missing id, a location without numbers):
    it is acknowledged and ignored, never a 5xx that makes Telegram send it again."""
    try:
        return _parse_update(update, now, bot_username)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        raw_id = update.get("update_id") if isinstance(update, Mapping) else None
        update_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
        log.warning("malformed Telegram update %s ignored", update_id)
        return Parsed(update_id, kind="malformed")


def _parse_update(update: MessageJSON, now: datetime, bot_username: str) -> Parsed:
    raw_id = update.get("update_id")
    update_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    kind = update_kind(update)
    if update_id is None:
        return Parsed(None, kind=kind)
    event_id = f"{CHANNEL}:{update_id}"
    payload = update.get(kind)
    if not isinstance(payload, Mapping):
        return Parsed(update_id, kind=kind)
    raw = dict(update)
    if kind == "message":
        event = _message_event(payload, event_id, now, raw, bot_username)
        return Parsed(update_id, (event,) if event else (), kind=kind)
    if kind == "edited_message":
        edit = _edit_event(payload, event_id, now, raw)
        return Parsed(update_id, (edit,) if edit else (), kind=kind)
    if kind == "callback_query":
        choice = _choice_event(payload, event_id, now, raw)
        return Parsed(update_id, (choice,) if choice else (), str(payload.get("id", "")), kind)
    if kind == "my_chat_member":
        gone = _membership_event(payload, event_id, now, raw)
        return Parsed(update_id, (gone,) if gone else (), kind=kind)
    return Parsed(update_id, kind=kind)


def chat_address(chat_id: object) -> Address:
    return Address(CHANNEL, str(strict_id(chat_id)))


def strict_id(value: object) -> int:
    """A Telegram id: an integer (not a bool, not a numeric string), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("a Telegram id must be an integer")
    return value


def _user(message: MessageJSON) -> Mapping[str, Any]:
    # aiogram's model_dump without by_alias says "from_user"; accept both spellings.
    user = message.get("from", message.get("from_user"))
    return user if isinstance(user, Mapping) else {}


def _name(user: Mapping[str, Any]) -> str:
    return " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k)).strip()


def _common(message: MessageJSON, event_id: str, now: datetime,
            raw: dict[str, Any]) -> dict[str, Any] | None:
    chat = message.get("chat")
    if not isinstance(chat, Mapping) or "id" not in chat:
        return None
    replied = message.get("reply_to_message")
    thread = message.get("message_thread_id")
    user = _user(message)
    if "id" in user:
        strict_id(user["id"])
    return {
        "id": event_id,
        "sender": chat_address(chat["id"]),
        "received_at": now,
        "sender_name": _name(user),
        "reply_to": (f"{chat['id']}:{strict_id(replied['message_id'])}"
                     if isinstance(replied, Mapping) and "message_id" in replied else ""),
        "thread": str(strict_id(thread)) if thread else "",
        "actor": _actor(message, chat),
        "raw": raw,
    }


def _actor(message: MessageJSON, chat: Mapping[str, Any]) -> Address | None:
    """Who wrote, when the chat is a group: the member, or the chat posting anonymously."""
    if chat.get("type") not in GROUP_TYPES:
        return None
    user = _user(message)
    if "id" in user:
        return chat_address(user["id"])
    posted_as = message.get("sender_chat")
    if isinstance(posted_as, Mapping) and "id" in posted_as:
        return chat_address(posted_as["id"])
    return chat_address(chat["id"])


def _message_event(message: MessageJSON, event_id: str, now: datetime, raw: dict[str, Any],
                   bot_username: str) -> Event | None:
    base = _common(message, event_id, now, raw)
    if base is None:
        return None
    media = _media(message)
    if media:
        group = message.get("media_group_id")
        return MediaEvent(**base, media=(media,), caption=str(message.get("caption", "")),
                          group=str(group) if group else "")
    if isinstance(message.get("contact"), Mapping):
        return _contact(message, base)
    location = message.get("location")
    if isinstance(location, Mapping):
        venue = message.get("venue")
        venue = venue if isinstance(venue, Mapping) else {}
        return LocationEvent(**base, latitude=float(location["latitude"]),
                             longitude=float(location["longitude"]),
                             label=str(venue.get("title", "")),
                             address=str(venue.get("address", "")))
    text = message.get("text")
    if not isinstance(text, str):
        kind = next((k for k in OTHER_CONTENT if k in message), "")
        return UnknownEvent(**base, type=kind) if kind else None  # service messages: none
    command = parse_command(text)
    if command is not None:
        if not _addressed_to_us(text, bot_username):
            return None  # "/help@otherbot" in a group is another bot's business
        name, args = command
        return CommandEvent(**base, name=name, args=args, text=text)
    return TextEvent(**base, text=text)


def _edit_event(message: MessageJSON, event_id: str, now: datetime,
                raw: dict[str, Any]) -> EditEvent | None:
    base = _common(message, event_id, now, raw)
    if base is None or "message_id" not in message:
        return None
    text = message.get("text", message.get("caption"))
    if not isinstance(text, str) or not text:
        return None  # a live location moving, media swapped without words: nothing to say
    original = f"{message['chat']['id']}:{strict_id(message['message_id'])}"
    return EditEvent(**base, text=text, original=original)


def _addressed_to_us(text: str, bot_username: str) -> bool:
    head = text.strip().split(maxsplit=1)[0]
    _, at, target = head.partition("@")
    return not at or not bot_username or target.lower() == bot_username.lstrip("@").lower()


def _media(message: MessageJSON) -> MediaRef | None:
    photo = message.get("photo")
    if isinstance(photo, list) and photo:
        largest = photo[-1]  # Telegram lists sizes smallest first
        return MediaRef(kind="image", content_type="image/jpeg", ref=str(largest["file_id"]),
                        size=largest.get("file_size"))
    for field_name, kind, default_type in _MEDIA_FIELDS:
        item = message.get(field_name)
        if isinstance(item, Mapping) and "file_id" in item:
            return MediaRef(kind=kind, content_type=str(item.get("mime_type") or default_type),
                            ref=str(item["file_id"]), filename=str(item.get("file_name", "")),
                            size=item.get("file_size"))
    return None


def _contact(message: MessageJSON, base: dict[str, Any]) -> ContactEvent:
    contact = message["contact"]
    # Only the user's own card proves their number; a forwarded card proves nothing.
    own = contact.get("user_id") is not None and contact.get("user_id") == _user(message).get(
        "id")
    return ContactEvent(**base, phone=normalize_contact_phone(str(contact["phone_number"])),
                        name=_name(contact), own=own)


def normalize_contact_phone(number: str) -> str:
    """E.164 for a contact's number; Telegram clients often leave out the '+'."""
    digits = "".join(c for c in number if c.isdigit())
    candidate = number.strip() if number.strip().startswith("+") else f"+{digits}"
    try:
        return normalize_phone(candidate)
    except AddressError:
        return f"+{digits}"


def _choice_event(query: MessageJSON, event_id: str, now: datetime,
                  raw: dict[str, Any]) -> ChoiceEvent | None:
    data = query.get("data")
    if not isinstance(data, str):
        return None  # a game button: nothing werkbot offers
    message = query.get("message")
    user = _user(query)
    if isinstance(message, Mapping) and isinstance(message.get("chat"), Mapping):
        base = _common(message, event_id, now, raw)
    else:  # a button under an inline-mode message: answer the user privately
        base = {"id": event_id, "sender": chat_address(user.get("id")), "received_at": now,
                "raw": raw} if user.get("id") is not None else None
    if base is None:
        return None
    base["sender_name"] = _name(user)
    if base.get("actor") is not None and "id" in user:
        base["actor"] = chat_address(user["id"])  # who pressed, not who sent the buttons
    value = data.removeprefix(CALLBACK_PREFIX)
    label = _button_label(message, data) if isinstance(message, Mapping) else ""
    if isinstance(message, Mapping) and "message_id" in message:
        base["reply_to"] = f"{message['chat']['id']}:{message['message_id']}"
    return ChoiceEvent(**base, value=value, label=label)


def _button_label(message: MessageJSON, data: str) -> str:
    markup = message.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, Mapping) else []
    for row in rows:
        for button in row:
            if isinstance(button, Mapping) and button.get("callback_data") == data:
                return str(button.get("text", ""))
    return ""


def _membership_event(change: MessageJSON, event_id: str, now: datetime,
                      raw: dict[str, Any]) -> Unreachable | None:
    chat, member = change.get("chat"), change.get("new_chat_member")
    if not isinstance(chat, Mapping) or not isinstance(member, Mapping):
        return None
    status = str(member.get("status", ""))
    if status not in GONE_STATUSES:
        return None  # joined or unblocked: the next message marks the address reachable
    return Unreachable(id=event_id, sender=chat_address(chat["id"]), received_at=now,
                       reason=f"bot {status}", raw=raw)
