"""Who is who around the office: the office's own chats, and who answered in them.

In a Telegram group the event's sender is the group (the adapter's addressing rule);
the staff member who wrote is the event's `actor`, matched to `[[staff]] telegram`.
"""

from __future__ import annotations

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.handlers.staff_roles import staff_of

GROUP_ACTOR = "office-group"


def is_group(ctx: Context) -> bool:
    group = ctx.settings.office.telegram_group
    return bool(group) and ctx.event.sender == Address("telegram", str(group))


def actor_id(ctx: Context) -> str:
    """The staff id of whoever wrote, or `office-group` for an unknown group member."""
    staff = staff_of(ctx)
    if staff is not None:
        return staff.id
    actor = ctx.event.actor  # in a group, the member who wrote (the adapter's field)
    author = int(actor.id) if actor is not None and actor.id.lstrip("-").isdigit() else 0
    found = next((s for s in ctx.settings.staff if author and s.telegram == author), None)
    return found.id if found else GROUP_ACTOR
