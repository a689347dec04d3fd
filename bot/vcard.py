"""Shared contact cards (vCard 2.1, 3.0 and 4.0) read from untrusted bytes.

WhatsApp delivers a shared contact as a `text/vcard` file. Only what the office needs
is read: the name (FN, else N), phone numbers (TEL) and e-mail addresses (EMAIL). The
text comes from a stranger, so every step is bounded: at most 64 KB, 2,000 lines,
10 cards, 10 numbers and addresses per card, 200 characters per value; folded lines
are joined, quoted-printable and backslash escapes decoded, control and bidi-override
characters removed. Anything else in the file (photos, notes, custom fields) is skipped.
Numbers that `phonenumbers` reads become E.164; others are kept as written (digits and
`+ -()/` only), for a person to read.
"""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass

from werkbot.bot.addresses import AddressError, normalize_phone
from werkbot.bot.untrusted import UntrustedInput, clean_text

MAX_BYTES = 64 * 1024
MAX_LINES = 2000
MAX_CARDS = 10
MAX_VALUES = 10
MAX_VALUE_CHARS = 200
_PHONE_CHARS = re.compile(r"[^0-9+\-()/ ]")


class VCardError(UntrustedInput):
    """Bytes that are not a readable contact card."""


@dataclass(frozen=True, slots=True)
class ContactCard:
    """One shared contact: a name, phone numbers, e-mail addresses."""

    name: str = ""
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


def parse_vcards(data: bytes) -> list[ContactCard]:
    """The cards in a vCard file; `VCardError` if there is none or a limit is passed."""
    if len(data) > MAX_BYTES:
        raise VCardError(f"vCard over {MAX_BYTES} bytes")
    text = data.decode("utf-8", errors="replace")
    lines = _unfolded(text)
    cards: list[ContactCard] = []
    current: dict[str, list[str]] | None = None
    for line in lines:
        name, params, value = _split(line)
        if name == "BEGIN" and value.upper() == "VCARD":
            current = {"FN": [], "N": [], "TEL": [], "EMAIL": []}
        elif name == "END" and value.upper() == "VCARD" and current is not None:
            cards.append(_card(current))
            current = None
            if len(cards) > MAX_CARDS:
                raise VCardError(f"more than {MAX_CARDS} cards")
        elif current is not None and name in current and len(current[name]) < MAX_VALUES:
            current[name].append(_decoded(value, params))
    found = [card for card in cards if card.name or card.phones or card.emails]
    if not found:
        raise VCardError("no contact card")
    return found


def _unfolded(text: str) -> list[str]:
    """Lines with RFC 6350 folding (a leading space or tab continues a line) joined."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if len(raw) > MAX_LINES:
        raise VCardError(f"vCard over {MAX_LINES} lines")
    lines: list[str] = []
    for line in raw:
        if line[:1] in (" ", "\t") and lines:
            if len(lines[-1]) < 4 * MAX_VALUE_CHARS:  # a folded giant is cut, not grown
                lines[-1] += line[1:]
        elif line.strip():
            lines.append(line)
    return lines


def _split(line: str) -> tuple[str, str, str]:
    """`item1.TEL;TYPE=CELL:+49 ...` as ('TEL', 'TYPE=CELL', '+49 ...')."""
    head, sep, value = line.partition(":")
    if not sep:
        return "", "", ""
    name, _, params = head.partition(";")
    name = name.rsplit(".", 1)[-1].strip().upper()  # Apple's `item1.` groups
    return name, params.upper(), value


def _decoded(value: str, params: str) -> str:
    if "QUOTED-PRINTABLE" in params:
        value = quopri.decodestring(value.encode("utf-8", errors="replace")).decode(
            "utf-8", errors="replace")
    value = (value.replace("\\n", " ").replace("\\N", " ").replace("\\,", ",")
             .replace("\\;", ";").replace("\\\\", "\\"))
    return clean_text(value).replace("\n", " ").strip()[:MAX_VALUE_CHARS]


def _card(fields: dict[str, list[str]]) -> ContactCard:
    name = next((v for v in fields["FN"] if v), "")
    if not name and fields["N"]:  # N is family;given;additional;prefix;suffix
        parts = fields["N"][0].split(";")
        name = " ".join(p for p in (parts[1:2] + parts[:1]) if p).strip()
    phones = tuple(dict.fromkeys(p for p in (_phone(v) for v in fields["TEL"]) if p))
    emails = tuple(dict.fromkeys(e for e in fields["EMAIL"] if "@" in e))
    return ContactCard(name=name, phones=phones, emails=emails)


def _phone(value: str) -> str:
    number = value.removeprefix("tel:").strip()
    try:
        return normalize_phone(number)
    except AddressError:
        kept = _PHONE_CHARS.sub("", number).strip()
        return kept if sum(c.isdigit() for c in kept) >= 3 else ""
