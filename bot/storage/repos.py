"""Small repositories over the core tables; each takes the event's session.

They speak in core types (`Address`, replies, events) and rows; ORM objects never reach
adapters. Writes join the caller's transaction, so a handler's effects (state, outbox
rows, timers) commit together with marking its event handled, or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.codec import dumps_event, dumps_reply
from werkbot.bot.events import Event, TimerEvent
from werkbot.bot.replies import ChoicesReply, Reply
from werkbot.bot.storage.inline_sql import Prepared, PreparedEntities
from werkbot.bot.storage.models import (
    AddressRow,
    AuditRow,
    ConversationState,
    InboxRow,
    KeyValue,
    OutboxRow,
    Person,
)
from werkbot.bot.storage.row_writes import insert_row


class PeopleRepo:
    """Persons and their addresses."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_address(self, address: Address) -> tuple[Person, AddressRow] | None:
        row = await _BY_ADDRESS.first(self.session, {"address": str(address)})
        return None if row is None else (row[0], row[1])

    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def by_staff_id(self, staff_id: str) -> Person | None:
        return await self.session.scalar(select(Person).where(Person.staff_id == staff_id))

    async def create_customer(self, address: Address, now: datetime, *, name: str = "",
                              language: str = "de") -> tuple[Person, AddressRow]:
        person = await insert_row(self.session, Person, kind="customer", display_name=name,
                                  language=language, created_at=now)
        row = await self.add_address(person.id, address, now, position=0)
        return person, row

    async def add_address(self, person_id: int, address: Address, now: datetime, *,
                          position: int | None = None) -> AddressRow:
        """Add an address at the end of the person's preference order (or at `position`)."""
        if position is None:
            position = len(await self.addresses(person_id))
        return await insert_row(self.session, AddressRow, person_id=person_id,
                                address=str(address), channel=address.channel,
                                position=position, created_at=now, last_seen_at=now)

    async def addresses(self, person_id: int) -> Sequence[AddressRow]:
        result = await self.session.scalars(
            select(AddressRow).where(AddressRow.person_id == person_id)
            .order_by(AddressRow.position, AddressRow.id)
        )
        return result.all()

    async def mark_unreachable(self, address: Address, now: datetime | None) -> None:
        await self.session.execute(
            update(AddressRow).where(AddressRow.address == str(address))
            .values(unreachable_at=now)
        )


# Built once (every event looks its sender up): building it cost more than running it.
_BY_ADDRESS = PreparedEntities(
    select(Person, AddressRow).join(AddressRow, AddressRow.person_id == Person.id)
    .where(AddressRow.address == bindparam("address")), Person, AddressRow)
_STATE = cast(Table, ConversationState.__table__)
_KV = cast(Table, KeyValue.__table__)
_OUTBOX = cast(Table, OutboxRow.__table__)
_INBOX = cast(Table, InboxRow.__table__)
# Prepared once: building a statement costs more than running it on SQLite, and on SQLite
# these run on the driver connection directly (bot/storage/inline_sql.py).
_STATE_LOAD = Prepared(select(_STATE.c.data).where(_STATE.c.person_id == bindparam("person_id"))
                       .with_for_update())
_STATE_INSERT = Prepared(insert(_STATE), keys=("person_id", "data", "updated_at"))
_STATE_UPDATE = Prepared(update(_STATE).where(_STATE.c.person_id == bindparam("owner"))
                         .values(data=bindparam("text"), updated_at=bindparam("at")))
_OUTBOX_COLUMNS = ("address", "person_id", "kind", "payload", "status", "attempts",
                   "next_attempt_at", "lease_until", "provider_id", "inbound_id", "created_at",
                   "updated_at", "thread", "error_code", "error")
_OUTBOX_INSERT = Prepared(insert(_OUTBOX), keys=_OUTBOX_COLUMNS)
_CHOICES_LOAD = Prepared(select(_KV.c.value).where(_KV.c.key == bindparam("key")))
_CHOICES_DELETE = Prepared(delete(_KV).where(_KV.c.key == bindparam("key")))


def _upsert(dialect_insert: Any) -> Any:
    statement = dialect_insert(_KV)
    return statement.on_conflict_do_update(index_elements=[_KV.c.key],
                                           set_={"value": statement.excluded.value})


_CHOICES_UPSERT = {"sqlite": Prepared(_upsert(sqlite_insert), keys=("key", "value")),
                   "postgresql": Prepared(_upsert(pg_insert), keys=("key", "value"))}
_INBOX_COLUMNS = ("dedup_key", "kind", "sender", "payload", "status", "available_at",
                  "created_at", "handled_at", "attempts", "error")
# A timer is one inbox row per key: the row is written unless its key exists already.
_TIMER_INSERT = {
    name: Prepared(dialect_insert(_INBOX).on_conflict_do_nothing(
        index_elements=[_INBOX.c.dedup_key]), keys=_INBOX_COLUMNS)
    for name, dialect_insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))}


def state_of(text: str | None) -> dict[str, Any]:
    return dict(json.loads(text)) if text else {}


class StateRepo:
    """Per-person conversation state; `load` locks the row first (lock before load).

    Plain SQL statements, no ORM objects: the state is read and written once per event,
    and a row that exists only as JSON text needs no identity map. `load_text` returns the
    stored text, which `save` is given back so that it writes only a change (and never has
    to look for the row again).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, person_id: int) -> dict[str, Any]:
        return state_of(await self.load_text(person_id))

    async def load_text(self, person_id: int) -> str | None:
        """The stored JSON text, or None when the person has no state row."""
        text: str | None = await _STATE_LOAD.scalar(self.session, {"person_id": person_id})
        return text

    async def save(self, person_id: int, data: dict[str, Any], now: datetime, *,
                   stored: str | None) -> None:
        """Store `data`; `stored` is what `load_text` returned (None: no row yet)."""
        text = json.dumps(data, separators=(",", ":"), sort_keys=True)
        if text == stored:
            return
        if stored is None:
            if data:  # most people never need state: no row for an empty one
                await _STATE_INSERT.run(self.session, {"person_id": person_id, "data": text,
                                                       "updated_at": now})
            return
        await _STATE_UPDATE.run(self.session, {"owner": person_id, "text": text, "at": now})


class OutboxRepo:
    """Queues replies as outbox rows for the sender worker."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, address: Address, replies: Sequence[Reply], now: datetime, *,
                      person_id: int | None = None, inbound_id: int | None = None) -> int:
        """Queue `replies` (in this order) for `address`; returns how many rows were added.

        One plain multi-row insert, no ORM objects: nothing reads a queued row back in the
        transaction that queued it, and the sender loads it fresh.
        """
        rows = [{"address": str(address), "person_id": person_id, "kind": r.kind,
                 "payload": dumps_reply(r), "status": "queued", "attempts": 0,
                 "next_attempt_at": now, "lease_until": None, "provider_id": None,
                 "inbound_id": inbound_id, "created_at": now, "updated_at": now,
                 "thread": "", "error_code": "", "error": ""}
                for r in replies]
        await _OUTBOX_INSERT.run_many(self.session, rows)
        return len(rows)

    async def cancel_queued(self, address: Address, now: datetime) -> int:
        """Cancel what still waits for `address` (e.g. after a withdrawal)."""
        result = await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.address == str(address), OutboxRow.status == "queued")
            .values(status="cancelled", updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class TimerRepo:
    """Durable timers: inbox rows that become due at a time, de-duplicated by key."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def schedule(self, key: str, name: str, at: datetime, now: datetime,
                       payload: dict[str, Any] | None = None) -> bool:
        """Schedule `name` at `at` once per `key`; False if that key already exists."""
        event = TimerEvent(id=f"timer:{key}", sender=Address("timer", name), received_at=now,
                           name=name, payload=payload or {})
        insert_new = _TIMER_INSERT[self.session.get_bind().dialect.name]
        values = {**inbox_values(event, now), "available_at": at, "handled_at": None}
        return await insert_new.run(self.session, values) == 1

    async def cancel(self, key: str) -> bool:
        result = await self.session.execute(
            update(InboxRow)
            .where(InboxRow.dedup_key == f"timer:{key}", InboxRow.status == "pending")
            .values(status="cancelled")
        )
        return bool(getattr(result, "rowcount", 0))


class AuditRepo:
    """The audit log: who did what to which subject, when."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, actor: str, action: str, now: datetime, subject: str = "",
                     detail: str = "") -> None:
        self.session.add(AuditRow(at=now, actor=actor, action=action, subject=subject,
                                  detail=detail))


_INBOX_PAYLOAD = Prepared(update(_INBOX).where(_INBOX.c.id == bindparam("row_id"))
                          .values(payload=bindparam("v_payload")))


async def set_inbox_payload(session: AsyncSession, inbox_id: int, payload: str) -> None:
    """Replace an inbox row's stored event (a blanked copy of what a person said)."""
    await _INBOX_PAYLOAD.run(session, {"row_id": inbox_id, "v_payload": payload})


_DELETED_INBOX = "werkbot.deleted_inbox"  # session.info: inbox ids deleted in this session


async def delete_inbox_rows(session: AsyncSession, *where: ColumnElement[bool]) -> int:
    """Delete the inbox rows matching `where` (an erasure, a deleted send's reports).

    The dispatcher skips any of them it claimed for the batch this runs in: handling a row
    after it was deleted would bring back what was erased (a new person for the address)
    and mark a row that SQLite may have given the same id since.
    """
    statement = delete(InboxRow).where(*where).returning(InboxRow.id)
    ids = (await session.execute(statement, execution_options={
        "synchronize_session": False})).scalars().all()
    session.info.setdefault(_DELETED_INBOX, set()).update(ids)
    return len(ids)


def deleted_inbox_rows(session: AsyncSession) -> set[int]:
    """The inbox row ids `delete_inbox_rows` deleted in this session."""
    found: set[int] = session.info.get(_DELETED_INBOX, set())
    return found


def inbox_values(event: Event, now: datetime) -> dict[str, Any]:
    """Column values of a new inbox row, for the group-commit insert."""
    return {"dedup_key": event.id, "kind": type(event).__name__, "sender": str(event.sender),
            "payload": dumps_event(event), "status": "pending", "available_at": now,
            "created_at": now, "attempts": 0, "error": ""}


def _choices_key(address: Address) -> str:
    return f"choices:{address}"


async def remember_numbered_choices(session: AsyncSession, address: Address,
                                    reply: ChoicesReply) -> None:
    """Remember what '1', '2', ... mean for an address that got choices as numbered text."""
    values = json.dumps([c.value for c in reply.choices]).encode()
    upsert = _CHOICES_UPSERT[session.get_bind().dialect.name]
    await upsert.run(session, {"key": _choices_key(address), "value": values})


async def numbered_choice(session: AsyncSession, address: Address, text: str) -> str | None:
    """The choice value a typed number stands for, if the address was offered choices."""
    number = text.strip().rstrip(".)")
    if not number.isdigit() or len(number) > 2:
        return None
    stored = await _choices(session, address)
    if stored is None:
        return None
    values = json.loads(stored)
    index = int(number) - 1
    if not 0 <= index < len(values):
        return None
    # A number answers the question once; later it is just text.
    await _CHOICES_DELETE.run(session, {"key": _choices_key(address)})
    return str(values[index])


async def forget_numbered_choices(session: AsyncSession, address: Address,
                                  values: Sequence[str] | None = None) -> None:
    """Drop the remembered choices of an address (only if they are `values`, when given)."""
    stored = await _choices(session, address)
    if stored is not None and (values is None or json.loads(stored) == list(values)):
        await _CHOICES_DELETE.run(session, {"key": _choices_key(address)})


async def _choices(session: AsyncSession, address: Address) -> bytes | None:
    stored: bytes | None = await _CHOICES_LOAD.scalar(session, {"key": _choices_key(address)})
    return stored
