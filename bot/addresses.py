"""Addresses: where a person is reached, as one channel plus one id.

An `Address` converts to and from one string (`whatsapp:+4917...`, `telegram:12345`),
which keys storage, audit lines and admin commands. Phone numbers are normalised to
E.164 through `phonenumbers`; other ids (a WhatsApp business-scoped id, a Telegram
chat id) are kept as they come.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers

PHONE_CHANNELS = frozenset({"whatsapp", "sms"})
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class AddressError(ValueError):
    """A string that is not an address werkbot understands."""


@dataclass(frozen=True, slots=True, order=True)
class Address:
    """One place a person is reached: a channel name and the id on that channel."""

    channel: str
    id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Address:
        channel, sep, ident = text.partition(":")
        if not sep or not channel or not ident:
            raise AddressError(f"not an address: expected 'channel:id', got {mask(text)!r}")
        return cls(channel.strip().lower(), ident.strip())

    @classmethod
    def of(cls, channel: str, ident: str | int) -> Address:
        """Build an address, normalising phone numbers on phone channels."""
        return _address_of(channel, str(ident).strip())

    @property
    def is_phone(self) -> bool:
        return self.channel in PHONE_CHANNELS and self.id.startswith("+")

    def masked(self) -> str:
        return f"{self.channel}:{mask(self.id)}"


@lru_cache(maxsize=4096)  # every webhook names its sender: the same people again and again
def _address_of(channel: str, raw: str) -> Address:
    if channel in PHONE_CHANNELS and (_E164.fullmatch(raw) or looks_like_phone(raw)):
        raw = normalize_phone(raw)
    return Address(channel, raw)


def looks_like_phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    return digits >= 6 and all(c.isdigit() or c in "+ -/()" for c in text)


@lru_cache(maxsize=4096)  # parsing is costly and the same numbers write again and again
def normalize_phone(text: str, region: str = "DE") -> str:
    """Return the E.164 form of a phone number, or raise AddressError."""
    candidate = text.strip()
    canonical = _already_e164(candidate)
    if canonical is not None:
        return canonical
    if candidate and candidate[0].isdigit() and len(candidate) > 10 and not candidate.startswith(
        "0"
    ):
        candidate = "+" + candidate  # Telegram and WhatsApp send numbers without '+'
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        raise AddressError(f"not a phone number: {mask(text)}") from exc
    number = _without_mexican_mobile_prefix(number)
    if not phonenumbers.is_possible_number(number):
        raise AddressError(f"not a possible phone number: {mask(text)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _without_mexican_mobile_prefix(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """`+52 1 XX XXXX XXXX` as `+52 XX XXXX XXXX`.

    Mexico dropped the mobile '1' after the country code in 2019, and current
    `phonenumbers` metadata no longer strips it, but WhatsApp still sends the old form
    (`whatsapp:+521...`) for numbers registered before. Both forms are one person, so
    the address is the one form Mexico dials today.
    """
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        return phonenumbers.PhoneNumber(country_code=52, national_number=int(national[1:]))
    return number


def _already_e164(text: str) -> str | None:
    """The number itself when it is already canonical E.164 and possible, else None.

    Providers send numbers in this form; checking it directly costs a tenth of a full
    parse. Anything else (and national numbers with a leading zero, as in Italy) takes
    the full parse.
    """
    if not _E164.fullmatch(text):
        return None
    for length in (1, 2, 3):  # country calling codes are prefix-free
        code = int(text[1:1 + length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = text[1 + length:]
            known, prefix = _calling_code(code)
            if not known or national.startswith("0") or (prefix and prefix.match(national)):
                return None  # a national prefix the full parse may strip
            # Impossible as written: the full parse may still strip a national prefix.
            return text if _possible_length(code, len(national)) else None
    return None


@cache  # one entry per country calling code that writes
def _calling_code(code: int) -> tuple[bool, re.Pattern[str] | None]:
    """Whether `phonenumbers` has metadata for a calling code, and the pattern of the
    national prefix its full parse would strip (None: there is none)."""
    region = phonenumbers.region_code_for_country_code(code)
    meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if meta is None:
        return False, None
    prefix = meta.national_prefix_for_parsing
    return True, re.compile(prefix) if prefix else None


@cache  # possible or not depends on the calling code and the number's length alone
def _possible_length(code: int, length: int) -> bool:
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int("1" * length))
    return bool(phonenumbers.is_possible_number(number))


def mask(text: str) -> str:
    """Mask an identifier for logs: keep the first three and the last two characters."""
    if len(text) <= 5:
        return "***"
    return f"{text[:3]}***{text[-2:]}"
