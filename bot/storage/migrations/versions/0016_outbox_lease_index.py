"""outbox lease index: claiming finds expired leases without reading every row in flight

The claim takes due rows: queued ones whose attempt is due (`ix_outbox_due`) and rows
still `sending` whose lease ran out (a sender that died mid-send). Without an index on
the lease, the second half read every `sending` row on every claim: cheap while the
sender keeps up, but when it lags (a slow or throttling provider) rows handed to it pile
up as `sending`, and every batch the dispatcher handles paid for all of them.

Revision ID: 0016
Revises: 0015
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_lease", "outbox", ["status", "lease_until"])


def downgrade() -> None:
    op.drop_index("ix_outbox_lease", table_name="outbox")
