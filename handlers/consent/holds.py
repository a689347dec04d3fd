"""Held messages: what a person wrote before deciding, kept from staff until they agree.

`hold(ctx)` moves the current event into `consent_held` (the inbox row keeps only a
blanked copy) and starts a durable timer for `consent.hold_for`. On yes,
`release_held` **re-dispatches** each held event: it goes back into the inbox as a new
event with the id `released:<original id>`, and the dispatcher runs it through the
router tree like any message, now with consent, so the office inbox (or whoever handles
ordinary messages) receives it. Handlers that must tell a released event from a fresh one
use `is_released(event)`. On no, withdrawal or expiry the held rows are deleted.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.codec import CodecError, dumps_event, loads_event
from werkbot.bot.context import Context
from werkbot.bot.events import Event
from werkbot.bot.services import Services
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.storage.repos import inbox_values
from werkbot.handlers.consent.models import ConsentAsk, ConsentHold, DeliveryFallback
from werkbot.handlers.consent.redaction import blanked_event_payload

if TYPE_CHECKING:
    from werkbot.handlers.consent.repo import ConsentRepo

log = logging.getLogger(__name__)

HOLD_EXPIRED = "consent.hold_expired"  # timer name
RELEASED_PREFIX = "released:"
MAX_HELD = 200  # per person: beyond this a flood is not kept (only its count in the inbox)


def is_released(event: Event) -> bool:
    """Was this event held until consent and then re-dispatched?"""
    return event.id.startswith(RELEASED_PREFIX)


async def hold(ctx: Context) -> bool:
    """Hold the current event of `ctx` until the person decides; False if not held."""
    if ctx.person is None or ctx.address is None:
        return False
    repo, now = _repo(ctx), ctx.clock.now()
    count = 0 if ctx.is_new else await repo.held_count(ctx.person.id)
    if count < MAX_HELD:
        expires_at = now + ctx.settings.consent.hold_for
        row = await repo.hold(ctx.person.id, ctx.address.channel, event_id=ctx.event.id,
                              payload=dumps_event(ctx.event), held_at=now,
                              expires_at=expires_at)
        # From the inbox, the timer is named by the inbox row (one per event, even when
        # the batch goes again); otherwise by the held row.
        key = (f"consent-hold:row-{row.id}" if ctx.inbox_id is None
               else f"consent-hold:{ctx.inbox_id}")
        await ctx.timers.schedule(key, HOLD_EXPIRED, expires_at, now)
    await blank_inbox_row(ctx)
    log.info("held message %s of person %s", ctx.inbox_id, ctx.person.id)
    return count < MAX_HELD


async def blank_inbox_row(ctx: Context) -> None:
    """Keep only a blanked copy of the current event in its inbox row."""
    if ctx.inbox_id is not None:
        await _repo(ctx).blank_inbox_row(ctx.inbox_id, blanked_event_payload(ctx.event))


async def release_held(session: AsyncSession, person_id: int, now: datetime, *,
                       channel: str | None = None) -> int:
    """Re-dispatch the person's held events (all channels, or one) as new inbox events.

    Each becomes an inbox row `released:<original id>`, handled after the current event
    in the normal flow. The held rows are deleted. Returns how many were released.
    """
    rows = await _held(session, person_id, channel)
    released = 0
    for held in rows:
        try:
            event = loads_event(held.payload)
        except (CodecError, ValueError, TypeError):
            log.warning("held row %s does not decode; dropped", held.id)
            await session.delete(held)
            continue
        again = dataclasses.replace(event, id=f"{RELEASED_PREFIX}{event.id}")
        known = await session.scalar(select(InboxRow.id).where(InboxRow.dedup_key == again.id))
        if known is None:
            session.add(InboxRow(**inbox_values(again, now)))
            released += 1
        await session.delete(held)
    await session.flush()
    if released:
        log.info("released %d held message(s) of person %s", released, person_id)
    return released


async def discard_held(session: AsyncSession, person_id: int, *,
                       channel: str | None = None) -> int:
    """Delete the person's held events (all channels, or one); returns how many."""
    rows = await _held(session, person_id, channel)
    for held in rows:
        await session.delete(held)
    await session.flush()
    if rows:
        log.info("deleted %d held message(s) of person %s", len(rows), person_id)
    return len(rows)


async def expire_held(session: AsyncSession, now: datetime, *, older_than: datetime | None = None,
                      person_id: int | None = None) -> int:
    """Delete held events past their expiry (or held before `older_than`)."""
    condition = ConsentHold.expires_at <= now
    if older_than is not None:
        condition = condition | (ConsentHold.held_at < older_than)
    query = delete(ConsentHold).where(condition)
    if person_id is not None:
        query = query.where(ConsentHold.person_id == person_id)
    result = await session.execute(query)
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        log.info("deleted %d expired held message(s)", count)
    return count


async def forget(session: AsyncSession, person_id: int) -> None:
    """Erasure: drop everything the consent dialogue keeps about a person (not the ledger)."""
    await session.execute(delete(ConsentHold).where(ConsentHold.person_id == person_id))
    await session.execute(delete(ConsentAsk).where(ConsentAsk.person_id == person_id))
    await session.execute(delete(DeliveryFallback).where(DeliveryFallback.person_id == person_id))


async def erase_consent_records(session: AsyncSession, services: Services,
                                person_id: int) -> None:
    """`forget` with the signature of the rights feature's eraser registry:
    `hooks(services, rights.ERASERS).add("consent", erase_consent_records)`."""
    del services
    await forget(session, person_id)


def _repo(ctx: Context) -> ConsentRepo:
    from werkbot.handlers.consent.repo import ConsentRepo  # it calls the functions here

    return ctx.repo(ConsentRepo)


async def _held(session: AsyncSession, person_id: int, channel: str | None
                ) -> list[ConsentHold]:
    query = select(ConsentHold).where(ConsentHold.person_id == person_id)
    if channel is not None:
        query = query.where(ConsentHold.channel == channel)
    return list((await session.scalars(query.order_by(ConsentHold.id))).all())
