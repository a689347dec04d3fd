"""Issue 20, part 2: the limits on untrusted input hold for any input.

- `bot.vcard.parse_vcards`: contact cards, or `VCardError`; never more than its limits,
  never a control or bidi-override character in what it returns;
- `bot.untrusted.loads_json`: the JSON, or `UntrustedInput` (too deep, not JSON);
- `bot.untrusted.clean_text`: no unsafe character survives, nothing else is touched.

Example counts come from the environment (see `conftest.py`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.conftest import any_text, parser_settings
from werkbot.bot.addresses import normalize_phone
from werkbot.bot.untrusted import MAX_JSON_DEPTH, UntrustedInput, clean_text, loads_json
from werkbot.bot.vcard import MAX_CARDS, MAX_VALUE_CHARS, VCardError, parse_vcards

pytestmark = pytest.mark.fuzz
CARD = (Path(__file__).resolve().parents[1] / "fixtures" / "twilio"
        / "whatsapp-contact.vcf").read_bytes()
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_VCARD_PIECES = st.sampled_from([
    "BEGIN:VCARD\r\n", "END:VCARD\r\n", "FN:", "N:", "TEL:", "TEL;TYPE=CELL:", "EMAIL:",
    "item1.TEL:", ";ENCODING=QUOTED-PRINTABLE:", "=C3=BC", "\r\n ", "\n\t", "\\n", "\\,",
    "+49 151 1234", "0", "@", "\u202e", "\x00", "a" * 50, ":", ";"])


@parser_settings
@given(data=st.one_of(st.binary(max_size=400),
                      st.lists(_VCARD_PIECES, max_size=60).map(lambda p: "".join(p).encode())))
@example(data=CARD)
@example(data=b"BEGIN:VCARD\nFN:" + b"x" * 70_000 + b"\nEND:VCARD")
@example(data=b"BEGIN:VCARD\nFN:a\nEND:VCARD\n" * (MAX_CARDS + 1))
def test_vcards_parse_within_their_limits_or_are_refused(data: bytes) -> None:
    try:
        cards = parse_vcards(data)
    except VCardError:
        return
    assert 1 <= len(cards) <= MAX_CARDS
    for card in cards:
        for value in (card.name, *card.phones, *card.emails):
            assert len(value) <= MAX_VALUE_CHARS and not UNSAFE.search(value)


def test_the_whatsapp_card_reads_as_its_person() -> None:
    (card,) = parse_vcards(CARD)  # folded line, Apple item group, CRLF
    assert card.name == "Max Muster"
    assert card.phones == ("+4915112345678",) and card.emails == ("max@example.de",)
    (qp,) = parse_vcards(b"BEGIN:VCARD\nN;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=B6rg\n"
                         b"TEL:0170 1234567\nEND:VCARD\n")
    assert qp.name == "Jörg Müller" and qp.phones == ("+491701234567",)


@parser_settings
@given(depth=st.integers(min_value=0, max_value=3000), inner=st.sampled_from(["[", '{"a":']))
@example(depth=MAX_JSON_DEPTH, inner="[")
@example(depth=MAX_JSON_DEPTH + 1, inner='{"a":')
def test_json_deeper_than_the_limit_is_refused_never_a_recursion_error(depth: int,
                                                                       inner: str) -> None:
    close = "]" if inner == "[" else "}"
    body = inner * depth + "1" + close * depth
    try:
        loads_json(body)
    except UntrustedInput:
        assert depth > MAX_JSON_DEPTH
    else:
        assert depth <= MAX_JSON_DEPTH


@parser_settings
@given(text=any_text)
@example(text="Rechnung\u202e fdp.exe\x00\r\nZeile\u2028drei\u2067")
def test_clean_text_removes_unsafe_characters_and_keeps_the_rest(text: str) -> None:
    cleaned = clean_text(text)
    assert not UNSAFE.search(cleaned) and "\r" not in cleaned
    normalised = re.sub("\r\n?|[\u2028\u2029]", "\n", text)
    assert cleaned == UNSAFE.sub("", normalised)
    assert clean_text(cleaned) == cleaned


def test_json_within_the_limit_reads_as_json() -> None:
    update = {"update_id": 1, "message": {"chat": {"id": 7}, "text": "ü"}}
    assert loads_json(json.dumps(update).encode()) == update
    with pytest.raises(UntrustedInput):
        loads_json(b"{not json")


@pytest.mark.parametrize(("given_number", "stored"), [
    ("+5215512345678", "+525512345678"), ("5215512345678", "+525512345678"),
    ("+525512345678", "+525512345678"), ("+52 1 55 1234 5678", "+525512345678"),
    ("+4915112345678", "+4915112345678")])
def test_the_legacy_mexican_mobile_prefix_is_dropped(given_number: str, stored: str) -> None:
    assert normalize_phone(given_number) == stored
