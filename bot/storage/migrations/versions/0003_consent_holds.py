"""consent holds, open consent requests and delivery fallbacks

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consent_held",
        sa.Column("id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_held_person", "consent_held", ["person_id", "channel"])
    op.create_index("ix_consent_held_expiry", "consent_held", ["expires_at"])
    op.create_table(
        "consent_asks",
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text_version", sa.String(length=64), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "channel"),
    )
    op.create_table(
        "consent_fallbacks",
        sa.Column("outbox_id", _ID, nullable=False),
        sa.Column("origin_id", _ID, nullable=False),
        sa.Column("failed_id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("outbox_id"),
    )
    op.create_index("ix_consent_fallbacks_origin_id", "consent_fallbacks", ["origin_id"])


def downgrade() -> None:
    op.drop_index("ix_consent_fallbacks_origin_id", table_name="consent_fallbacks")
    op.drop_table("consent_fallbacks")
    op.drop_table("consent_asks")
    op.drop_index("ix_consent_held_expiry", table_name="consent_held")
    op.drop_index("ix_consent_held_person", table_name="consent_held")
    op.drop_table("consent_held")
