"""Blanked copies of stored events and replies: the row stays, the personal content goes.

Used where werkbot must keep that something happened (counts, ids, times, the order of
a conversation) but not what was said: the inbox row of a held or refused message, and
every inbox and outbox payload older than `retention.messages`. A blanked payload still
decodes (the codec ignores the extra `redacted` key), so readers need no special case.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from werkbot.bot.codec import dumps_event, dumps_reply, loads_reply
from werkbot.bot.events import ContactEvent, Event
from werkbot.bot.replies import Reply, TextReply

MARKER = '"redacted":true'
# Fields that say what happened, not what was said; everything else is emptied.
_KEEP = frozenset({"id", "sender", "received_at", "reply_to", "thread", "value", "name",
                   "status", "provider_message_id", "error_code", "reason", "type",
                   "payload", "kind", "template"})


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        return ""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return type(value)(0)
    if isinstance(value, tuple):
        return ()
    if isinstance(value, dict):
        return {}
    return None


def blank_event(event: Event) -> Event:
    """The event without texts, captions, media refs, locations, names or raw payload."""
    keep = _KEEP - {"name"} if isinstance(event, ContactEvent) else _KEEP  # a person's name
    changes = {f.name: _blank(getattr(event, f.name)) for f in dataclasses.fields(event)
               if f.name not in keep}
    return dataclasses.replace(event, **changes)


def blanked_event_payload(event: Event) -> str:
    return _marked(dumps_event(blank_event(event)))


def blanked_reply_payload(payload: str) -> str:
    """An outbox payload with its text, buttons, variables and media removed."""
    try:
        reply: Reply = loads_reply(payload)
    except (ValueError, TypeError, KeyError):
        reply = TextReply(text="")
    changes = {f.name: _blank(getattr(reply, f.name)) for f in dataclasses.fields(reply)
               if f.name not in _KEEP}
    return _marked(dumps_reply(dataclasses.replace(reply, **changes)))


def is_blanked(payload: str) -> bool:
    return MARKER in payload


def _marked(payload: str) -> str:
    data = json.loads(payload)
    data["redacted"] = True
    return json.dumps(data, separators=(",", ":"))
