"""The consent dialogue's steps: ask, yes, no, other ways, withdraw, withdraw everything.

Each step writes the ledger, the open request (`ConsentAsk`) and the held messages in
the event's transaction and queues exactly one answer, so a step happens completely or
not at all. The routers in `words` and `gate` decide which step an event means;
`ask_consent(ctx)` is public for the emergency handler.
"""

from __future__ import annotations

import logging

from werkbot.bot.addresses import PHONE_CHANNELS, Address
from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent
from werkbot.bot.hooks import hooks
from werkbot.bot.replies import Choice, ChoicesReply, TextReply
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.hooks import ON_GRANTED
from werkbot.handlers.consent.ledger import ALL_CHANNELS, PURPOSES, ConsentLedger, text_hash
from werkbot.handlers.consent.repo import ConsentRepo
from werkbot.handlers.consent.status import ChannelStatus, is_customer

log = logging.getLogger(__name__)

BOT = "werkbot"  # `recorded_by` for what the person did in the chat themselves


def request_text(ctx: Context, channel: str) -> str:
    """The consent request as shown on `channel`, in the person's language."""
    s = ctx.settings
    return ctx.t("consent.request", business=s.business.name,
                 channel=_label(ctx, "consent.channels", channel, channel),
                 identity=_label(ctx, "consent.identities", channel, channel),
                 providers=_label(ctx, "consent.providers", channel, channel),
                 messages_days=s.retention.messages.days, media_days=s.retention.media.days,
                 held_hours=int(s.consent.hold_for.total_seconds() // 3600),
                 privacy_url=s.business.privacy_url or s.server.public_url)


CHOICE_VALUES = ("ja", "nein", "andere")  # what the request's buttons send back


def request_reply(ctx: Context, channel: str) -> ChoicesReply:
    labels = (ctx.t("consent.choice_yes"), ctx.t("consent.choice_no"),
              ctx.t("consent.choice_other"))
    return ChoicesReply(kind=kinds.CONSENT_REQUEST, text=request_text(ctx, channel),
                        choices=tuple(Choice(label, value)
                                      for label, value in zip(labels, CHOICE_VALUES,
                                                              strict=True)))


def alternatives(ctx: Context, channel: str) -> str:
    """The other ways to reach the business: every other enabled channel, phone, e-mail."""
    s = ctx.settings
    lines = [ctx.t("consent.alternatives_intro", business=s.business.name)]
    reachable = {
        "whatsapp": {"link": _wa_link(s.twilio.whatsapp_from)},
        "sms": {"number": s.twilio.sms_from or s.server.sandbox_sms_from},
        "telegram": {"link": _telegram_link(ctx, channel)},
    }
    for name in ctx.services.channels:
        values = reachable.get(name)
        if name != channel and values and all(values.values()):
            lines.append(ctx.t(f"consent.alternatives.{name}", **values))
    if s.business.phone:
        lines.append(ctx.t("consent.alternatives.phone", phone=s.business.phone))
    if s.business.email:
        lines.append(ctx.t("consent.alternatives.email", email=s.business.email))
    return "\n".join(lines)


def _telegram_link(ctx: Context, channel: str) -> str:
    """The bot's t.me link; on the person's own WhatsApp or SMS chat their personal one,
    which joins the Telegram chat that opens it to them (handlers/identity)."""
    from werkbot.handlers.identity.links import personal_link  # identity imports consent

    username = ctx.settings.telegram.bot_username.lstrip("@")
    if ctx.person is not None and channel in PHONE_CHANNELS and is_customer(ctx):
        return personal_link(ctx.services, ctx.person.id) or (
            f"https://t.me/{username}" if username else "")
    return f"https://t.me/{username}" if username else ""


async def ask_consent(ctx: Context, *, again: bool = False,
                      status: ChannelStatus | None = None) -> bool:
    """Send the consent request on the sender's channel unless it is pending already.

    For the emergency handler (and the gate): it holds nothing itself. A person who
    said no or withdrew is asked again, since they wrote to us; `again=True` repeats a
    pending request too. Staff never get it. Returns True if the request was queued.
    """
    if ctx.person is None or ctx.address is None or not is_customer(ctx):
        return False
    channel = ctx.address.channel
    if status is None:  # the caller may know it from this very event
        status = await ctx.repo(ConsentRepo).channel_status(ctx.person.id, channel)
    if status is ChannelStatus.GRANTED or (status is ChannelStatus.PENDING and not again):
        return False
    reply = request_reply(ctx, channel)
    if not await ctx.reply(reply):
        return False
    await ctx.repo(ConsentRepo).asked(
        ctx.person.id, channel, ctx.clock.now(), text_version=ctx.settings.consent.text_version,
        text_sha256=text_hash(reply.text), known_new=ctx.is_new)
    log.info("consent request sent to person %s on %s", ctx.person.id, channel)
    return True


async def grant(ctx: Context) -> None:
    """Yes: ledger entries for every purpose on this channel, release, confirm."""
    person, address = _sender(ctx)
    ask = await ctx.repo(ConsentRepo).ask(person, address.channel)
    version = ask.text_version if ask else ctx.settings.consent.text_version
    shown = request_text(ctx, address.channel)
    await _ledger(ctx).record(
        person_id=person, address=address, purposes=PURPOSES, granted=True, text=shown,
        text_version=version, text_sha256=ask.text_sha256 if ask else "",
        method=_method(ctx), evidence=ctx.event.id, recorded_by=BOT, now=ctx.clock.now())
    if ask is not None:
        ask.pending = False
    await _forget_numbers(ctx, address)
    await ctx.reply(TextReply(kind=kinds.CONSENT_CONFIRMATION, text=ctx.t("consent.confirmed")))
    await ctx.repo(ConsentRepo).release_held(person, ctx.clock.now(), channel=address.channel)
    for hook in hooks(ctx.services, ON_GRANTED):
        await hook(ctx)
    log.info("consent granted by person %s on %s", person, address.channel)


async def refuse(ctx: Context) -> None:
    """No: held messages deleted, the refusal recorded, alternatives named once."""
    person, address = _sender(ctx)
    await _close(ctx, channel=address.channel, purpose_text=request_text(ctx, address.channel))
    await ctx.reply(TextReply(kind=kinds.ALTERNATIVES, text=ctx.t(
        "consent.declined", alternatives=alternatives(ctx, address.channel))))
    log.info("consent refused by person %s on %s", person, address.channel)


async def other_ways(ctx: Context) -> None:
    """Other ways: the same alternatives, nothing declined, the request stays open."""
    _, address = _sender(ctx)
    await ctx.reply(TextReply(kind=kinds.ALTERNATIVES, text=ctx.t(
        "consent.other", alternatives=alternatives(ctx, address.channel))))


async def withdraw(ctx: Context, *, everywhere: bool = False) -> bool:
    """Stop: withdraw on this channel (or on every channel), cancel, confirm once.

    Returns False (and says nothing) when there is nothing left to withdraw, so a
    repeated `stop` gets no second confirmation.
    """
    person, address = _sender(ctx)
    if not await _anything_to_withdraw(ctx, person, address, everywhere):
        return False
    channel = ALL_CHANNELS if everywhere else address.channel
    text = ctx.t("consent.withdrawn_all" if everywhere else "consent.withdrawn",
                 channel=_label(ctx, "consent.channels", address.channel, address.channel))
    await _close(ctx, channel=channel, purpose_text=text)
    now = ctx.clock.now()
    targets = ([Address.parse(r.address) for r in await ctx.people.addresses(person)]
               if everywhere else [address])
    cancelled = sum([await ctx.outbox.cancel_queued(target, now) for target in targets])
    await ctx.reply(TextReply(kind=kinds.WITHDRAWAL_CONFIRMATION, text=text))
    log.info("consent withdrawn by person %s on %s (%d queued cancelled)", person, channel,
             cancelled)
    return True


async def record_opt_out(ctx: Context, address: Address, evidence: str) -> bool:
    """The carrier reports an opt-out (Twilio 21610): record a withdrawal, once."""
    repo = ctx.repo(ConsentRepo)
    row = await repo.address_row(address)
    if row is None:
        return False
    status = await repo.channel_status(row.person_id, address.channel)
    if status is ChannelStatus.REFUSED:
        return False
    await _ledger(ctx).record(
        person_id=row.person_id, address=address, purposes=PURPOSES, granted=False,
        text="", text_version=ctx.settings.consent.text_version, method="provider-opt-out",
        evidence=evidence, recorded_by=f"carrier:{address.channel}", now=ctx.clock.now())
    await repo.discard_held(row.person_id, channel=address.channel)
    await ctx.outbox.cancel_queued(address, ctx.clock.now())
    ask = await repo.ask(row.person_id, address.channel)
    if ask is not None:
        ask.pending = False
    log.info("carrier opt-out recorded for person %s on %s", row.person_id, address.channel)
    return True


async def _close(ctx: Context, *, channel: str, purpose_text: str) -> None:
    """Record a refusal or withdrawal, drop held messages and open requests.

    `purpose_text` is what the ledger row's hash covers: the withdrawal confirmation the
    person is shown, or for a refusal the request as it was shown when asked.
    """
    person, address = _sender(ctx)
    repo = ctx.repo(ConsentRepo)
    ask = await repo.ask(person, address.channel)
    refusal = ask is not None and ask.pending and channel != ALL_CHANNELS
    await _ledger(ctx).record(
        person_id=person, address=None if channel == ALL_CHANNELS else address,
        channel=channel, purposes=PURPOSES, granted=False, text=purpose_text,
        text_sha256=ask.text_sha256 if ask is not None and refusal else "",
        text_version=ask.text_version if ask else ctx.settings.consent.text_version,
        method=_method(ctx), evidence=ctx.event.id, recorded_by=BOT, now=ctx.clock.now())
    everywhere = channel == ALL_CHANNELS
    await _forget_numbers(ctx, address)
    await repo.discard_held(person, channel=None if everywhere else channel)
    for open_ask in await repo.asks(person):
        if everywhere or open_ask.channel == channel:
            open_ask.pending = False


async def _anything_to_withdraw(ctx: Context, person: int, address: Address,
                                everywhere: bool) -> bool:
    channels = ({r.channel for r in await ctx.people.addresses(person)} if everywhere
                else {address.channel})
    repo = ctx.repo(ConsentRepo)
    for channel in channels:
        if await repo.channel_status(person, channel) is not ChannelStatus.REFUSED:
            return True
    return everywhere and any([await repo.may_share(person, p) for p in PURPOSES])


async def _forget_numbers(ctx: Context, address: Address) -> None:
    """Once the request is answered, '1' / '2' / '3' typed later (or released) mean no more
    yes / no / other: drop the core's memory of the request's numbered choices."""
    await ctx.repo(ConsentRepo).forget_numbered_choices(address, CHOICE_VALUES)


def _sender(ctx: Context) -> tuple[int, Address]:
    if ctx.person is None or ctx.address is None:
        raise RuntimeError("the consent dialogue needs a sender")
    return ctx.person.id, ctx.address


def _ledger(ctx: Context) -> ConsentLedger:
    return ctx.repo(ConsentRepo).ledger(ctx.services.signer)


def _method(ctx: Context) -> str:
    return "button" if isinstance(ctx.event, ChoiceEvent) else "chat"


def _label(ctx: Context, table: str, key: str, default: str) -> str:
    try:
        return ctx.t(f"{table}.{key}")
    except KeyError:
        return default


def _wa_link(sender: str) -> str:
    digits = "".join(c for c in sender if c.isdigit())
    return f"https://wa.me/{digits}" if digits else ""
