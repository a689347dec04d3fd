"""jobs, job staff, photo batches, job media, notes, signing requests

Revision ID: 0005
Revises: 0002
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("customer_id", _ID, nullable=True),
        sa.Column("site", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("closed_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["persons.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_jobs_customer_id", "jobs", ["customer_id"])
    op.create_table(
        "job_staff",
        sa.Column("id", _ID, nullable=False),
        sa.Column("job_id", _ID, nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("assigned_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "staff_id", name="uq_job_staff"),
    )
    op.create_table(
        "job_batches",
        sa.Column("id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=True),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
        sa.Column("quiet_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_batches_person_id", "job_batches", ["person_id"])
    op.create_table(
        "job_media",
        sa.Column("id", _ID, nullable=False),
        sa.Column("job_id", _ID, nullable=True),
        sa.Column("batch_id", _ID, nullable=True),
        sa.Column("media_id", _ID, nullable=False),
        sa.Column("thumb_id", _ID, nullable=True),
        sa.Column("person_id", _ID, nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("captured_at", _AT, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("sent_to_customer_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["batch_id"], ["job_batches.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["media_id"], ["media.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["thumb_id"], ["media.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_media_job", "job_media", ["job_id", "media_id"])
    op.create_table(
        "job_notes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("job_id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_notes_job_id", "job_notes", ["job_id"])
    op.create_table(
        "job_signatures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("job_id", _ID, nullable=False),
        sa.Column("request_id", _ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signature_media_id", _ID, nullable=True),
        sa.Column("pdf_media_id", _ID, nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("signed_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["signature_media_id"], ["media.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["pdf_media_id"], ["media.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_signatures_request_id", "job_signatures", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_job_signatures_request_id", table_name="job_signatures")
    op.drop_table("job_signatures")
    op.drop_index("ix_job_notes_job_id", table_name="job_notes")
    op.drop_table("job_notes")
    op.drop_index("ix_job_media_job", table_name="job_media")
    op.drop_table("job_media")
    op.drop_index("ix_job_batches_person_id", table_name="job_batches")
    op.drop_table("job_batches")
    op.drop_table("job_staff")
    op.drop_index("ix_jobs_customer_id", table_name="jobs")
    op.drop_table("jobs")
