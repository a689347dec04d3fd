"""Consent outcomes for `/stats`, from the ledger: customers only, withdrawals counted.

The ledger writes one row per purpose, one after the other; consecutive rows of one
subject, channel, moment and answer are one decision. Decisions are replayed in order
per subject (the keyed pseudonym, which stays after an erasure, so an erased customer's
answers still count) and each decision inside the period counts once:

- a grant on a channel that had none: **consented**;
- a no or a withdrawal on a channel that had a grant (for `*`, on any channel):
  **withdrawn**;
- a no where nothing was granted: **declined**.

Staff confidentiality commitments are no customer's consent and never count; nor does
anything recorded for a staff person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.storage.models import Person
from werkbot.handlers.consent.commitments import METHOD as STAFF_COMMITMENT
from werkbot.handlers.consent.ledger import ALL_CHANNELS, ConsentEntry


@dataclass
class ConsentCounts:
    consented: int = 0
    declined: int = 0
    withdrawn: int = 0


async def consent_counts(session: AsyncSession, start: datetime, end: datetime
                         ) -> ConsentCounts:
    rows = (await session.execute(
        select(ConsentEntry.subject, ConsentEntry.channel, ConsentEntry.at,
               ConsentEntry.granted)
        .outerjoin(Person, Person.id == ConsentEntry.person_id)
        .where(ConsentEntry.at < end, ConsentEntry.method != STAFF_COMMITMENT,
               or_(ConsentEntry.person_id.is_(None), Person.kind == "customer"))
        .order_by(ConsentEntry.at, ConsentEntry.id))).all()
    counts = ConsentCounts()
    granted: dict[str, set[str]] = {}  # per subject: channels with a current grant
    last: tuple[str, str, datetime, bool] | None = None
    for subject, channel, at, grant in rows:
        decision = (str(subject), str(channel), at, bool(grant))
        if decision == last:
            continue  # another purpose of the same decision (written together, in a row)
        last = decision
        channels = granted.setdefault(str(subject), set())
        counted = start <= at < end
        if grant:
            if channel not in channels and counted:
                counts.consented += 1
            channels.add(channel)
            continue
        had = bool(channels) if channel == ALL_CHANNELS else bool(
            channels & {channel, ALL_CHANNELS})
        if counted:
            if had:
                counts.withdrawn += 1
            else:
                counts.declined += 1
        if channel == ALL_CHANNELS:
            channels.clear()
        else:
            channels.discard(channel)
    return counts
