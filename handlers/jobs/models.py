"""Job tables: jobs, their staff, photo batches, filed media and signing requests.

They share the core `Base`, so migration 0005 covers them. A job's media are rows that
point at the media store (content-addressed files under `media.dir`), so erasure and
signed links work as for any other media; `job_media` is what makes them the job's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from werkbot.bot.storage.models import Base, BigId

OPEN = "open"
CLOSED = "closed"
CUSTOMER = "customer"
STAFF = "staff"


class Job(Base):
    """A job: short human code, title, customer, site, status."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    site: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class JobStaff(Base):
    """A staff member assigned to a job (by configured staff id)."""

    __tablename__ = "job_staff"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    staff_id: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("job_id", "staff_id", name="uq_job_staff"),)


class JobBatch(Base):
    """Media one person sent within the quiet window; delivered as one message.

    `job_id` stays empty while the bot waits for the person to say which job; `quiet_at`
    is set when the window has passed. Delivery needs both, and for customers consent.
    """

    __tablename__ = "job_batches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    origin: Mapped[str] = mapped_column(String(16))  # customer | staff
    address: Mapped[str] = mapped_column(String(200))  # where the receipt goes
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|done|dropped
    items: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    quiet_at: Mapped[datetime | None]


class JobMedia(Base):
    """One file filed to a job: who sent it, when it was taken, with which caption."""

    __tablename__ = "job_media"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("job_batches.id", ondelete="SET NULL"))
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"))
    thumb_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(String(16))  # customer | staff
    staff_id: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))
    caption: Mapped[str] = mapped_column(Text, default="")
    captured_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_to_customer_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_job_media_job", "job_id", "media_id"),)


class JobNote(Base):
    """A text someone filed to a job with `#A-1042` in the message."""

    __tablename__ = "job_notes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(String(16))  # customer | staff
    staff_id: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class JobSignature(Base):
    """A signing request for a job (order confirmation, extra work) and its outcome.

    The page and the request itself belong to the rights feature (`signing_requests`,
    `request_id`); this row ties it to the job and keeps the job's signed PDF.
    """

    __tablename__ = "job_signatures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(BigId, index=True)
    text: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))  # staff id
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | signed
    signature_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("media.id", ondelete="SET NULL"))
    pdf_media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]
