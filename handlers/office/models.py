"""The office inbox's tables: conversations with customers and what was forwarded.

A `Conversation` is one customer's open (or closed) thread with the office: its forum
topic where the office works in a Telegram group, whether the customer got the automatic
acknowledgement, and when the office first answered (for first-response statistics).
A `Forward` links one outbox row (a customer message forwarded to the office, or an
office answer delivered to the customer) to the conversation, so a staff member's reply
to a forwarded message (`event.reply_to` = the row's provider id) finds the customer.
Both hold ids and times only; the texts live in the outbox rows they point to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from werkbot.bot.storage.models import Base, BigId

OPEN = "open"
CLOSED = "closed"
TO_OFFICE = "in"  # a customer's message forwarded to the office
TO_CUSTOMER = "out"  # an office answer delivered to the customer


class Conversation(Base):
    """One customer's thread with the office."""

    __tablename__ = "office_conversations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str] = mapped_column(String(64), default="")
    topic_id: Mapped[str] = mapped_column(String(32), default="")  # Telegram forum topic
    topic_outbox_id: Mapped[int | None] = mapped_column(BigId)  # the row that opens the topic
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    first_message_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    first_responder: Mapped[str] = mapped_column(String(64), default="")
    __table_args__ = (
        Index("ix_office_conv_person", "person_id", "status"),
        Index("ix_office_conv_topic", "topic_id"),
    )


class Forward(Base):
    """One message between a customer and the office, by its outbox row."""

    __tablename__ = "office_forwards"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("office_conversations.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(BigId, index=True)
    direction: Mapped[str] = mapped_column(String(8))
    staff_id: Mapped[str] = mapped_column(String(64), default="")  # who answered (out)
    after_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    __table_args__ = (Index("ix_office_fwd_person", "person_id"),)
