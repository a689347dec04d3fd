"""The E.164 fast path of `normalize_phone` agrees with a full `phonenumbers` parse.

Providers send canonical numbers, so werkbot checks those directly instead of parsing
them; a number the full parse would rewrite (a national prefix it strips, an Italian
leading zero) must take the full parse, and an address must never differ by the path.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.conftest import parser_settings
from werkbot.bot.addresses import AddressError, normalize_phone

pytestmark = pytest.mark.fuzz


def full_parse(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, "DE")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@parser_settings
@given(st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z"))
@example("+4915112345678")
@example("+390612345678")   # Italy: the leading zero is part of the number
@example("+375831234567")   # Belarus: national prefix 8 that a parse strips
@example("+3788527880")     # San Marino: a parse adds 0549
@example("+2617739136")     # Madagascar: a parse inserts 20
def test_canonical_numbers_normalise_as_a_full_parse_does(text: str) -> None:
    normalize_phone.cache_clear()
    try:
        ours: str | None = normalize_phone(text)
    except AddressError:
        ours = None
    assert ours == full_parse(text)
