"""The admin commands' database access: naming a person by address, their consent as it
stands, the figures for `/stats`, the audit trail's newest lines and a saved report.

Commands get one bound to the event's transaction with `ctx.repo(AdminRepo)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.media import SavedMedia
from werkbot.bot.services import Services
from werkbot.bot.storage.models import AddressRow, AuditRow, Person
from werkbot.handlers.admin.figures import Figures, collect
from werkbot.handlers.consent.ledger import ConsentLedger, Grant


class AdminRepo:
    """What the admin commands read and write in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def person_at(self, addresses: Sequence[Address]) -> Person | None:
        """A person with an address among `addresses`, erased or not."""
        return await self.session.scalar(
            select(Person).join(AddressRow, AddressRow.person_id == Person.id)
            .where(AddressRow.address.in_([str(a) for a in addresses])).limit(1))

    async def consent_now(self, services: Services, person_id: int
                          ) -> dict[tuple[str, str], Grant]:
        """The latest word per (channel, purpose)."""
        return await ConsentLedger(self.session, services.signer).current(person_id)

    async def figures(self, services: Services, start: datetime, end: datetime) -> Figures:
        return await collect(self.session, services, start, end)

    async def save_report(self, services: Services, data: bytes, filename: str,
                          now: datetime) -> SavedMedia:
        return await services.media.save(self.session, data, filename=filename, now=now)

    async def newest_audit(self, count: int) -> Sequence[AuditRow]:
        """The `count` newest audit lines, newest first."""
        return (await self.session.scalars(
            select(AuditRow).order_by(AuditRow.id.desc()).limit(count))).all()
