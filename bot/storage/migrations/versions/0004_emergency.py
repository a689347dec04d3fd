"""emergency: closures, on-call overrides, incidents and their timelines

Revision ID: 0004
Revises: 0002
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "emergency_closures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("first", sa.Date(), nullable=False),
        sa.Column("last", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "emergency_oncall_overrides",
        sa.Column("id", _ID, nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", _AT, nullable=False),
        sa.Column("ends_at", _AT, nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("cancelled_at", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emergency_override_span", "emergency_oncall_overrides",
                    ["starts_at", "ends_at"])
    op.create_table(
        "emergency_incidents",
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", _ID, nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("danger", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("acked_by", sa.String(length=64), nullable=False),
        sa.Column("acked_at", _AT, nullable=True),
        sa.Column("details_at", _AT, nullable=True),
        sa.Column("inbox_ids", sa.Text(), nullable=False),
        sa.Column("media_ids", sa.Text(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("closed_at", _AT, nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["persons.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emergency_incident_customer", "emergency_incidents",
                    ["customer_id", "status"])
    op.create_table(
        "emergency_incident_steps",
        sa.Column("id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("outbox_first", _ID, nullable=True),
        sa.Column("outbox_last", _ID, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["emergency_incidents.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emergency_incident_steps_incident_id", "emergency_incident_steps",
                    ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_emergency_incident_steps_incident_id",
                  table_name="emergency_incident_steps")
    op.drop_table("emergency_incident_steps")
    op.drop_index("ix_emergency_incident_customer", table_name="emergency_incidents")
    op.drop_table("emergency_incidents")
    op.drop_index("ix_emergency_override_span", table_name="emergency_oncall_overrides")
    op.drop_table("emergency_oncall_overrides")
    op.drop_table("emergency_closures")
