"""The consent feature's database access: one repository bound to the event's transaction.

Handlers get it with `ctx.repo(ConsentRepo)`; its methods hold (or name) the statements
the gate, the dialogue, the delivery fallback and the policy issue, so none of them
touches the session itself. The ledger (`ledger.py`), the held messages (`holds.py`) and
the standing per channel (`status.py`) keep their functions for code outside a handler
(erasure, retention, admin commands); the methods here call them with this session.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.storage.inline_sql import Prepared
from werkbot.bot.storage.models import AddressRow, AuditRow, OutboxRow, Person
from werkbot.bot.storage.repos import forget_numbered_choices, set_inbox_payload
from werkbot.bot.storage.row_writes import insert_row
from werkbot.bot.tokens import Signer
from werkbot.handlers.consent import holds
from werkbot.handlers.consent.ledger import ConsentLedger, Grant, load_current
from werkbot.handlers.consent.models import ConsentAsk, ConsentHold, DeliveryFallback
from werkbot.handlers.consent.status import ChannelStatus, channel_status, may_share

_ASKS = cast(Table, ConsentAsk.__table__)
_NEW_ASK = Prepared(insert(_ASKS), keys=[column.name for column in _ASKS.columns])


class ConsentRepo:
    """Consent's reads and writes inside one event's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- standing, ledger ------------------------------------------------------------

    async def channel_status(self, person_id: int, channel: str) -> ChannelStatus:
        return await channel_status(self.session, person_id, channel)

    async def may_share(self, person_id: int, purpose: str) -> bool:
        return await may_share(self.session, person_id, purpose)

    async def current(self, person_id: int) -> dict[tuple[str, str], Grant]:
        return await load_current(self.session, person_id)

    def ledger(self, signer: Signer) -> ConsentLedger:
        return ConsentLedger(self.session, signer)

    # -- open requests ---------------------------------------------------------------

    async def ask(self, person_id: int, channel: str) -> ConsentAsk | None:
        return await self.session.get(ConsentAsk, (person_id, channel))

    async def asks(self, person_id: int) -> Sequence[ConsentAsk]:
        return (await self.session.scalars(
            select(ConsentAsk).where(ConsentAsk.person_id == person_id))).all()

    async def asked(self, person_id: int, channel: str, now: datetime, *, text_version: str,
                    text_sha256: str, known_new: bool = False) -> None:
        """The request was shown now: open (or renew) it. `known_new`: the person was made
        by this very event, so there is no row to look up."""
        ask = None if known_new else await self.ask(person_id, channel)
        if ask is None:  # written at once, as the hold is: no unit of work at the commit
            await _NEW_ASK.run(self.session, {
                "person_id": person_id, "channel": channel, "asked_at": now,
                "text_version": text_version, "text_sha256": text_sha256, "pending": True})
            return
        ask.asked_at, ask.pending = now, True
        ask.text_version, ask.text_sha256 = text_version, text_sha256

    # -- held messages ---------------------------------------------------------------

    async def held_count(self, person_id: int) -> int:
        return len((await self.session.scalars(select(ConsentHold.id).where(
            ConsentHold.person_id == person_id))).all())

    async def hold(self, person_id: int, channel: str, *, event_id: str, payload: str,
                   held_at: datetime, expires_at: datetime) -> ConsentHold:
        """Keep one event until the person decides; the row is written at once."""
        return await insert_row(self.session, ConsentHold, person_id=person_id,
                                channel=channel, event_id=event_id, payload=payload,
                                held_at=held_at, expires_at=expires_at)

    async def blank_inbox_row(self, inbox_id: int, payload: str) -> None:
        await set_inbox_payload(self.session, inbox_id, payload)

    async def release_held(self, person_id: int, now: datetime, *,
                           channel: str | None = None) -> int:
        return await holds.release_held(self.session, person_id, now, channel=channel)

    async def discard_held(self, person_id: int, *, channel: str | None = None) -> int:
        return await holds.discard_held(self.session, person_id, channel=channel)

    async def expire_held(self, now: datetime) -> int:
        return await holds.expire_held(self.session, now)

    async def forget_numbered_choices(self, address: Address, values: Sequence[str]) -> None:
        await forget_numbered_choices(self.session, address, values)

    # -- people and addresses --------------------------------------------------------

    async def address_row(self, address: Address) -> AddressRow | None:
        return await self.session.scalar(
            select(AddressRow).where(AddressRow.address == str(address)))

    async def person(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)


class DeliveryRepo:
    """The delivery fallback's reads and writes: outbox rows, their chains, the audit."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def outbox_row(self, outbox_id: int) -> OutboxRow | None:
        return await self.session.get(OutboxRow, outbox_id)

    async def outbox_row_of_provider(self, provider_id: str) -> OutboxRow | None:
        return await self.session.scalar(select(OutboxRow).where(
            OutboxRow.provider_id == provider_id))

    async def chain(self, outbox_id: int) -> DeliveryFallback | None:
        return await self.session.get(DeliveryFallback, outbox_id)

    async def handled(self, outbox_id: int, actions: Collection[str]) -> bool:
        found = await self.session.scalar(select(AuditRow.id).where(
            AuditRow.subject == f"outbox:{outbox_id}", AuditRow.action.in_(actions)))
        return found is not None

    async def tried(self, origin: int) -> set[str]:
        """The addresses the message (and its re-sends) already failed or went on."""
        ids = [origin, *(await self.session.scalars(select(DeliveryFallback.outbox_id).where(
            DeliveryFallback.origin_id == origin))).all()]
        return set((await self.session.scalars(
            select(OutboxRow.address).where(OutboxRow.id.in_(ids)))).all())

    async def last_outbox_id(self) -> int:
        return int(await self.session.scalar(
            select(OutboxRow.id).order_by(OutboxRow.id.desc()).limit(1)) or 0)

    async def link(self, address: Address, origin: int, failed_id: int, person: int,
                   after: int, inbox_id: int | None, now: datetime) -> None:
        """Link the rows this event just queued for `address` to the failed message's chain."""
        new = await self.session.scalars(select(OutboxRow.id).where(
            OutboxRow.id > after, OutboxRow.address == str(address),
            OutboxRow.inbound_id == inbox_id))
        for outbox_id in new:
            self.session.add(DeliveryFallback(outbox_id=outbox_id, origin_id=origin,
                                              failed_id=failed_id, person_id=person, at=now))
