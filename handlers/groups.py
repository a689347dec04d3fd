"""Telegram groups other than the office's: not customers, and nothing kept from them.

First in the root, so no other feature (consent, menu, emergency, jobs) ever sees a
message from such a group: the event carries the member who wrote as `actor` (the
adapter's rule) and the dispatcher has made no person for an unknown member. The
stored copy of the message is blanked at once. werkbot says once per group, in the
group, that it answers in private chats (a link to the bot where its username is
configured); "once" is read from the outbox, which keeps that notice like any message.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    ContactEvent,
    EditEvent,
    Event,
    LocationEvent,
    MediaEvent,
    TextEvent,
    UnknownEvent,
)
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Filter, Router
from werkbot.bot.storage.models import OutboxRow
from werkbot.handlers.consent.holds import blank_inbox_row
from werkbot.handlers.consent.kinds import GROUP_NOTICE
from werkbot.handlers.staff_roles import is_office_address

log = logging.getLogger(__name__)
router = Router("groups")


class GroupNotices:
    """The notices werkbot queued for groups (outbox rows like any message)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def told(self, group: Address) -> bool:
        """Whether the group was told already that werkbot answers in private chats."""
        found = await self.session.scalar(select(OutboxRow.id).where(
            OutboxRow.address == str(group), OutboxRow.kind == GROUP_NOTICE).limit(1))
        return found is not None


def _other_group(event: Event, ctx: Context) -> bool:
    return event.actor is not None and not is_office_address(ctx.settings, event.sender)


@router.on((TextEvent, MediaEvent, LocationEvent, ContactEvent, EditEvent, ChoiceEvent,
            CommandEvent, UnknownEvent), Filter(_other_group, "other_group"))
async def not_a_customer(event: Event, ctx: Context) -> None:
    await blank_inbox_row(ctx)
    if await ctx.repo(GroupNotices).told(event.sender):
        return
    username = ctx.settings.telegram.bot_username.lstrip("@")
    link = ctx.t("groups.link", link=f"https://t.me/{username}") if username else ""
    log.info("message in a group that is not the office's: answered once, kept nothing")
    await ctx.reply(TextReply(kind=GROUP_NOTICE, text=ctx.t("groups.private_only", link=link)))
