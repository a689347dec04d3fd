"""The consent ledger: append-only evidence of who agreed to what, where, and when.

Every grant and every withdrawal is a new row: person, channel and address, purpose,
lawful basis, the exact text shown (version and SHA-256), method, evidence and who
recorded it. The current state is derived from the latest row per (person, channel,
purpose); nothing is ever updated in place, so the history stays provable. On erasure
the address is replaced by a keyed pseudonym and the evidence text dropped, keeping
only what proves that consent existed and when it ended; the retention sweep drops
evidence the same way once `retention.consent_evidence` has passed after a withdrawal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ForeignKey, Index, String, Table, Text, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from werkbot.bot.addresses import Address
from werkbot.bot.storage.inline_sql import Prepared
from werkbot.bot.storage.models import Base, BigId
from werkbot.bot.tokens import Signer

# Purposes people consent to (GDPR Art. 6(1)(a)); each is asked and withdrawn on its own.
REQUESTS = "requests"  # communication about requests and orders
PHOTOS = "photos"  # job photos reaching the assigned fitters
EMERGENCY = "emergency"  # emergency alerts and the on-call fitter contacting them
PURPOSES = (REQUESTS, PHOTOS, EMERGENCY)
ALL_CHANNELS = "*"  # a grant or withdrawal for every channel of the person

# provider-opt-out: the carrier told us the person opted out (Twilio 21610 after SMS STOP).
METHODS = frozenset({"chat", "button", "web-signature", "paper", "staff-commitment",
                     "provider-opt-out"})


class ConsentEntry(Base):
    """One grant or withdrawal. Never updated except by pseudonymisation on erasure."""

    __tablename__ = "consent_ledger"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(64))  # pseudonym kept after erasure
    channel: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    lawful_basis: Mapped[str] = mapped_column(String(64))
    text_version: Mapped[str] = mapped_column(String(64))
    text_sha256: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text, default="")  # inbound id, signature media id
    recorded_by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    __table_args__ = (Index("ix_consent_person", "person_id", "channel", "purpose"),)


_LEDGER = cast(Table, ConsentEntry.__table__)
_CURRENT = Prepared(
    select(_LEDGER.c.channel, _LEDGER.c.purpose, _LEDGER.c.granted, _LEDGER.c.at,
           _LEDGER.c.method, _LEDGER.c.text_version, _LEDGER.c.id)
    .where(_LEDGER.c.person_id == bindparam("person_id"))
    .order_by(_LEDGER.c.at, _LEDGER.c.id))


@dataclass(frozen=True, slots=True)
class Grant:
    """What one ledger row says, in plain terms."""

    channel: str
    purpose: str
    granted: bool
    at: datetime
    method: str
    text_version: str
    entry_id: int = 0  # orders rows recorded in the same instant

    @property
    def order(self) -> tuple[datetime, int]:
        return (self.at, self.entry_id)


def granted_in(state: Mapping[tuple[str, str], Grant], purpose: str, channel: str) -> bool:
    """Does a `ConsentLedger.current` state grant `purpose` on `channel`? (No queries.)"""
    specific = state.get((channel, purpose))
    general = state.get((ALL_CHANNELS, purpose))
    latest = max((g for g in (specific, general) if g), key=lambda g: g.order, default=None)
    return bool(latest and latest.granted)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ConsentLedger:
    """Appends to and reads the ledger inside the caller's transaction.

    `signer` (the app's `Signer`) makes the keyed pseudonym that stays after erasure.
    """

    def __init__(self, session: AsyncSession, signer: Signer) -> None:
        self.session = session
        self._signer = signer

    async def record(self, *, person_id: int, address: Address | None, purposes: Iterable[str],
                     granted: bool, text: str, text_version: str, method: str, evidence: str,
                     recorded_by: str, now: datetime, lawful_basis: str = "consent",
                     channel: str | None = None, text_sha256: str = ""
                     ) -> list[ConsentEntry]:
        """Append one row per purpose. `channel` defaults to the address's channel.

        `text_sha256` records the hash of the text as it was shown when it was computed
        earlier (at the time of asking); otherwise `text` is hashed now.
        """
        if method not in METHODS:
            raise ValueError(f"unknown consent method {method!r}")
        rows = []
        for purpose in purposes:
            if purpose not in PURPOSES:
                raise ValueError(f"unknown purpose {purpose!r}")
            rows.append(ConsentEntry(
                person_id=person_id, subject=self._signer.pseudonym(f"person:{person_id}"),
                channel=channel or (address.channel if address else ALL_CHANNELS),
                address=str(address) if address else "", purpose=purpose, granted=granted,
                lawful_basis=lawful_basis, text_version=text_version,
                text_sha256=text_sha256 or text_hash(text), method=method, evidence=evidence,
                recorded_by=recorded_by, at=now))
        self.session.add_all(rows)
        await self.session.flush()
        return rows

    async def history(self, person_id: int) -> Sequence[ConsentEntry]:
        return await load_history(self.session, person_id)

    async def current(self, person_id: int) -> dict[tuple[str, str], Grant]:
        """The latest word per (channel, purpose); '*' rows apply to every channel."""
        return await load_current(self.session, person_id)

    async def has(self, person_id: int, purpose: str, channel: str) -> bool:
        """Does the person currently consent to `purpose` on `channel`?"""
        return granted_in(await self.current(person_id), purpose, channel)

    async def any_consent(self, person_id: int) -> bool:
        return any(g.granted for g in (await self.current(person_id)).values())


async def load_history(session: AsyncSession, person_id: int) -> Sequence[ConsentEntry]:
    """Every ledger row of a person, oldest first (reading needs no signer)."""
    result = await session.scalars(
        select(ConsentEntry).where(ConsentEntry.person_id == person_id)
        .order_by(ConsentEntry.at, ConsentEntry.id))
    return result.all()


async def load_current(session: AsyncSession, person_id: int) -> dict[tuple[str, str], Grant]:
    """The latest word per (channel, purpose); a '*' withdrawal overrides every channel.

    Read on every event (the consent gate): plain rows, no ORM objects, one prepared
    statement. Ledger rows added in this transaction are flushed first, so a grant
    recorded a moment ago counts (rows are never changed in place, only added).
    """
    if any(isinstance(pending, ConsentEntry) for pending in session.new):
        await session.flush()
    rows = await _CURRENT.all(session, {"person_id": person_id})
    state: dict[tuple[str, str], Grant] = {}
    for channel, purpose, granted, at, method, version, row_id in rows:
        grant = Grant(channel, purpose, granted, at, method, version, row_id)
        state[(channel, purpose)] = grant
        if channel == ALL_CHANNELS and not granted:
            for key in [k for k in state if k[1] == purpose]:
                state[key] = grant
    return state
