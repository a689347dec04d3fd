"""The identity features' database access: finding who writes from a phone number and
joining two persons into one (`bot.identity` holds the merge itself).

Handlers get one bound to the event's transaction with `ctx.repo(IdentityRepo)`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import PHONE_CHANNELS, Address
from werkbot.bot.identity import merge_conflicts, merge_persons
from werkbot.bot.storage.models import AddressRow, Person


class IdentityRepo:
    """Persons as one customer across channels."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def person_writing_from_phone(self, phone: str) -> Person | None:
        """The first person with an address for `phone` on a phone channel (WhatsApp, SMS)."""
        return await self.session.scalar(
            select(Person).join(AddressRow, AddressRow.person_id == Person.id)
            .where(AddressRow.address.in_([str(Address(c, phone))
                                           for c in sorted(PHONE_CHANNELS)]))
            .order_by(Person.id).limit(1))

    async def shared_channels(self, keep: int, gone: int) -> list[str]:
        """The channels on which both persons have an address (a merge must not happen)."""
        return await merge_conflicts(self.session, keep, gone)

    async def merge(self, keep: Person, gone: Person) -> None:
        """Move everything of `gone` to `keep` and delete `gone`."""
        await merge_persons(self.session, keep, gone)
