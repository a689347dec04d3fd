"""Identity: one person owns several addresses, and two persons can become one.

A WhatsApp and an SMS address with the same E.164 number are the same phone, so the
same person: `person_for_new_address` links a new phone address to the customer who
already writes from that number on the other phone channel, from the first message on.
Never linked: staff (their addresses are configured, nothing joins them by itself),
erased persons, and addresses that are not phone numbers (a WhatsApp business-scoped id,
a Telegram chat), which join a person only on proof (handlers/identity).

A person has at most one address per channel: consent is kept per channel, and with two
numbers on one channel a consent given for one would silently cover the other.
`merge_conflicts` names such a clash, and `merge_statements` re-points every column
that references `persons.id` from one person to the other (found in the table metadata,
so tables that features add later are covered without changes here). The Alembic
migration that links the persons that already existed uses the same statements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    Column,
    Executable,
    MetaData,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from werkbot.bot.addresses import PHONE_CHANNELS, Address
from werkbot.bot.storage.inline_sql import PreparedEntities
from werkbot.bot.storage.models import AddressRow, Base, Person
from werkbot.bot.storage.repos import PeopleRepo

log = logging.getLogger(__name__)
PERSONS = "persons"


async def person_for_new_address(session: AsyncSession, address: Address, now: datetime
                                 ) -> tuple[Person, AddressRow] | None:
    """The customer a new phone address belongs to, with the address added; else None.

    Only for an address werkbot does not know yet. On PostgreSQL a transaction lock on
    the number keeps two first messages (WhatsApp and SMS at once, in two workers) from
    making two persons; SQLite has one writer anyway.
    """
    if not address.is_phone:
        return None
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:number))"),
                              {"number": f"werkbot-phone:{address.id}"})
        again = await PeopleRepo(session).by_address(address)
        if again is not None:  # the other worker made it meanwhile
            return again
    siblings = [str(Address(channel, address.id)) for channel in sorted(PHONE_CHANNELS)
                if channel != address.channel]
    found = await _OWNER_OF_SIBLINGS.first(
        session, {f"sibling{i}": sibling for i, sibling in enumerate(siblings)})
    if found is None:
        return None
    owner: Person = found[0]
    if await _has_channel(session, owner.id, address.channel):
        return None  # one address per channel: never a second number on this channel
    row = await PeopleRepo(session).add_address(owner.id, address, now)
    log.info("address %s joined person %s (same number)", address.masked(), owner.id)
    return owner, row


# Built once: every first message from a phone number asks it (building it cost more than
# running it). A phone address has one sibling per other phone channel.
_OWNER_OF_SIBLINGS = PreparedEntities(
    select(Person).join(AddressRow, AddressRow.person_id == Person.id)
    .where(AddressRow.address.in_([bindparam(f"sibling{i}")
                                   for i in range(len(PHONE_CHANNELS) - 1)]),
           Person.kind == "customer", Person.erased_at.is_(None))
    .order_by(Person.id).limit(1), Person)


async def _has_channel(session: AsyncSession, person_id: int, channel: str) -> bool:
    found = await session.scalar(select(AddressRow.id).where(
        AddressRow.person_id == person_id, AddressRow.channel == channel).limit(1))
    return found is not None


async def merge_conflicts(session: AsyncSession, keep: int, gone: int) -> list[str]:
    """The channels on which both persons have an address (a merge must not happen)."""
    channels = [set((await session.scalars(select(AddressRow.channel).where(
        AddressRow.person_id == person))).all()) for person in (keep, gone)]
    return sorted(channels[0] & channels[1])


async def merge_persons(session: AsyncSession, keep: Person, gone: Person) -> None:
    """Move everything of `gone` to `keep` and delete `gone` (in the caller's transaction).

    The caller checks `merge_conflicts` and that both are customers. `keep`'s addresses
    come first in the preference order, `gone`'s after them; an empty name is filled in.
    """
    start = await session.scalar(select(func.count()).select_from(AddressRow)
                                 .where(AddressRow.person_id == keep.id)) or 0
    moved = (await session.scalars(select(AddressRow).where(AddressRow.person_id == gone.id)
                                   .order_by(AddressRow.position, AddressRow.id))).all()
    for offset, row in enumerate(moved):
        row.position = int(start) + offset
    await session.flush()
    for statement in merge_statements(Base.metadata, keep.id, gone.id):
        await session.execute(statement, execution_options={"synchronize_session": False})
    if not keep.display_name and gone.display_name:
        keep.display_name = gone.display_name
    keep.created_at = min(keep.created_at, gone.created_at)
    _follow_in_session(session, keep.id, gone.id)
    await session.delete(gone)
    await session.flush()
    log.info("person %s merged into person %s", gone.id, keep.id)


def _follow_in_session(session: AsyncSession, keep: int, gone: int) -> None:
    """Make the rows this session has loaded say what the UPDATEs wrote: a person column
    now names `keep` (as loaded, so nothing is written again); a row keyed by the person
    is let go (its key changed, or it was deleted as a clash)."""
    for obj in list(session.sync_session.identity_map.values()):
        state = inspect(obj)
        for prop in state.mapper.column_attrs:
            column = prop.columns[0]
            # the loaded value only: an expired attribute is read fresh later anyway
            if not isinstance(column, Column) or state.dict.get(prop.key) != gone:
                continue
            if not any(fk.column.table.name == PERSONS for fk in column.foreign_keys):
                continue
            if column.primary_key:
                session.expunge(obj)
                break
            set_committed_value(obj, prop.key, keep)


def merge_statements(metadata: MetaData, keep: int, gone: int) -> list[Executable]:
    """UPDATEs that re-point every column referencing `persons.id` from `gone` to `keep`.

    Where the person is part of a table's primary key (conversation state, open consent
    requests), `gone`'s rows that would collide with `keep`'s are deleted first: `keep`'s
    own state wins.
    """
    statements: list[Executable] = []
    for table in metadata.sorted_tables:
        for column in _person_columns(table):
            statements += _repoint(table, column, keep, gone)
    return statements


def _person_columns(table: Table) -> Iterable[Column[int]]:
    for column in table.columns:
        if any(fk.column.table.name == PERSONS and fk.column.name == "id"
               for fk in column.foreign_keys):
            yield column


def _repoint(table: Table, column: Column[int], keep: int, gone: int) -> list[Executable]:
    found: list[Executable] = []
    if column.primary_key:
        mine = table.alias()  # the same table in a subquery: never correlated to the outer
        others = [c.name for c in table.primary_key.columns if c is not column]
        clash = and_(mine.c[column.name] == keep,
                     *(mine.c[name] == table.c[name] for name in others))
        found.append(delete(table).where(column == gone, exists().where(clash)))
    found.append(update(table).where(column == gone).values({column.name: keep}))
    return found
