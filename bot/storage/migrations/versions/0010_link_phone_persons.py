"""identity: link the persons that already write from one number on WhatsApp and SMS

Before this revision a WhatsApp and an SMS address with the same number were two
persons. Each such pair of customers (neither erased, no channel in common) becomes one
person: the older one keeps everything of the newer one (every column that references
`persons.id`, as `werkbot.bot.identity` re-points them at run time), the newer person
row goes, and an audit line records the merge. Nothing to undo on downgrade: the merged
person stays one person.

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from werkbot.bot.identity import merge_statements

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
# No dependency on the other branches (0003-0007): the tables are reflected as they are,
# and a table that does not exist yet holds no row that points at a person.
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    metadata = sa.MetaData()
    metadata.reflect(bind)
    persons, addresses, audit = (metadata.tables[n] for n in ("persons", "addresses", "audit"))
    rows = bind.execute(
        sa.select(addresses.c.person_id, addresses.c.channel, addresses.c.address)
        .join(persons, persons.c.id == addresses.c.person_id)
        .where(persons.c.kind == "customer", persons.c.erased_at.is_(None))).all()
    channels: dict[int, set[str]] = {}
    by_number: dict[str, set[int]] = {}
    for person_id, channel, address in rows:
        channels.setdefault(person_id, set()).add(channel)
        number = str(address).partition(":")[2]
        if channel in ("whatsapp", "sms") and number.startswith("+"):
            by_number.setdefault(number, set()).add(int(person_id))
    owner: dict[int, int] = {}  # merged person -> the person it went into
    for owners in by_number.values():
        found = sorted({_root(owner, p) for p in owners})
        keep = found[0]
        for gone in found[1:]:
            if channels.get(keep, set()) & channels.get(gone, set()):
                continue  # one address per channel: left for staff to decide
            _merge(bind, metadata, keep, gone)
            channels[keep] = channels.get(keep, set()) | channels.pop(gone, set())
            owner[gone] = keep
            bind.execute(sa.insert(audit).values(
                at=datetime.now(UTC).replace(tzinfo=None) if bind.dialect.name == "sqlite"
                else datetime.now(UTC), actor="migration", action="identity.merged",
                subject=f"person:{keep}", detail=f"#{gone} -> #{keep} (same number)"))


def _root(owner: dict[int, int], person: int) -> int:
    while person in owner:
        person = owner[person]
    return person


def _merge(bind: sa.Connection, metadata: sa.MetaData, keep: int, gone: int) -> None:
    addresses, persons = metadata.tables["addresses"], metadata.tables["persons"]
    start = bind.scalar(sa.select(sa.func.count()).select_from(addresses)
                        .where(addresses.c.person_id == keep)) or 0
    moved = bind.execute(sa.select(addresses.c.id).where(addresses.c.person_id == gone)
                         .order_by(addresses.c.position, addresses.c.id)).scalars().all()
    for offset, address_id in enumerate(moved):
        bind.execute(sa.update(addresses).where(addresses.c.id == address_id)
                     .values(position=int(start) + offset))
    names = dict(bind.execute(sa.select(persons.c.id, persons.c.display_name)
                              .where(persons.c.id.in_((keep, gone)))).all())
    for statement in merge_statements(metadata, keep, gone):
        bind.execute(statement)
    if not names.get(keep) and names.get(gone):
        bind.execute(sa.update(persons).where(persons.c.id == keep)
                     .values(display_name=names[gone]))
    bind.execute(sa.delete(persons).where(persons.c.id == gone))


def downgrade() -> None:
    """Merged persons stay merged (their data cannot be told apart again)."""
