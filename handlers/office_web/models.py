"""The office web app's tables: one-time sign-in links, sessions and read marks.

Links and sessions are stored by the SHA-256 of their secret, never the secret itself,
so a copy of the database signs nobody in. A session lives server-side: ending it (sign
out, or an admin for everyone) takes effect at the next request. Read marks remember,
per staff member and customer, the last forwarded message they saw (unread marks).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from werkbot.bot.storage.models import Base, BigId


class WebLogin(Base):
    """A one-time sign-in link sent by `/web`: usable once, until `expires_at`."""

    __tablename__ = "office_web_logins"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_office_web_logins_staff", "staff_id", "created_at"),)


class WebSession(Base):
    """A signed-in browser: ends after a working day without a request, or when ended."""

    __tablename__ = "office_web_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str] = mapped_column(String(64), default="")


class ReadMark(Base):
    """The newest office forward a staff member has seen in a customer's thread."""

    __tablename__ = "office_web_reads"
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    forward_id: Mapped[int] = mapped_column(BigId, default=0)
    at: Mapped[datetime]
