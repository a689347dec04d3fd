"""Limits and cleaning for what strangers send, applied before anything is stored.

- `loads_json`: JSON from a request body with a nesting limit. orjson refuses more than
  1,024 levels, but the standard library (the codec's fallback) recurses and would raise
  `RecursionError` well before that; no provider sends more than a dozen levels, so
  deeper input is refused as `UntrustedInput` (a `ValueError`: the route answers 400).
- `clean_text`: control characters (NUL included) and bidirectional overrides and
  isolates removed, line ends made `\\n`. A name or text with U+202E can make staff read
  a number or a file name backwards; a NUL breaks PDFs and some terminals.
- `clean_event`: an inbound event with every human-written field cleaned. The inbox
  applies it to every event it stores, so staff, PDFs and logs only ever see clean text.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from typing import Any

import orjson

from werkbot.bot.events import Event, MediaRef

MAX_JSON_DEPTH = 32
# C0 controls except tab and line feed, DEL, C1 controls; bidi embeddings/overrides
# (U+202A-202E) and isolates (U+2066-2069). Marks (LRM, RLM, ALM) stay: right-to-left
# scripts need them and they cannot reorder what follows.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_ENDS = re.compile("\r\n?|[\u2028\u2029]")
_DIRTY = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_TEXT_FIELDS = frozenset({"text", "caption", "sender_name", "label", "address", "name",
                          "phone"})


class UntrustedInput(ValueError):
    """Input refused by a limit: too deep, too large, not what it claims to be."""


def loads_json(body: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON from outside; `UntrustedInput` if it is not JSON or nests too deeply."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:  # also what orjson says beyond 1,024 levels
        raise UntrustedInput("not JSON, or nested too deeply") from exc
    raw = body.encode() if isinstance(body, str) else body
    # Fewer brackets than the limit cannot nest past it (counting runs in C: the usual
    # update skips the walk).
    if raw.count(b"{") + raw.count(b"[") > max_depth and depth_exceeds(data, max_depth):
        raise UntrustedInput(f"JSON nested more than {max_depth} levels")
    return data


def depth_exceeds(data: Any, limit: int) -> bool:
    """True if containers nest deeper than `limit` (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


def clean_text(text: str) -> str:
    """`text` without control or bidi-override characters, line ends as `\\n`."""
    if not _DIRTY.search(text):
        return text
    return _UNSAFE.sub("", _LINE_ENDS.sub("\n", text))


def clean_event(event: Event) -> Event:
    """The event with its human-written fields cleaned (itself when already clean)."""
    kind: Any = type(event)  # (mypy: a frozen dataclass type as a cache key)
    texts, has_args, has_media = _cleaned_fields(kind)
    changes: dict[str, Any] = {}
    for name in texts:
        value = getattr(event, name)
        if isinstance(value, str) and _DIRTY.search(value):
            changes[name] = clean_text(value)
    if has_args:
        value = getattr(event, "args", None)  # only some event types have it
        if isinstance(value, tuple):
            args = tuple(clean_text(a) for a in value if isinstance(a, str))
            if args != value:
                changes["args"] = tuple(a for a in args if a)
    if has_media:
        value = getattr(event, "media", None)
        if isinstance(value, tuple):
            media = tuple(_clean_ref(ref) for ref in value)
            if media != value:
                changes["media"] = media
    return dataclasses.replace(event, **changes) if changes else event


@cache
def _cleaned_fields(kind: Any) -> tuple[tuple[str, ...], bool, bool]:
    """Which of an event type's fields `clean_event` looks at: the human-written text
    fields, and whether it has `args` and `media` (every webhook's event passes here)."""
    names = [field.name for field in dataclasses.fields(kind)]
    return (tuple(name for name in names if name in _TEXT_FIELDS), "args" in names,
            "media" in names)


def _clean_ref(ref: Any) -> Any:
    if isinstance(ref, MediaRef) and _DIRTY.search(ref.filename):
        return dataclasses.replace(ref, filename=clean_text(ref.filename))
    return ref
