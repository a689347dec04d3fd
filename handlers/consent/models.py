"""The consent dialogue's own tables: held first messages, open questions, fallbacks.

- `ConsentHold`: what a person wrote before deciding, kept out of every staff view
  until they say yes (then re-dispatched) and deleted when they say no, withdraw, or
  let `consent.hold_for` pass. The only copy of the text: the inbox row is blanked.
- `ConsentAsk`: per person and channel, when the consent request was last shown, which
  text version and hash, and whether an answer is still open (`pending`).
- `DeliveryFallback`: an outbox row that re-sends another, failed one; the chain back to
  the original tells which addresses a message already failed on.

None holds anything beyond ids and times except `ConsentHold.payload`; erasure goes
through `handlers.consent.holds.forget`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from werkbot.bot.storage.models import Base, BigId


class ConsentHold(Base):
    """One held inbound event (its JSON payload) of a person without a decision."""

    __tablename__ = "consent_held"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))  # the provider's id, for release
    payload: Mapped[str] = mapped_column(Text)
    held_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    __table_args__ = (Index("ix_consent_held_person", "person_id", "channel"),
                      Index("ix_consent_held_expiry", "expires_at"))


class ConsentAsk(Base):
    """The consent request as last shown to a person on one channel."""

    __tablename__ = "consent_asks"
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"),
                                           primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    asked_at: Mapped[datetime]
    text_version: Mapped[str] = mapped_column(String(64))
    text_sha256: Mapped[str] = mapped_column(String(64))
    pending: Mapped[bool]  # asked and not yet answered yes, no or stop


class DeliveryFallback(Base):
    """An outbox row sent because an earlier one failed; `origin_id` starts the chain."""

    __tablename__ = "consent_fallbacks"
    outbox_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    origin_id: Mapped[int] = mapped_column(BigId, index=True)
    failed_id: Mapped[int] = mapped_column(BigId)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"))
    at: Mapped[datetime]
