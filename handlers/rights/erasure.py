"""Erasure (GDPR Art. 17): remove a person's numbers, texts and media from werkbot.

`erase_person` deletes, in one transaction: the inbox rows the person sent, every outbox
row to them or about them (what was forwarded to staff: rows queued while handling their
messages, rows linked in `forwarded_records`, rows naming their address or repeating
their texts), their conversation state, media rows (files go once no other row shares the
content), signing requests, addresses and name; other features' data through
`registry.erasers`, and rows repeating what staff typed about them elsewhere (a job's
title and site, named by `registry.needles`). The consent ledger keeps its rows,
pseudonymised: the keyed subject, channel, purpose, granted, time, text version and
hash and method stay; person, address and evidence go. Audit lines naming the person are
blanked. After commit a WAL checkpoint folds the change into the SQLite file
(`secure_delete` zeroes freed bytes), and a scrub timer deletes the provider's copies
(`ProviderEraser`): Twilio's records, and on Telegram werkbot's messages about the person
in staff's and the office group's chats.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from werkbot.bot.addresses import Address
from werkbot.bot.codec import CodecError, as_stored, dumps_event, loads_event
from werkbot.bot.events import MediaEvent, TextEvent, UnknownEvent
from werkbot.bot.hooks import hooks
from werkbot.bot.services import Services
from werkbot.bot.storage.models import (
    AddressRow,
    AuditRow,
    ConversationState,
    InboxRow,
    KeyValue,
    MediaRow,
    OutboxRow,
    Person,
)
from werkbot.bot.storage.repos import AuditRepo, delete_inbox_rows
from werkbot.handlers.consent.ledger import ConsentEntry
from werkbot.handlers.rights.checkpoint import request_checkpoint
from werkbot.handlers.rights.models import ForwardedRecord, SigningRequest
from werkbot.handlers.rights.registry import ERASERS, NEEDLES

log = logging.getLogger(__name__)

PROVIDER_CHANNELS = frozenset({"whatsapp", "sms"})  # channels whose provider keeps copies
# Channels where werkbot's messages stay in the recipients' chats: what it sent about the
# person to staff and the office group there is deleted too (not the person's own chat:
# that copy is theirs).
COPIES_IN_OTHER_CHATS = frozenset({"telegram"})
MIN_TEXT_NEEDLE = 12  # shorter texts ("ja", "danke") would match unrelated rows
MIN_TYPED_NEEDLE = 8  # a job's whole title or site as staff typed it ("Bad Sommer")


@dataclass
class Erasure:
    """What an erasure removed (counts only) and the provider copies still to delete."""

    subject: str
    provider_ids: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class NotErasable(Exception):
    """The person does not exist, is already erased, or is staff (configured, not erased)."""


async def erase_person(session: AsyncSession, services: Services, person_id: int, *,
                       actor: str = "system", keep_outbox: Iterable[int] = (),
                       current_inbox_id: int | None = None) -> Erasure:
    """Erase a customer inside the caller's transaction (see the module docstring).

    `keep_outbox`: outbox rows to leave (the final confirmation, scrubbed after delivery).
    `current_inbox_id`: the inbox row being handled; it is blanked, not deleted.
    """
    person = await session.get(Person, person_id)
    if person is None or person.erased_at is not None or person.kind != "customer":
        raise NotErasable("not an erasable customer")
    now = services.clock.now()
    subject = services.signer.pseudonym(f"person:{person_id}")
    result = Erasure(subject=subject)
    address_rows = (await session.scalars(select(AddressRow).where(
        AddressRow.person_id == person_id))).all()
    addresses = [row.address for row in address_rows]
    kept = set(keep_outbox)

    inbox = (await session.scalars(select(InboxRow).where(
        InboxRow.sender.in_(addresses)))).all() if addresses else []
    needles = _needles(addresses, person.display_name, inbox)
    for _, source in hooks(services, NEEDLES).items():
        typed = {t.strip() for t in await source(session, person_id)}
        needles = sorted(set(needles) | {w for t in typed if len(t) >= MIN_TYPED_NEEDLE
                                         for w in _as_written(t)})
    for message in inbox:
        _provider_id(result, message.sender, message.dedup_key)
    inbox_ids = [row.id for row in inbox]

    about = or_(OutboxRow.person_id == person_id,
                OutboxRow.id.in_(select(ForwardedRecord.outbox_id).where(
                    ForwardedRecord.person_id == person_id)),
                OutboxRow.address.in_(addresses) if addresses else false(),
                OutboxRow.inbound_id.in_(inbox_ids) if inbox_ids else false(),
                _mentions(OutboxRow.payload, needles))
    outbox = (await session.scalars(select(OutboxRow).where(about))).all()
    gone_outbox = [row.id for row in outbox if row.id not in kept]
    for out in outbox:
        if out.id not in kept and out.provider_id:
            _provider_id(result, out.address, out.provider_id,
                         to_someone_else=out.address not in addresses)
    await session.execute(delete(ForwardedRecord).where(ForwardedRecord.person_id == person_id))
    result.counts["outbox"] = await _delete_outbox(session, gone_outbox)

    # inbox: their own messages, plus timers and status reports that name them
    mentioning = (await session.scalars(select(InboxRow.id).where(
        _mentions(InboxRow.payload, needles)))).all()
    doomed = set(inbox_ids) | set(mentioning)
    if current_inbox_id in doomed:
        doomed.discard(current_inbox_id)
        await blank_inbox_row(session, current_inbox_id)
    result.counts["inbox"] = (await delete_inbox_rows(session, InboxRow.id.in_(doomed))
                              if doomed else 0)

    # At once, not at the next flush: the state and choices are read with plain SQL.
    await session.execute(delete(ConversationState)
                          .where(ConversationState.person_id == person_id))
    result.counts["media"] = await _erase_media(session, services, person_id)
    await session.execute(delete(SigningRequest).where(SigningRequest.person_id == person_id))
    for name, eraser in hooks(services, ERASERS).items():
        await eraser(session, services, person_id)
        log.info("eraser %s ran", name)
    await _pseudonymise_ledger(session, person_id, needles)
    await _scrub_audit(session, needles)
    await _scrub_kv(session, needles)
    for address_row in address_rows:
        await session.delete(address_row)
    person.display_name, person.erased_at = "", now
    await session.flush()
    await AuditRepo(session).record(actor, "rights.erased", now, subject=f"subject:{subject}")
    request_checkpoint(services)
    log.info("erased a person: %s", {k: v for k, v in result.counts.items() if v})
    return result


def _needles(addresses: list[str], name: str, inbox: Iterable[InboxRow]) -> list[str]:
    """Strings whose presence in a row means the row is about the person."""
    found: set[str] = set()
    for text in addresses:
        found.add(text)
        ident = text.partition(":")[2]
        if len(ident) >= 5:
            found.add(ident)
            if ident.startswith("+"):
                found.add(ident[1:])  # WhatsApp's WaId and Telegram contacts lack the '+'
    if len(name.strip()) >= 4:
        found.update(_as_written(name.strip()))
    for row in inbox:
        try:
            event = loads_event(row.payload)
        except (CodecError, ValueError, TypeError):
            continue
        said = event.text if isinstance(event, TextEvent) else (
            event.caption if isinstance(event, MediaEvent) else "")
        if len(said.strip()) >= MIN_TEXT_NEEDLE:
            found.update(_as_written(said.strip()))
    return sorted(found)


def _as_written(text: str) -> set[str]:
    """The text as it is, as stored in JSON payloads now, and as older rows stored it
    (with ASCII escapes, from before payloads were written by orjson)."""
    return {text, as_stored(text), json.dumps(text)[1:-1]}


def _mentions(column: InstrumentedAttribute[str], needles: list[str]) -> ColumnElement[bool]:
    if not needles:
        return false()
    return or_(*(column.contains(n, autoescape=True) for n in needles))


def _provider_id(result: Erasure, address: str, provider_id: str, *,
                 to_someone_else: bool = False) -> None:
    channel = address.partition(":")[0]
    if channel in COPIES_IN_OTHER_CHATS and to_someone_else:
        result.provider_ids.setdefault(channel, []).append(provider_id)
        return
    if channel not in PROVIDER_CHANNELS:
        return
    sid = provider_id.rsplit(":", 1)[-1]
    if sid.startswith(("SM", "MM")):
        result.provider_ids.setdefault(channel, []).append(sid)


async def _delete_outbox(session: AsyncSession, ids: Iterable[int]) -> int:
    chosen = list(ids)
    if chosen:
        await session.execute(delete(OutboxRow).where(OutboxRow.id.in_(chosen)),
                              execution_options={"synchronize_session": False})
    return len(chosen)


async def blank_inbox_row(session: AsyncSession, inbox_id: int | None) -> None:
    """Keep an inbox row (the dispatcher still marks it done) but drop sender and content;
    only the channel's name stays, so the message is still counted on its channel."""
    row = await session.get(InboxRow, inbox_id) if inbox_id is not None else None
    if row is None:
        return
    channel = row.sender.partition(":")[0] or "system"  # the channel stays for /stats
    row.sender = f"{channel}:erased"
    row.payload = dumps_event(UnknownEvent(id=row.dedup_key, sender=Address(channel, "erased"),
                                           received_at=row.created_at, type="erased"))
    row.error = ""


async def _erase_media(session: AsyncSession, services: Services, person_id: int) -> int:
    rows = (await session.scalars(select(MediaRow).where(MediaRow.person_id == person_id))).all()
    digests = {row.sha256 for row in rows}
    for row in rows:
        await session.delete(row)
    await session.flush()
    for digest in digests:
        await services.media.delete_unreferenced(session, digest)
    return len(rows)


async def _pseudonymise_ledger(session: AsyncSession, person_id: int,
                               needles: list[str]) -> None:
    await session.execute(update(ConsentEntry).where(ConsentEntry.person_id == person_id)
                          .values(person_id=None, address="", evidence=""),
                          execution_options={"synchronize_session": False})
    if needles:
        await session.execute(update(ConsentEntry).where(
            _mentions(ConsentEntry.recorded_by, needles)).values(recorded_by="subject"),
            execution_options={"synchronize_session": False})


async def _scrub_audit(session: AsyncSession, needles: list[str]) -> None:
    if not needles:
        return
    for column in (AuditRow.actor, AuditRow.subject, AuditRow.detail):
        await session.execute(update(AuditRow).where(_mentions(column, needles))
                              .values({column.key: "erased"}),
                              execution_options={"synchronize_session": False})


async def _scrub_kv(session: AsyncSession, needles: list[str]) -> None:
    for key, value in (await session.execute(select(KeyValue.key, KeyValue.value))).all():
        text = key + value.decode("utf-8", "replace")
        if any(n in text for n in needles):
            await session.execute(delete(KeyValue).where(KeyValue.key == key))
