"""office inbox: conversations and forwarded messages

Revision ID: 0007
Revises: 0002
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "office_conversations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", _AT, nullable=False),
        sa.Column("closed_at", _AT, nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=False),
        sa.Column("topic_id", sa.String(length=32), nullable=False),
        sa.Column("topic_outbox_id", _ID, nullable=True),
        sa.Column("acknowledged", sa.Boolean(), nullable=False),
        sa.Column("first_message_at", _AT, nullable=False),
        sa.Column("first_response_at", _AT, nullable=True),
        sa.Column("first_responder", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_office_conv_person", "office_conversations", ["person_id", "status"])
    op.create_index("ix_office_conv_topic", "office_conversations", ["topic_id"])
    op.create_table(
        "office_forwards",
        sa.Column("id", _ID, nullable=False),
        sa.Column("conversation_id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("outbox_id", _ID, nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("after_hours", sa.Boolean(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["office_conversations.id"],
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_office_forwards_outbox_id", "office_forwards", ["outbox_id"])
    op.create_index("ix_office_fwd_person", "office_forwards", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_office_fwd_person", table_name="office_forwards")
    op.drop_index("ix_office_forwards_outbox_id", table_name="office_forwards")
    op.drop_table("office_forwards")
    op.drop_index("ix_office_conv_topic", table_name="office_conversations")
    op.drop_index("ix_office_conv_person", table_name="office_conversations")
    op.drop_table("office_conversations")
