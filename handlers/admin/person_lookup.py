"""Naming a person in an admin command: `#123`, `whatsapp:+49...`, `telegram:123`, `+49...`.

A bare phone number is looked up on WhatsApp and SMS. Each failure is a `UsageError`
saying what was wrong (format or not found), never a stack trace or a silent no.
"""

from __future__ import annotations

from werkbot.bot.addresses import Address, AddressError, looks_like_phone, normalize_phone
from werkbot.bot.context import Context
from werkbot.bot.storage.models import Person
from werkbot.handlers.admin.repo import AdminRepo
from werkbot.handlers.commands import UsageError


async def resolve_person(ctx: Context, ref: str) -> Person:
    """The person `ref` names, or a `UsageError`."""
    candidates = _addresses(ref)
    if isinstance(candidates, int):
        person = await ctx.people.get(candidates)
    else:
        person = await ctx.repo(AdminRepo).person_at(candidates)
    if person is None or person.erased_at is not None:
        raise UsageError("office.errors.unknown_person", person=ref)
    return person


def _addresses(ref: str) -> int | list[Address]:
    text = ref.strip()
    if text.startswith("#"):
        if text[1:].isdigit():
            return int(text[1:])
        raise UsageError("bad_value", value=ref, why=_why())
    try:
        if ":" in text:
            address = Address.parse(text)
            return [Address.of(address.channel, address.id)]
        if looks_like_phone(text):
            number = normalize_phone(text)
            return [Address("whatsapp", number), Address("sms", number)]
    except AddressError:
        pass
    raise UsageError("bad_value", value=ref, why=_why())


def _why() -> str:
    return "#123, +4917…, whatsapp:+49…, telegram:123"


def one_person_arg(args: tuple[str, ...], what: str) -> str:
    if not args:
        raise UsageError("missing", what=what)
    joined = " ".join(args)
    if len(args) > 1 and looks_like_phone(joined):
        return joined  # '+49 170 1234567' typed with spaces
    if len(args) > 1:
        raise UsageError("bad_value", value=" ".join(args), why=_why())
    return args[0]
