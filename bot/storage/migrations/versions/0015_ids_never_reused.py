"""inbox and outbox ids are never handed out twice (SQLite AUTOINCREMENT)

SQLite gives a new row the highest id plus one, so once the newest row is deleted (an
erasure deletes a person's latest messages) its id comes back for the next row, while
timer keys (`consent-hold:<inbox id>`), outbox rows and delivery reports still name the
old one. With AUTOINCREMENT SQLite never hands out an id twice. The tables are rebuilt
(Alembic's batch mode: copy, drop, rename) with their indexes and rows; nothing
references them by foreign key. PostgreSQL's sequences never reuse ids: nothing to do.

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("inbox", "outbox")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in _TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
