"""Fallback after failed deliveries: the next allowed channel, else the office is told.

Handles `DeliveryStatus` failed/undelivered (a provider's callback such as 63016, or
the outbox's own report with `raw={"outbox_id", "kind"}`) and `Unreachable` (Twilio
21610, a blocked Telegram bot). The failed outbox row's payload is re-sent to the
person's next allowed address (`ConsentPolicy.candidates`), skipping every address the
message already failed on; with none left, the office and admins get a short notice
naming only the contact number and outbox reference. Never dropped silently; each
failure is acted on once (the audit log remembers). 21610 also records a withdrawal
for SMS in the ledger.
"""

from __future__ import annotations

import logging

from werkbot.bot.addresses import Address
from werkbot.bot.codec import CodecError, loads_reply
from werkbot.bot.context import Context
from werkbot.bot.delivery import Delivery
from werkbot.bot.events import DeliveryStatus, Event, Unreachable
from werkbot.bot.replies import Reply
from werkbot.bot.router import Filter, Router
from werkbot.bot.storage.models import OutboxRow
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.dialogue import record_opt_out
from werkbot.handlers.consent.policy import ConsentPolicy
from werkbot.handlers.consent.repo import DeliveryRepo
from werkbot.handlers.staff_roles import tell_office_members

log = logging.getLogger(__name__)

router = Router("consent.delivery")
FAILED = frozenset({"failed", "undelivered"})
OPTED_OUT = "21610"
_ACTIONS = ("delivery.fallback", "delivery.undeliverable", "delivery.dropped")


def _failure(event: Event, ctx: Context) -> bool:
    if isinstance(event, DeliveryStatus):
        return event.status.lower() in FAILED
    return isinstance(event, Unreachable)


@router.on((DeliveryStatus, Unreachable), Filter(_failure, "delivery_failed"))
async def failed(event: Event, ctx: Context) -> None:
    if isinstance(event, DeliveryStatus):
        code = event.error_code
    else:
        code = event.reason if isinstance(event, Unreachable) else ""
    if code == OPTED_OUT and event.sender.channel == "sms":
        await record_opt_out(ctx, event.sender, evidence=event.id)
    row = await _outbox_row(ctx, event)
    if row is None:
        return  # nothing of ours failed (e.g. a bot blocked without a pending message)
    if await _handled(ctx, row.id):
        return
    await fall_back(ctx, row)


async def fall_back(ctx: Context, row: OutboxRow) -> None:
    """Re-send a failed outbox row on the next allowed channel, or tell the office."""
    if row.kind in kinds.NO_FALLBACK_KINDS:
        await _audit(ctx, "delivery.dropped", row.id, f"kind {row.kind} is bound to its channel")
        log.info("outbox row %s (%s) failed; not re-sent elsewhere", row.id, row.kind)
        return
    repo = ctx.repo(DeliveryRepo)
    chain = await repo.chain(row.id)
    origin = chain.origin_id if chain else row.id
    tried = await repo.tried(origin)
    person = row.person_id or await _owner(ctx, row.address)
    try:
        reply = loads_reply(row.payload)
    except (CodecError, ValueError, TypeError):
        reply = None
    if person is not None and reply is not None:
        policy = ConsentPolicy()
        for address in await policy.candidates(ctx, person, reply, exclude=tried):
            before = await repo.last_outbox_id()
            if await ctx.send(address, reply, person_id=person):
                await repo.link(address, origin, row.id, person, before, ctx.inbox_id,
                                ctx.clock.now())
                await _audit(ctx, "delivery.fallback", row.id, f"to {address.channel}")
                log.info("outbox row %s re-sent on %s", row.id, address.channel)
                return
    await _tell_office(ctx, row, person)


async def send_or_tell_office(ctx: Context, person_id: int, reply: Reply) -> Delivery:
    """`ctx.send_to_person`, and if it queued nothing, the office is told instead."""
    delivery = await ctx.send_to_person(person_id, reply)
    if not delivery:
        await tell_office(ctx, person_id, reply.kind)
    return delivery


async def tell_office(ctx: Context, person: int | None, kind: str,
                      outbox_id: int | None = None) -> int:
    """Tell office and admin staff that a message could not go out; no personal content,
    only the contact number, the kind and the outbox reference. Returns how many were told."""

    def text_in(lang: str) -> str:
        text = ctx.texts.get("consent.undeliverable", lang, kind=kind,
                             person=person if person is not None else "?")
        if outbox_id is not None:
            text += ctx.texts.get("consent.undeliverable_ref", lang, ref=outbox_id)
        return text

    told = await tell_office_members(ctx, kinds.OFFICE_NOTICE, text_in)
    if told:
        log.info("message (%s) for person %s undeliverable; office told", kind, person)
    else:
        log.warning("message (%s) for person %s undeliverable; no office staff reachable",
                    kind, person)
    return told


async def _tell_office(ctx: Context, row: OutboxRow, person: int | None) -> None:
    told = await tell_office(ctx, person, row.kind, row.id)
    await _audit(ctx, "delivery.undeliverable", row.id, f"office told: {told}")


async def _outbox_row(ctx: Context, event: Event) -> OutboxRow | None:
    if isinstance(event, DeliveryStatus | Unreachable) and event.outbox_id is not None:
        return await ctx.repo(DeliveryRepo).outbox_row(event.outbox_id)
    if isinstance(event, DeliveryStatus) and event.provider_message_id:
        return await ctx.repo(DeliveryRepo).outbox_row_of_provider(event.provider_message_id)
    return None


async def _handled(ctx: Context, outbox_id: int) -> bool:
    return await ctx.repo(DeliveryRepo).handled(outbox_id, _ACTIONS)


async def _owner(ctx: Context, address: str) -> int | None:
    found = await ctx.people.by_address(Address.parse(address))
    return found[0].id if found else None


async def _audit(ctx: Context, action: str, outbox_id: int, detail: str) -> None:
    await ctx.audit.record("consent", action, ctx.clock.now(), subject=f"outbox:{outbox_id}",
                           detail=detail)
