"""Data-subject rights in chat: `auskunft`/`export` and `löschen`/`delete` (contract §5).

Export answers with a signed, expiring link to the person's ZIP. Erasure asks once
(yes/no buttons, `ja` confirms), then queues the final confirmation to the address the
person wrote from, erases everything else, and schedules a scrub timer that deletes the
confirmation's outbox row (the last place the address lives) once it is delivered, its
status reports, and the provider's copies. There is no way to name another person here:
the words match only alone, and act only on the sender.

Rights answers are owed to everyone (GDPR Art. 12(3)), also to people who declined
consent: if the delivery policy refuses a rights answer, it is queued directly to the
address the request came from.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from werkbot.bot.capabilities import MediaLinker, degrade
from werkbot.bot.context import Context
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    DeliveryStatus,
    Event,
    TextEvent,
    TimerEvent,
)
from werkbot.bot.hooks import hooks
from werkbot.bot.replies import Choice, ChoicesReply, Reply, TextReply
from werkbot.bot.router import Filter, Router, timer
from werkbot.handlers.filters import word
from werkbot.handlers.rights.checkpoint import request_checkpoint
from werkbot.handlers.rights.erasure import Erasure, NotErasable
from werkbot.handlers.rights.export import EXPORT_TTL, export_link
from werkbot.handlers.rights.registry import PROVIDER_ERASERS
from werkbot.handlers.rights.repo import RightsRepo
from werkbot.handlers.staff_roles import is_customer

log = logging.getLogger(__name__)

router = Router("rights")
PENDING = "rights_erase_until"
CONFIRM_FOR = timedelta(minutes=10)
SCRUB_TIMER = "rights.scrub"
SCRUB_EVERY = timedelta(seconds=2)
SCRUB_ROUNDS = 300  # about ten minutes of waiting for a delivery, then scrub regardless
IN_FLIGHT = frozenset({"queued", "sending"})


def _pending(event: Event, ctx: Context) -> bool:
    until = ctx.state.get(PENDING)
    return isinstance(until, str) and datetime.fromisoformat(until) >= ctx.clock.now()


erasure_pending = Filter(_pending, "erasure_pending")
"""True while the sender has been asked to confirm erasure (consent's `ja` must yield)."""


def _has_person(event: Event, ctx: Context) -> bool:
    return ctx.person is not None and ctx.person.erased_at is None


def _unknown_recipient(event: Event, ctx: Context) -> bool:
    return ctx.person is None and ctx.address is not None and ctx.address.channel not in (
        "timer", "system")


class _NoLinks(MediaLinker):
    def link(self, media_id: int) -> str:
        raise LookupError("rights answers carry no media")


async def answer(ctx: Context, reply: Reply) -> None:
    """Answer the sender; through the gate if it allows, else straight to their address."""
    if await ctx.reply(reply):
        return
    assert ctx.address is not None
    caps = ctx.capabilities(ctx.address.channel)
    if caps is None:
        return
    parts = degrade(reply, caps, _NoLinks())
    await ctx.outbox.enqueue(ctx.address, parts, ctx.clock.now(),
                             person_id=ctx.person.id if ctx.person else None,
                             inbound_id=ctx.inbox_id)
    ctx.sent.append((ctx.address, reply))
    log.info("rights answer queued past the delivery policy (%s)", reply.kind)


@router.on((TextEvent, CommandEvent, ChoiceEvent), erasure_pending, word("yes") | word("no"))
async def confirm_erasure(event: Event, ctx: Context) -> None:
    ctx.state.pop(PENDING, None)
    if ctx.person is None or await word("no").check(event, ctx) is not None:
        await answer(ctx, TextReply(kind="rights_erase_cancelled",
                                    text=ctx.t("rights.erase.cancelled")))
        return
    await erase_sender(ctx)


async def erase_sender(ctx: Context) -> None:
    """Erase the sender, after queueing the final confirmation to the address they used."""
    assert ctx.person is not None and ctx.address is not None
    repo = ctx.repo(RightsRepo)
    before = await repo.last_outbox_id()
    await answer(ctx, TextReply(kind="rights_erased", text=ctx.t("rights.erase.done"),
                                   ephemeral=True))
    keep = await repo.outbox_ids_to(ctx.address, before)
    try:
        result = await repo.erase_person(ctx.services, ctx.person.id, actor="self",
                                         keep_outbox=keep, current_inbox_id=ctx.inbox_id)
    except NotErasable:
        return
    ctx.state.clear()
    await schedule_scrub(ctx, keep, result.provider_ids)


async def erase_customer(ctx: Context, person_id: int, *, actor: str) -> Erasure:
    """Erase the customer a staff command names, in this event's transaction."""
    return await ctx.repo(RightsRepo).erase_person(ctx.services, person_id, actor=actor,
                                                   keep_outbox=(),
                                                   current_inbox_id=ctx.inbox_id)


async def schedule_scrub(ctx: Context, outbox_ids: list[int],
                         provider_ids: dict[str, list[str]], rounds: int = 0,
                         delay: timedelta = timedelta(0)) -> None:
    now = ctx.clock.now()
    await ctx.timers.schedule(f"{SCRUB_TIMER}:{secrets.token_hex(8)}", SCRUB_TIMER,
                              now + delay, now, {"outbox": outbox_ids, "provider": provider_ids,
                                                 "round": rounds})


@router.on((TextEvent, CommandEvent, ChoiceEvent), is_customer, word("delete"))
async def ask_erasure(event: Event, ctx: Context) -> None:
    ctx.state[PENDING] = (ctx.clock.now() + CONFIRM_FOR).isoformat()
    await answer(ctx, ChoicesReply(
        kind="rights_erase_confirm", text=ctx.t("rights.erase.confirm"),
        choices=(Choice(ctx.t("rights.erase.yes"), "ja"), Choice(ctx.t("rights.erase.no"),
                                                                  "nein"))))


@router.on((TextEvent, CommandEvent, ChoiceEvent), _has_person, word("export"))
async def send_export(event: Event, ctx: Context) -> None:
    assert ctx.person is not None
    link = export_link(ctx, ctx.person.id)
    hours = int(EXPORT_TTL.total_seconds() // 3600)
    await ctx.audit.record("self", "rights.export", ctx.clock.now(),
                           subject=f"person:{ctx.person.id}")
    await answer(ctx, TextReply(kind="rights_export",
                                text=ctx.t("rights.export.link", url=link, hours=hours)))


@router.on(TimerEvent, timer(SCRUB_TIMER))
async def scrub(event: TimerEvent, ctx: Context) -> None:
    """Delete the final confirmation once delivered, its status reports, provider copies."""
    payload: dict[str, Any] = event.payload
    rounds = int(payload.get("round", 0))
    ids = [int(i) for i in payload.get("outbox", [])]
    provider: dict[str, list[str]] = {k: list(v) for k, v in payload.get("provider", {}).items()}
    repo = ctx.repo(RightsRepo)
    rows = await repo.outbox_rows(ids)
    waiting = [r.id for r in rows if r.status in IN_FLIGHT and rounds < SCRUB_ROUNDS]
    for row in rows:
        if row.id in waiting:
            continue
        if row.provider_id and row.address.partition(":")[0] in ("whatsapp", "sms"):
            provider.setdefault(row.address.partition(":")[0], []).append(row.provider_id)
        await repo.delete_sent(row, ctx.inbox_id)
    remaining = await _erase_at_providers(ctx, provider)
    await repo.blank_inbox_row(ctx.inbox_id)
    if (waiting or remaining) and rounds < SCRUB_ROUNDS:
        await schedule_scrub(ctx, waiting, remaining, rounds + 1, SCRUB_EVERY)
    request_checkpoint(ctx.services)


async def _erase_at_providers(ctx: Context,
                              provider: dict[str, list[str]]) -> dict[str, list[str]]:
    """Ask each channel's provider eraser to delete its copies; what is left for later."""
    left: dict[str, list[str]] = {}
    registered = hooks(ctx.services, PROVIDER_ERASERS)
    for channel, ids in provider.items():
        eraser = registered.get(channel)
        if eraser is None or not ids:
            continue
        try:
            if busy := await eraser.erase_messages(ids):
                left[channel] = busy
        except Exception as exc:
            log.warning("provider %s could not erase %d messages: %s", channel, len(ids),
                        type(exc).__name__)
            left[channel] = ids
    return left


@router.on(DeliveryStatus, _unknown_recipient)
async def forget_status_of_unknown(event: Event, ctx: Context) -> None:
    """A late status report for an erased address keeps no trace of the address."""
    await ctx.repo(RightsRepo).blank_inbox_row(ctx.inbox_id)
