"""Turns events and replies into JSON and back, for the durable inbox and outbox.

One generic codec driven by the dataclasses' type hints: addresses become their string
form, datetimes ISO 8601, tuples lists. A `$type` field names the class, looked up in
`EVENT_TYPES` / `REPLY_TYPES` (no arbitrary class loading from stored data).

The JSON text is written by orjson (every webhook's event is encoded before it is
acknowledged; orjson takes a tenth of the standard library's time), as UTF-8 without
ASCII escapes. What orjson refuses in a provider's raw payload (an integer beyond 64
bits, a lone surrogate, a non-string key) falls back to the standard library, and so does
reading what only the standard library reads. Rows written before, with ASCII escapes,
decode the same. A float NaN (no provider sends one) is written as null. Delivery facts
that older rows kept in `raw` (`outbox_id`, `window_closed`) decode into their fields.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

import orjson

from werkbot.bot.addresses import Address
from werkbot.bot.events import EVENT_TYPES, Event, MediaRef
from werkbot.bot.replies import REPLY_TYPES, Choice, Reply

T = TypeVar("T")
TAG = "$type"  # not a field name any event or reply can have
_NESTED: dict[str, type[Any]] = {"MediaRef": MediaRef, "Choice": Choice}


class CodecError(ValueError):
    """Stored data that does not decode to a known event or reply."""


def dumps_event(event: Event) -> str:
    return _dumps({TAG: type(event).__name__, **_encode(event)})


def loads_event(text: str) -> Event:
    return _decode_tagged(text, EVENT_TYPES, _delivery_facts_from_raw)


def dumps_reply(reply: Reply) -> str:
    return _dumps({TAG: type(reply).__name__, **_encode(reply)})


def loads_reply(text: str) -> Reply:
    return _decode_tagged(text, REPLY_TYPES)


def as_stored(text: str) -> str:
    """`text` as it appears inside a stored payload's JSON string (erasure searches it)."""
    return _dumps(text)[1:-1]


def _dumps(data: Any) -> str:
    try:
        return orjson.dumps(data).decode()
    except TypeError:  # beyond orjson's types: the standard library takes it as before
        return json.dumps(data, separators=(",", ":"))


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN, an escaped lone surrogate: the standard library's
        return json.loads(text)


def _decode_tagged(text: str, registry: dict[str, type[T]],
                   upgrade: typing.Callable[[str, dict[str, Any]], None] | None = None) -> T:
    data = _loads(text)
    if not isinstance(data, dict):
        raise CodecError("stored data is not an object")
    tag = str(data.pop(TAG, ""))
    cls = registry.get(tag)
    if cls is None:
        raise CodecError("unknown stored type")
    if upgrade is not None:
        upgrade(tag, data)
    return typing.cast(T, _decode(cls, data))


_DELIVERY_FACTS = {"DeliveryStatus": ("outbox_id", "window_closed"), "Unreachable": ("outbox_id",)}


def _delivery_facts_from_raw(tag: str, data: dict[str, Any]) -> None:
    """Events stored before delivery facts were fields kept them in `raw` (the outbox's
    `outbox_id`, Twilio's `window_closed`): lift them into their fields."""
    raw = data.get("raw")
    for name in _DELIVERY_FACTS.get(tag, ()):
        if isinstance(raw, dict) and name in raw and name not in data:
            data[name] = raw.pop(name)


_PLAIN = frozenset({str, int, float, bool, type(None)})  # JSON as they are


@cache
def _fields(cls: Any) -> tuple[tuple[str, bool], ...]:
    """Each field's name, and whether its value is stored as it is (see `_plain_fields`)."""
    plain = _plain_fields(cls)
    return tuple((f.name, f.name in plain) for f in dataclasses.fields(cls))


def _encode(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cls: Any = type(obj)
    for name, as_is in _fields(cls):
        value = getattr(obj, name)
        out[name] = value if as_is else _value(value)
    return out


def _value(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Address):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode(value)
    if isinstance(value, tuple | list):
        return [_value(v) for v in value]
    return value


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@cache
def _plain_fields(cls: Any) -> frozenset[str]:
    """Fields whose stored JSON value is the value itself (str, int, bool, dict...)."""
    return frozenset(name for name, hint in _hints(cls).items() if _is_plain(hint))


def _is_plain(hint: Any) -> bool:
    if hint in (str, int, float, bool):
        return True
    origin = typing.get_origin(hint)
    return origin is dict or (origin is None and hint is dict)


def _decode(cls: Any, data: dict[str, Any]) -> Any:
    hints, plain = _hints(cls), _plain_fields(cls)
    kwargs = {name: value if name in plain else _typed(hints[name], value)
              for name, value in data.items() if name in hints}
    return cls(**kwargs)


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if hint is Address or hint == (Address | None):
        return Address.parse(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    origin = typing.get_origin(hint)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_typed(item, v) for v in value)
    if isinstance(hint, type) and hint.__name__ in _NESTED:
        return _decode(_NESTED[hint.__name__], value)
    return value
