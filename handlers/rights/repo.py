"""The chat rights features' database access: the outbox rows a rights answer queued,
scrubbing them once delivered, erasing the sender, linking forwarded copies to the
customer they are about, and the signing requests a signature completes.

Handlers get one bound to the event's transaction with `ctx.repo(RightsRepo)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.services import Services
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.bot.storage.repos import delete_inbox_rows
from werkbot.handlers.rights.erasure import Erasure, blank_inbox_row, erase_person
from werkbot.handlers.rights.models import ForwardedRecord, SigningRequest


class RightsRepo:
    """Rights answers, erasure and forwarding records in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def last_outbox_id(self) -> int:
        """The newest outbox row's id (0: none); rows queued later have larger ids."""
        return await self.session.scalar(select(func.max(OutboxRow.id))) or 0

    async def outbox_ids_to(self, address: Address, after_id: int) -> list[int]:
        """The ids of the rows queued for `address` after `after_id`."""
        return list((await self.session.scalars(select(OutboxRow.id).where(
            OutboxRow.id > after_id, OutboxRow.address == str(address)))).all())

    async def outbox_rows(self, ids: Iterable[int]) -> Sequence[OutboxRow]:
        return (await self.session.scalars(
            select(OutboxRow).where(OutboxRow.id.in_(list(ids))))).all()

    async def delete_sent(self, row: OutboxRow, current_inbox_id: int | None) -> None:
        """Delete an outbox row and the status reports about its address (except the
        inbox row being handled, which the dispatcher still marks)."""
        await delete_inbox_rows(
            self.session, InboxRow.sender == row.address, InboxRow.id != current_inbox_id,
            InboxRow.kind.in_(("DeliveryStatus", "Unreachable")))
        await self.session.delete(row)

    async def blank_inbox_row(self, inbox_id: int | None) -> None:
        """Keep the inbox row but drop its sender and content."""
        await blank_inbox_row(self.session, inbox_id)

    async def erase_person(self, services: Services, person_id: int, *, actor: str,
                           keep_outbox: Iterable[int], current_inbox_id: int | None
                           ) -> Erasure:
        """Erase a customer (`erasure.erase_person`); raises `NotErasable`."""
        return await erase_person(self.session, services, person_id, actor=actor,
                                  keep_outbox=keep_outbox, current_inbox_id=current_inbox_id)

    async def link_forwarded(self, about: int, after_id: int, inbox_id: int | None,
                             now: datetime) -> None:
        """Link the outbox rows queued after `after_id` (for inbox row `inbox_id`, if
        given) to customer `about`, so that erasing them finds every copy."""
        query = select(OutboxRow.id).where(OutboxRow.id > after_id)
        if inbox_id is not None:
            query = query.where(OutboxRow.inbound_id == inbox_id)
        for outbox_id in (await self.session.scalars(query)).all():
            self.session.add(ForwardedRecord(person_id=about, outbox_id=outbox_id,
                                             created_at=now))
        await self.session.flush()

    async def signing_request(self, request_id: int) -> SigningRequest | None:
        return await self.session.get(SigningRequest, request_id)
