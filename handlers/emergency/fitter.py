"""The staff side of an incident: acknowledging it and answering the customer via the bot.

A fitter acknowledges with `ok`/`übernehme`/`ack` (the newest incident they were alerted
for, or the one whose alert they answer) or with the button (`ack:<id>`). Answering
the alert message, or `/reply <id> text`, sends the text to the customer through the
bot, so neither side's private number is exposed.
"""

from __future__ import annotations

import logging

from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, Event, MediaEvent, TextEvent
from werkbot.bot.replies import MediaReply, TextReply
from werkbot.bot.router import Filter
from werkbot.bot.staff_persons import staff_addresses
from werkbot.handlers.emergency import alerts, telling
from werkbot.handlers.emergency.consent import ALERT, EMERGENCY_UPDATE
from werkbot.handlers.emergency.models import Incident
from werkbot.handlers.emergency.repo import IncidentsRepo
from werkbot.handlers.filters import word
from werkbot.handlers.phones import phone_values
from werkbot.handlers.staff_roles import staff_of

log = logging.getLogger(__name__)


def _ack_choice(event: Event, ctx: Context) -> dict[str, int] | None:
    if not isinstance(event, ChoiceEvent) or not event.value.startswith("ack:"):
        return None
    number = event.value.partition(":")[2]
    return {"incident": int(number)} if number.isdigit() else None


async def _answered_incident(event: Event, ctx: Context) -> dict[str, int] | None:
    incident = await ctx.repo(IncidentsRepo).by_outbound(event.reply_to)
    return {"incident": incident.id} if incident else None


async def _pending_for_me(event: Event, ctx: Context) -> dict[str, int] | None:
    answered = await _answered_incident(event, ctx)
    if answered:
        return answered
    staff = staff_of(ctx)
    if staff is None:
        return None
    incident = await ctx.repo(IncidentsRepo).latest_for_staff(staff.id, ctx.clock.now())
    return {"incident": incident.id} if incident else None


ack_choice = Filter(_ack_choice, "ack_choice")
ack_word = word("ack") & Filter(_pending_for_me, "pending_for_me")
answers_alert = Filter(_answered_incident, "answers_alert")


async def acknowledge(event: Event, ctx: Context) -> None:
    staff = staff_of(ctx)
    assert staff is not None
    incident = await ctx.repo(IncidentsRepo).lock(int(ctx.match["incident"]))
    if incident is None:
        await ctx.reply(ctx.t("emergency.errors.no_incident", id=ctx.match["incident"]))
        return
    if incident.status != "open":
        who = telling.staff_name(ctx, incident.acked_by) if incident.acked_by else "-"
        await ctx.reply(ctx.t("emergency.alert.already", id=incident.id, name=who))
        return
    if not await ctx.repo(IncidentsRepo).reached(incident.id, staff.id):
        # Only whom the alert reached may take it (contract §6): a stray `ack:<n>` from
        # someone never alerted must not tell the customer a stranger is coming.
        alerted = [telling.staff_name(ctx, s) for s, _ in await ctx.repo(IncidentsRepo).alerted(
            incident.id)]
        await ctx.reply(ctx.t("emergency.alert.not_alerted", id=incident.id,
                              names=", ".join(dict.fromkeys(alerted)) or "-"))
        return
    now = ctx.clock.now()
    incident.status, incident.acked_by, incident.acked_at = "acknowledged", staff.id, now
    await ctx.timers.cancel(alerts.timer_key(incident.id, incident.step + 1))
    await ctx.repo(IncidentsRepo).add_step(incident, "acknowledged", now, staff=staff.id,
                                           channel=event.sender.channel)
    log.info("incident %s acknowledged", incident.id)
    await ctx.reply(ctx.t("emergency.alert.acked", id=incident.id))
    customer_lang = await telling.customer_language(ctx, incident)
    await telling.to_customer(ctx, incident, TextReply(
        kind=EMERGENCY_UPDATE,
        text=ctx.texts.get("emergency.customer.coming", customer_lang,
                           name=staff.name or staff.id,
                           **phone_values(staff.phone or ctx.settings.business.phone))))
    for other, channel in await ctx.repo(IncidentsRepo).alerted(incident.id):
        if other == staff.id:
            continue
        person = ctx.settings.staff_by_id(other)
        address = next((a for a in staff_addresses(person) if a.channel == channel),
                       None) if person else None
        if person is not None and address is not None:
            await ctx.send(address, TextReply(kind=ALERT, text=ctx.texts.get(
                "emergency.alert.taken", person.language, id=incident.id,
                name=staff.name or staff.id)))
    await alerts.share_details(ctx, incident)


async def relay(event: Event, ctx: Context) -> None:
    """A staff answer to an alert goes to the customer, signed with the staff name."""
    incident = await ctx.repo(IncidentsRepo).lock(int(ctx.match["incident"]))
    if incident is None:
        return
    text = event.text if isinstance(event, TextEvent) else (
        event.caption if isinstance(event, MediaEvent) else "")
    media: list[int] = []
    if isinstance(event, MediaEvent):
        for ref in event.media:
            try:
                media.append((await ctx.download(ref)).id)
            except Exception as exc:  # the text still goes; the fitter is told below
                log.warning("incident %s: staff media not fetched (%s)", incident.id,
                            type(exc).__name__)
    await send_answer(ctx, incident, text, media)


async def send_answer(ctx: Context, incident: Incident, text: str, media: list[int]) -> None:
    staff = staff_of(ctx)
    assert staff is not None
    lang = await telling.customer_language(ctx, incident)
    name = staff.name or staff.id
    sent = False
    if text:
        sent = await telling.to_customer(ctx, incident, TextReply(
            kind="emergency_reply",
            text=ctx.texts.get("emergency.customer.staff_reply", lang, name=name, text=text)))
    if media:
        sent = await telling.to_customer(ctx, incident, MediaReply(
            kind="emergency_reply", media_ids=tuple(media), caption=name)) or sent
    await ctx.repo(IncidentsRepo).add_step(incident, "reply" if sent else "unreachable",
                                           ctx.clock.now(), staff=staff.id,
                                           channel=incident.channel)
    key = "emergency.alert.reply_sent" if sent else "emergency.alert.reply_refused"
    await ctx.reply(ctx.t(key, id=incident.id))
