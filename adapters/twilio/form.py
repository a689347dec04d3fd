"""Twilio's webhook bodies (`application/x-www-form-urlencoded`) as a `MultiDict`.

The same result as `urllib.parse.parse_qsl(body.decode(), keep_blank_values=True,
errors="strict")`, in half the time: fields without `%` are taken as they are, and
percent-escapes are decoded as bytes and then as UTF-8, strictly. Every webhook is parsed
before its signature can be checked, so this runs for every request that arrives.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from multidict import MultiDict

MAX_FIELDS = 1000  # Twilio posts about 40; the signature check sorts every one of them


def parse_form(body: bytes) -> MultiDict[str]:
    """The fields of a form body, in order; `UnicodeDecodeError` if it is not UTF-8,
    `ValueError` for more than `MAX_FIELDS` fields (a verified sender never posts that)."""
    if body.count(b"&") >= MAX_FIELDS:
        raise ValueError(f"more than {MAX_FIELDS} form fields")
    text = body.decode("utf-8")
    if "+" in text:  # '+' is a space everywhere; a literal plus arrives as %2B
        text = text.replace("+", " ")
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            if "%" in name:
                name = unquote_to_bytes(name).decode("utf-8")
            if "%" in value:
                value = unquote_to_bytes(value).decode("utf-8")
            append((name, value))
    return MultiDict(pairs)
