"""Log redaction masks exactly what running every pattern over every line would mask.

`redact` skips a pattern when the text lacks what any match of it needs (an `@`, a `/`,
`bot`); that must never leave personal data in clear that the full scan would catch.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.conftest import parser_settings
from werkbot.bot.logs import redact

pytestmark = pytest.mark.fuzz

# The patterns, in order, each run over the whole text (what `redact` must equal).
FULL_SCAN = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "***@***"),
    (re.compile(r"(/(?:media|consent|export|sign|office/login)/)[\w.-]+"), r"\1***"),
    (re.compile(r"(bot)\d+:[\w-]+"), r"\1***"),
)
DIGITS = re.compile(r"\+?\d[\d \-/]{5,}\d")


def full_scan(text: str) -> str:
    for pattern, replacement in FULL_SCAN:
        text = pattern.sub(replacement, text)

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return f"{digits[:3]}***{digits[-2:]}" if len(digits) > 5 else "***"

    return DIGITS.sub(mask, text)


# Text made of the characters and words the patterns care about.
PIECES = st.sampled_from(["@", ".", "/", "-", "+", " ", ":", "_", "bot", "media", "consent",
                          "export", "sign", "office/login", "de", "x", "0", "1", "49", "170",
                          "1234567", "Ä", "\n"])


@parser_settings
@given(st.lists(PIECES, max_size=40).map("".join) | st.text(max_size=80))
@example("anna.schmidt@example.de wrote from +49 170 1234567")
@example("GET /media/abc.def-123 and /office/login/tok_en")
@example("https://api.telegram.org/bot123456:ABC-def/sendMessage")
@example("whatsapp consent_request to whatsapp:+49***12 accepted as SM0123456789abcdef")
def test_redaction_masks_what_the_full_scan_masks(text: str) -> None:
    assert redact(text) == full_scan(text)
