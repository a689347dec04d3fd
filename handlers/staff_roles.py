"""Who is staff, and in which roles: read from the configuration, keyed by person.

Staff persons are synchronised from `[[staff]]` at start-up (`bot.staff_persons`), so a
handler only needs the person's `staff_id` to find the configured entry and its roles.
"""

from __future__ import annotations

from collections.abc import Callable

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import Event
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Filter
from werkbot.bot.settings import Settings, StaffSettings


def staff_of(ctx: Context) -> StaffSettings | None:
    """The configured staff entry of the sender, or None for customers."""
    person = ctx.person
    if person is None or person.kind != "staff" or not person.staff_id:
        return None
    return ctx.settings.staff_by_id(person.staff_id)


def is_office_address(settings: Settings, address: Address) -> bool:
    """The office's own Telegram chat or forum group: staff's place, never a customer."""
    if address.channel != "telegram":
        return False
    chats = {settings.office.telegram_group, settings.telegram.office_chat} - {0}
    return address.id in {str(chat) for chat in chats}


OFFICE_ROLES = frozenset({"office", "admin"})


async def tell_office_members(ctx: Context, kind: str, text_in: Callable[[str], str]) -> int:
    """Send each office and admin member `text_in(their language)` as a message of `kind`,
    on the channel the delivery policy picks; returns how many it was queued for."""
    told = 0
    for staff in ctx.settings.staff:
        if not OFFICE_ROLES & set(staff.roles):
            continue
        member = await ctx.people.by_staff_id(staff.id)
        if member is None:
            continue
        reply = TextReply(kind=kind, text=text_in(member.language))
        if await ctx.send_to_person(member.id, reply):
            told += 1
    return told


def has_role(ctx: Context, *roles: str) -> bool:
    staff = staff_of(ctx)
    return staff is not None and any(role in staff.roles for role in roles)


def _is_staff(event: Event, ctx: Context) -> bool:
    return staff_of(ctx) is not None


def _is_customer(event: Event, ctx: Context) -> bool:
    return ctx.person is not None and staff_of(ctx) is None


is_staff = Filter(_is_staff, "is_staff")
is_customer = Filter(_is_customer, "is_customer")
