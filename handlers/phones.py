"""Phone numbers as staff and customers read and tap them.

A number is shown in international format (`+49 170 1234567`) next to a `tel:` link in
E.164, which every messenger and browser turns into a call button. The office sees a
consented customer's callable number this way in every forward, the customer sees the
on-call fitter's business number in an emergency.
"""

from __future__ import annotations

import phonenumbers

from werkbot.bot.addresses import Address, AddressError, normalize_phone
from werkbot.bot.context import Context


def phone_values(phone: str) -> dict[str, str]:
    """`{"phone": shown, "tel": "tel:+49..."}` for a configured or stored number."""
    try:
        e164 = normalize_phone(phone) if phone else ""
    except AddressError:
        e164 = "".join(c for c in phone if c.isdigit() or c == "+")
    return {"phone": _readable(e164) if e164.startswith("+") else phone, "tel": f"tel:{e164}"}


def _readable(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


async def callable_number(ctx: Context, person_id: int) -> str:
    """The person's phone number in E.164, from their WhatsApp or SMS address; '' if none.

    A WhatsApp business-scoped id is no phone number (`Address.is_phone`), and an
    address marked unreachable still names a number one can call.
    """
    for row in await ctx.people.addresses(person_id):
        try:
            address = Address.parse(row.address)
        except AddressError:
            continue
        if address.channel != "telegram" and address.is_phone:
            return address.id
    return ""
