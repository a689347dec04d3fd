"""The emergency tables: company closures, on-call overrides, incidents and their timelines.

They share the core `Base`, so the one Alembic history (revision 0004) covers them.
Incidents hold ids, never content: what the customer wrote stays in the inbox rows the
incident points at, so erasure and retention of those rows need no knowledge of ours.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from werkbot.bot.storage.models import Base, BigId


class Closure(Base):
    """A company closure (Betriebsurlaub): closed from `first` to `last`, both included."""

    __tablename__ = "emergency_closures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    first: Mapped[date] = mapped_column(Date)
    last: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class OncallOverride(Base):
    """`staff_id` is on call from `starts_at` until `ends_at`; the newest row wins."""

    __tablename__ = "emergency_oncall_overrides"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(32), default="override")  # override | swap
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_emergency_override_span", "starts_at", "ends_at"),)


class Incident(Base):
    """One emergency: who raised it, whom it goes to (the plan) and how far it got."""

    __tablename__ = "emergency_incidents"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(32))  # where the customer wrote from
    mode: Mapped[str] = mapped_column(String(16))  # oncall | office | fallback
    danger: Mapped[str] = mapped_column(String(32), default="")  # gas, electric, ...
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|acknowledged|closed
    plan: Mapped[str] = mapped_column(Text, default="[]")  # JSON: stages of [staff, address]
    step: Mapped[int] = mapped_column(Integer, default=0)  # the last stage alerted
    acked_by: Mapped[str] = mapped_column(String(64), default="")
    acked_at: Mapped[datetime | None]
    details_at: Mapped[datetime | None]  # when the customer's details went to staff
    inbox_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the messages
    media_ids: Mapped[str] = mapped_column(Text, default="[]")  # JSON: stored media
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_emergency_incident_customer", "customer_id", "status"),)


class IncidentStep(Base):
    """One line of an incident's timeline; `outbox_first..outbox_last` map replies back."""

    __tablename__ = "emergency_incident_steps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("emergency_incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))
    staff_id: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[str] = mapped_column(String(200), default="")
    outbox_first: Mapped[int | None] = mapped_column(BigId)
    outbox_last: Mapped[int | None] = mapped_column(BigId)
