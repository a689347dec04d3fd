"""Where a person stands, derived from the ledger and the open consent requests.

Per channel a customer is `GRANTED` (current consent for requests on that channel),
`PENDING` (asked, no answer yet), `REFUSED` (said no or withdrew: silence) or `UNKNOWN`
(never asked). `consent_status` gives admin commands the whole picture, `may_share`
tells whether a customer's data may reach staff for a purpose.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.context import Context
from werkbot.bot.storage.models import AddressRow
from werkbot.handlers.consent.ledger import (
    ALL_CHANNELS,
    PURPOSES,
    REQUESTS,
    Grant,
    granted_in,
    load_current,
    load_history,
)
from werkbot.handlers.consent.models import ConsentAsk, ConsentHold
from werkbot.handlers.staff_roles import is_office_address, staff_of


class ChannelStatus(enum.Enum):
    """A customer's standing on one channel."""

    GRANTED = "granted"
    PENDING = "pending"
    REFUSED = "refused"
    UNKNOWN = "unknown"


async def channel_status(session: AsyncSession, person_id: int, channel: str) -> ChannelStatus:
    """The person's standing on `channel` (consent to requests decides)."""
    state = await load_current(session, person_id)
    if granted_in(state, REQUESTS, channel):
        return ChannelStatus.GRANTED
    ask = await session.get(ConsentAsk, (person_id, channel))
    if ask is not None and ask.pending:
        return ChannelStatus.PENDING
    if any(k[0] in (channel, ALL_CHANNELS) for k in state):
        return ChannelStatus.REFUSED
    return ChannelStatus.UNKNOWN


async def may_share(session: AsyncSession, customer_id: int, purpose: str) -> bool:
    """May this customer's data reach staff for `purpose`? (Current consent, any channel.)"""
    state = await load_current(session, customer_id)
    channels = {k[0] for k in state if k[0] != ALL_CHANNELS} | {ALL_CHANNELS}
    return any(granted_in(state, purpose, channel) for channel in channels)


def is_customer(ctx: Context) -> bool:
    """The sender is a customer: not staff, not the office's own chat."""
    if ctx.person is None or ctx.address is None or staff_of(ctx) is not None:
        return False
    return ctx.person.kind != "staff" and not is_office_address(ctx.settings, ctx.address)


@dataclass(frozen=True)
class ConsentStatus:
    """A person's consents as admin commands show them (no personal data inside)."""

    person_id: int
    channels: Mapping[str, ChannelStatus]  # per address channel of the person
    grants: Mapping[tuple[str, str], Grant]  # current word per (channel, purpose)
    history: Sequence[Grant]  # every ledger row, oldest first
    held: int  # messages waiting for an answer
    asked_at: Mapping[str, datetime]  # when the request was last shown, per channel

    def allows(self, purpose: str, channel: str) -> bool:
        return granted_in(self.grants, purpose, channel)

    @property
    def purposes(self) -> tuple[str, ...]:
        return PURPOSES


async def consent_status(session: AsyncSession, person_id: int) -> ConsentStatus:
    """Everything the ledger and the consent dialogue know about one person."""
    grants = await load_current(session, person_id)
    history = [Grant(r.channel, r.purpose, r.granted, r.at, r.method, r.text_version, r.id)
               for r in await load_history(session, person_id)]
    addresses = await session.scalars(
        select(AddressRow.channel).where(AddressRow.person_id == person_id)
        .order_by(AddressRow.position, AddressRow.id))
    channels = {channel: await channel_status(session, person_id, channel)
                for channel in addresses.all()}
    held = await session.scalar(select(func.count()).select_from(ConsentHold)
                                .where(ConsentHold.person_id == person_id)) or 0
    asks = await session.scalars(select(ConsentAsk).where(ConsentAsk.person_id == person_id))
    return ConsentStatus(person_id, channels, grants, history, int(held),
                         {a.channel: a.asked_at for a in asks})

