"""GSM-7, the SMS alphabet: fitting text to it and counting the segments a text costs.

One character outside GSM-7 (an emoji, a typographic dash) makes a whole SMS go as UCS-2:
70 characters per message instead of 160 (67 instead of 153 when split), so the away
answer went out in five parts instead of two. `to_gsm7` rewrites text for channels that
declare `Capabilities.gsm7`: typographic punctuation becomes its plain form, letters
with accents GSM-7 lacks lose the accent (German umlauts and ß are GSM-7 and stay),
and emoji, which carry no words, are dropped. `bot.capabilities.degrade` applies it.
"""

from __future__ import annotations

import math
import re
import unicodedata

# 3GPP TS 23.038: the basic character set and the extension table (each extension
# character costs two septets: the escape and itself).
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
EXTENSION = frozenset("^{}\\[~]|€\f")
_PLAIN = {
    "–": "-", "—": "-", "‑": "-", "−": "-", "„": '"', "“": '"', "”": '"', "«": '"', "»": '"',
    "‚": "'", "‘": "'", "’": "'", "´": "'", "`": "'", "…": "...", "•": "-", "·": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\t": " ", "×": "x", "✓": "+",
    "✗": "-", "→": "->", "½": "1/2",
}
_SPACES_BEFORE_NEWLINE = re.compile(r"[ ]+\n")
_LEADING_SPACES = re.compile(r"(^|\n)[ ]+")
_DOUBLE_SPACES = re.compile(r"(?<=\S)[ ]{2,}")


def is_gsm7(text: str) -> bool:
    return all(c in BASIC or c in EXTENSION for c in text)


def to_gsm7(text: str) -> str:
    """`text` in GSM-7: punctuation made plain, accents GSM-7 lacks dropped, emoji and
    other symbols removed (with the space they leave at a line's start)."""
    if is_gsm7(text):
        return text
    out: list[str] = []
    for char in text:
        if char in BASIC or char in EXTENSION:
            out.append(char)
        elif char in _PLAIN:
            out.append(_PLAIN[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            out.append(base if base and is_gsm7(base) else "")
    plain = _SPACES_BEFORE_NEWLINE.sub("\n", "".join(out))
    plain = _DOUBLE_SPACES.sub(" ", _LEADING_SPACES.sub(r"\1", plain))
    return plain.strip()


def segments(text: str) -> int:
    """How many SMS `text` costs: GSM-7 160 septets alone or 153 per part, else UCS-2
    70 UTF-16 units alone or 67 per part."""
    if is_gsm7(text):
        septets = len(text) + sum(c in EXTENSION for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)
