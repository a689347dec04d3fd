"""SMS segment counting: GSM-7 or UCS-2, as carriers bill and Twilio splits.

A text made only of GSM 03.38 characters is 160 septets in one segment or 153 per
segment when concatenated; extension characters (`€`, `[`, `{`, ...) take two septets
and are never split across segments. Any other character turns the whole message into
UCS-2: 70 UTF-16 units in one segment, 67 per segment otherwise, and a surrogate pair
(most emoji) is never split. One `ü` versus one `ç` can double the cost of a message.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    count: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def is_gsm7(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def count_segments(text: str) -> Segments:
    """How many SMS segments `text` costs, and in which encoding."""
    if is_gsm7(text):
        sizes = [2 if c in GSM_EXTENSION else 1 for c in text]
        return Segments("GSM-7", _pack(sizes, single=160, multi=153), sum(sizes))
    sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return Segments("UCS-2", _pack(sizes, single=70, multi=67), sum(sizes))


def _pack(sizes: list[int], *, single: int, multi: int) -> int:
    """Segments needed when no character (escape pair, surrogate pair) may be split."""
    total = sum(sizes)
    if total <= single:
        return 1  # an empty message is still one segment
    count, used = 1, 0
    for size in sizes:
        if used + size > multi:
            count, used = count + 1, 0
        used += size
    return count
