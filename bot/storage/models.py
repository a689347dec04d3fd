"""The core tables, as typed SQLAlchemy 2 models.

Handlers' own tables (consent ledger, jobs, incidents) live beside their repositories
and share this `Base`, so one Alembic history covers them all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on SQLite (which stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class Person(Base):
    """Someone werkbot talks to: a customer or a staff member, with one or more addresses."""

    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # customer | staff
    staff_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="de")
    created_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]


class AddressRow(Base):
    """One address of a person; `position` is the person's channel preference order."""

    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    window_until: Mapped[datetime | None]  # WhatsApp 24-hour customer-service window
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]


class InboxRow(Base):
    """An inbound event or a timer, stored before it is acknowledged, handled once."""

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    available_at: Mapped[datetime]
    created_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        Index("ix_inbox_due", "status", "available_at"),
        Index("ix_inbox_sender", "sender", "status"),
        # Ids are never handed out twice (SQLite reuses the newest id once its row is
        # deleted, e.g. by an erasure; timer keys and outbox rows name inbox ids).
        {"sqlite_autoincrement": True},
    )


class OutboxRow(Base):
    """A message werkbot must send: claimed, sent, retried with backoff or visibly failed."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    address: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    thread: Mapped[str] = mapped_column(String(64), default="")
    error_code: Mapped[str] = mapped_column(String(32), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    inbound_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_lease", "status", "lease_until"),  # a sender lost mid-send
        Index("ix_outbox_address", "address", "status", "id"),  # one at a time per recipient
        {"sqlite_autoincrement": True},  # as the inbox's: delivery reports name outbox ids
    )


class ConversationState(Base):
    """Per-person conversation state (a small JSON document), loaded under the person lock."""

    __tablename__ = "conversation_states"
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime]


class MediaRow(Base):
    """A stored media file, addressed by content hash; the bytes live in the media dir."""

    __tablename__ = "media"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(200), default="")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class AuditRow(Base):
    """Who did what and when; subjects are ids, never content."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class KeyValue(Base):
    """Small durable settings werkbot keeps for itself (e.g. the telegram file_id cache)."""

    __tablename__ = "kv"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
