"""The rights feature's tables: signing requests and links from forwarded messages to people.

A `SigningRequest` is one signed, expiring page (`/consent/{token}`, `/sign/{token}`):
the exact text shown, what may be ticked, and once completed the signature and receipt
media. A `ForwardedRecord` ties an outbox row (something sent to staff) to the customer it
is about, so erasure finds every copy of a person's data that werkbot passed on.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from werkbot.bot.storage.models import Base, BigId


class SigningRequest(Base):
    """One page to sign: `kind` is "consent" or another feature's kind (e.g. "job")."""

    __tablename__ = "signing_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)  # exactly what the page shows (hashed in the ledger)
    text_version: Mapped[str] = mapped_column(String(64))
    options: Mapped[str] = mapped_column(Text, default="{}")  # JSON: channels, purposes, ref
    language: Mapped[str] = mapped_column(String(8), default="de")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    signature_media_id: Mapped[int | None] = mapped_column(BigId)
    receipt_media_id: Mapped[int | None] = mapped_column(BigId)
    result: Mapped[str] = mapped_column(Text, default="{}")  # JSON: what was ticked
    __table_args__ = (Index("ix_signing_person", "person_id"),)

    def option(self, key: str) -> Any:
        return json.loads(self.options or "{}").get(key)

    def choices(self) -> list[tuple[str, str]]:
        """The (channel, purpose) pairs the page offers as checkboxes."""
        return [(str(c), str(p)) for c in self.option("channels") or []
                for p in self.option("purposes") or []]

    def ticked(self) -> list[tuple[str, str]]:
        return [(str(c), str(p)) for c, p in json.loads(self.result or "{}").get("ticked", [])]


class ForwardedRecord(Base):
    """An outbox row that carried a customer's data to staff (deleted on erasure)."""

    __tablename__ = "forwarded_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    __table_args__ = (Index("ix_forwarded_person", "person_id"),)
