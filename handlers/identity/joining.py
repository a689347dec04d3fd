"""A Telegram chat joins a person: by the person's own contact, or by their personal link.

- **Own contact** (Telegram's contact button; `ContactEvent.own`, i.e. `contact.user_id`
  is the sender): the chat joins the customer who writes from that number on WhatsApp
  or SMS. Someone else's contact never links anything.
- **Personal link** (`/start <payload>`, from `links.personal_link`): the chat joins the
  customer the signed, unexpired payload names.

Joining moves the chat (and whatever werkbot held from it) to that person
(`bot.identity.merge_persons`). Never joined: staff on either side, erased persons, and
a chat whose person already has other addresses, or a person who already has another
Telegram chat (one address per channel): then nothing is merged, the customer is told
that the office checks it, and the office gets a content-free note naming both ids for
`/person merge`. Consent stays per channel: a chat without its own consent is asked for
it right after joining. A join by link is also told on the person's WhatsApp and SMS
chats where they consented (a link can be passed on; the notice says to write if it was
not them).
"""

from __future__ import annotations

import logging

from werkbot.bot.addresses import PHONE_CHANNELS, Address, mask
from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, CommandEvent, ContactEvent, Event, TextEvent
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Filter, Router
from werkbot.bot.storage.models import Person
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.dialogue import ask_consent
from werkbot.handlers.consent.status import is_customer
from werkbot.handlers.filters import word
from werkbot.handlers.identity.links import LINK_TTL, person_of_payload, personal_link
from werkbot.handlers.identity.repo import IdentityRepo
from werkbot.handlers.rights.chat import answer
from werkbot.handlers.staff_roles import tell_office_members

log = logging.getLogger(__name__)
router = Router("identity")
TELEGRAM = "telegram"


def _telegram_customer(event: Event, ctx: Context) -> bool:
    """A customer's own private Telegram chat (not staff, not the office's group)."""
    return (ctx.address is not None and ctx.address.channel == TELEGRAM
            and event.actor is None and is_customer(ctx))


def _start_payload(event: Event, ctx: Context) -> dict[str, str] | None:
    if isinstance(event, CommandEvent) and event.name == "start" and len(event.args) == 1:
        return {"payload": event.args[0]}
    return None


@router.on(CommandEvent, Filter(_telegram_customer, "telegram_customer"),
           Filter(_start_payload, "start_payload"))
async def join_by_link(event: Event, ctx: Context) -> None:
    target = person_of_payload(ctx.services, ctx.match["payload"], ctx.clock.now())
    person = await ctx.people.get(target) if target is not None else None
    if person is None or person.kind != "customer" or person.erased_at is not None:
        await _say(ctx, "identity.link_invalid")
        await ask_consent(ctx)
        return
    await _join(ctx, person, how="link")


async def _joinable_contact(event: Event, ctx: Context) -> dict[str, Person] | None:
    """The sender's own contact names a customer who writes from that number.

    Otherwise (someone else's contact, nobody writes from it, staff's number) nothing
    matches and the contact goes on as an ordinary message; the number is not kept for
    identity.
    """
    if not isinstance(event, ContactEvent) or not event.own:
        return None
    found = await ctx.repo(IdentityRepo).person_writing_from_phone(event.phone)
    if found is None or found.kind != "customer" or found.erased_at is not None:
        return None
    return {"target": found}


@router.on(ContactEvent, Filter(_telegram_customer, "telegram_customer"),
           Filter(_joinable_contact, "joinable_contact"))
async def join_by_contact(event: Event, ctx: Context) -> None:
    await _join(ctx, ctx.match["target"], how="contact")


async def _join(ctx: Context, target: Person, *, how: str) -> None:
    assert ctx.person is not None and ctx.address is not None
    chat = ctx.person
    if chat.id == target.id:
        await _say(ctx, "identity.already")
        return
    if await _addresses_besides(ctx, chat.id) or await ctx.repo(IdentityRepo).shared_channels(
            target.id, chat.id):
        await _say(ctx, "identity.office_checks")
        await _tell_office(ctx, target.id, chat.id)
        log.info("telegram chat of person %s not joined to person %s (%s): left to staff",
                 chat.id, target.id, how)
        return
    await ctx.repo(IdentityRepo).merge(target, chat)
    ctx = ctx.for_sender(target, ctx.address, ctx.address_row)
    await ctx.take_state_of(target.id)  # the chat's own state went with its person
    await ctx.audit.record(f"person:{target.id}", "identity.joined", ctx.clock.now(),
                           subject=f"person:{target.id}", detail=f"telegram via {how}")
    number = next((mask(row.address.partition(":")[2])
                   for row in await ctx.people.addresses(target.id)
                   if row.channel in PHONE_CHANNELS), "")
    await _say(ctx, "identity.joined", number=number)
    await ask_consent(ctx)
    if how == "link":  # a link can be passed on: tell the person where they agreed to hear
        for row in await ctx.people.addresses(target.id):
            if row.channel in PHONE_CHANNELS:
                await ctx.send(Address.parse(row.address), TextReply(
                    kind=kinds.IDENTITY_NOTICE, text=ctx.t("identity.joined_notice")))
    log.info("telegram chat joined person %s (%s)", target.id, how)


async def _addresses_besides(ctx: Context, person_id: int) -> bool:
    assert ctx.address is not None
    return any(row.address != str(ctx.address) for row in await ctx.people.addresses(person_id))


async def _say(ctx: Context, key: str, **values: object) -> None:
    await answer(ctx, TextReply(kind=kinds.IDENTITY, text=ctx.t(key, **values)))


async def _tell_office(ctx: Context, person: int, chat: int) -> None:
    await tell_office_members(ctx, kinds.OFFICE_NOTICE, lambda lang: ctx.texts.get(
        "identity.office_note", lang, person=person, chat=chat))


def _phone_customer(event: Event, ctx: Context) -> bool:
    return (is_customer(ctx) and ctx.address is not None
            and ctx.address.channel in PHONE_CHANNELS)


async def send_telegram_link(event: Event, ctx: Context) -> None:
    """`telegram` on WhatsApp or SMS: the person's own link to join on Telegram."""
    assert ctx.person is not None
    link = personal_link(ctx.services, ctx.person.id)
    key = "identity.telegram_link" if link else "identity.telegram_off"
    await answer(ctx, TextReply(kind=kinds.ALTERNATIVES, text=ctx.t(
        key, link=link, hours=int(LINK_TTL.total_seconds() // 3600))))


router.on((TextEvent, CommandEvent, ChoiceEvent), Filter(_phone_customer, "phone_customer"),
          word("telegram"))(send_telegram_link)
