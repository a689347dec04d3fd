"""The office side: answers in a customer's topic or replies to a forwarded message.

Goes first in the root (before the staff commands), with a narrow filter: a message in
the office's forum group, or a staff member's reply to a message werkbot forwarded.
The answer reaches the customer through `send_to_person` (consent gate, channel choice,
WhatsApp window); a refusal is told to the office. `/close` or `erledigt`/`done` ends
the conversation. Every answer and close is audited (who, what, when; never content).
"""

from __future__ import annotations

from dataclasses import dataclass

from werkbot.bot.context import Context
from werkbot.bot.events import CommandEvent, Event, MediaEvent, TextEvent
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Filter, Router
from werkbot.handlers.filters import spoken
from werkbot.handlers.office.forward import NOTICE, Content, content_of
from werkbot.handlers.office.models import CLOSED, OPEN, TO_CUSTOMER, Conversation
from werkbot.handlers.office.people import actor_id, is_group
from werkbot.handlers.office.store import ConversationsRepo
from werkbot.handlers.staff_roles import staff_of

ANSWER = "office_reply"
CLOSE_COMMANDS = frozenset({"close", "schliessen", "schließen"})

router = Router("office_replies")


async def _office_message(event: Event, ctx: Context) -> dict[str, object] | None:
    conversations = ctx.repo(ConversationsRepo)
    if is_group(ctx):
        if event.thread and event.reply_to:
            await conversations.learn_topic(event.reply_to, event.thread)
        conv = await conversations.by_topic(event.thread) or await conversations.by_reply(
            event.reply_to)
        return {"conversation": conv}  # the group is never a customer, even off-topic
    if staff_of(ctx) is None or not event.reply_to:
        return None
    if isinstance(event, CommandEvent) and event.name not in CLOSE_COMMANDS:
        return None
    conv = await conversations.by_reply(event.reply_to)
    return None if conv is None else {"conversation": conv}


office_message = Filter(_office_message, "office_message")


def _wants_close(event: Event, ctx: Context) -> bool:
    if isinstance(event, CommandEvent):
        return event.name in CLOSE_COMMANDS
    return spoken(event) in ctx.texts.words("words.close")


async def _tell_office(ctx: Context, key: str, **values: object) -> None:
    await ctx.reply(TextReply(kind=NOTICE, text=ctx.t(key, **values), thread=ctx.event.thread))


@router.on((TextEvent, MediaEvent, CommandEvent), office_message)
async def office_answers(event: Event, ctx: Context) -> None:
    conv: Conversation | None = ctx.match["conversation"]
    if conv is None:
        if isinstance(event, CommandEvent) or event.thread:
            await _tell_office(ctx, "office.no_conversation")
        return
    if _wants_close(event, ctx):
        await close_conversation(ctx, conv)
        return
    if isinstance(event, CommandEvent):
        await _tell_office(ctx, "office.group_commands")
        return
    content = await content_of(event, ctx)
    if not content.text and not content.media_ids:
        return
    outcome = await answer_customer(ctx, conv, content, actor_id(ctx))
    await tell_outcome(ctx, outcome, confirm=not is_group(ctx))


async def close_conversation(ctx: Context, conv: Conversation) -> None:
    actor = actor_id(ctx)
    if conv.status == CLOSED:
        await _tell_office(ctx, "office.already_closed", person=conv.person_id)
        return
    conv.status, conv.closed_at, conv.closed_by = CLOSED, ctx.clock.now(), actor
    await ctx.audit.record(f"staff:{actor}", "office_close", ctx.clock.now(),
                           subject=f"person:{conv.person_id}")
    await _tell_office(ctx, "office.closed", person=conv.person_id)


@dataclass(frozen=True)
class OfficeAnswer:
    """What became of an office answer: `status` is sent, refused, gone or empty."""

    status: str
    person_id: int
    channel: str = ""  # where it went (sent) or nothing


async def answer_customer(ctx: Context, target: Conversation | int, content: Content | str,
                          staff_id: str) -> OfficeAnswer:
    """Deliver the office's answer to a customer: THE one path for chat and web alike.

    `target` is the customer's conversation or person id (a new conversation is opened
    when the person has none open); `content` a text or text plus stored media;
    `staff_id` who answers (audited, counted for first-response times). The answer goes
    through `ctx.send_to_person`: the consent gate picks the first channel with consent
    for requests that can deliver now; a WhatsApp address whose 24-hour window is closed
    gets the approved template for `office_reply` (`twilio.templates`) or is skipped for
    the customer's next channel. Nothing is sent to a withdrawn or erased customer; the
    caller tells the office from the returned status.
    """
    person_id = target.person_id if isinstance(target, Conversation) else target
    if isinstance(content, str):
        content = Content(content.strip())
    now = ctx.clock.now()
    customer = await ctx.people.get(person_id)
    if customer is None or customer.erased_at is not None or customer.kind == "staff":
        return OfficeAnswer("gone", person_id)
    if not content.text and not content.media_ids:
        return OfficeAnswer("empty", person_id)
    conv = target if isinstance(target, Conversation) else await _conversation_of(ctx, target)
    conversations = ctx.repo(ConversationsRepo)
    before = await conversations.outbox_mark()
    delivery = await ctx.send_to_person(conv.person_id, content.reply("", kind=ANSWER))
    address = delivery.address
    if not delivery or address is None:
        await ctx.audit.record(f"staff:{staff_id}", "office_reply_refused", now,
                               subject=f"person:{conv.person_id}")
        return OfficeAnswer("refused", conv.person_id)
    conversations.add_forwards(conv, await conversations.rows_since(address, before,
                                                                    ctx.inbox_id),
                               direction=TO_CUSTOMER, now=now, staff_id=staff_id)
    if conv.first_response_at is None:
        conv.first_response_at, conv.first_responder = now, staff_id
    if conv.status == CLOSED:
        conv.status, conv.closed_at, conv.closed_by = OPEN, None, ""
    await ctx.audit.record(f"staff:{staff_id}", "office_reply", now,
                           subject=f"person:{conv.person_id}", detail=address.channel)
    return OfficeAnswer("sent", conv.person_id, address.channel)


async def _conversation_of(ctx: Context, person_id: int) -> Conversation:
    conv, _ = await ctx.repo(ConversationsRepo).open_conversation(person_id, ctx.clock.now())
    return conv


async def tell_outcome(ctx: Context, outcome: OfficeAnswer, *, confirm: bool) -> None:
    """Tell the answering staff member what became of the answer (confirm: also success)."""
    if outcome.status == "gone":
        await _tell_office(ctx, "office.customer_gone", person=outcome.person_id)
    elif outcome.status == "refused":
        await _tell_office(ctx, "office.refused", person=outcome.person_id)
    elif outcome.status == "sent" and confirm:
        await _tell_office(ctx, "office.answer_sent", person=outcome.person_id,
                           channel=ctx.t(f"office.channels.{outcome.channel}"))
