"""Alerts to staff: one stage at a time, each followed by a durable acknowledgement timer.

A stage alerts its people together; if nothing could be queued (nobody reachable) the
next stage follows at once. Otherwise a timer keyed `emergency:<incident>:<next stage>`
fires after `oncall.ack_timeout`; the timer rows live in the inbox, so a restart neither
loses nor doubles a step, and the incident row is locked while a step or an
acknowledgement runs. An alert carries the customer's details only with their consent;
before that it says that an emergency came in and nothing more. Each alert takes a
channel that can deliver it now (`routing`); the customer hears of each step (`telling`).
"""

from __future__ import annotations

import json
import logging

from werkbot.bot.addresses import Address
from werkbot.bot.codec import CodecError, loads_event
from werkbot.bot.context import Context
from werkbot.bot.events import (
    CommandEvent,
    ContactEvent,
    Event,
    LocationEvent,
    MediaEvent,
    TextEvent,
)
from werkbot.bot.replies import Choice, ChoicesReply, MediaReply, Reply
from werkbot.bot.staff_persons import staff_addresses
from werkbot.handlers.emergency import consent as kinds
from werkbot.handlers.emergency import incidents, telling
from werkbot.handlers.emergency.consent import may_share
from werkbot.handlers.emergency.durations import spoken
from werkbot.handlers.emergency.models import Incident
from werkbot.handlers.emergency.repo import IncidentsRepo
from werkbot.handlers.emergency.routing import as_alert_template, deliverable_now

log = logging.getLogger(__name__)
TIMER = "emergency.escalate"


def timer_key(incident_id: int, stage: int) -> str:
    return f"emergency:{incident_id}:{stage}"


def _lang(ctx: Context, staff_id: str) -> str:
    staff = ctx.settings.staff_by_id(staff_id)
    return staff.language if staff else ctx.settings.business.language


async def run_stages(ctx: Context, incident: Incident, index: int) -> None:
    """Alert stage `index`, or the first later stage that reaches anybody."""
    plan, now = incidents.plan_of(incident), ctx.clock.now()
    share = await _may_share(ctx, incident)
    while index < len(plan):
        reached = [await alert(ctx, incident, staff, Address.parse(address), index, share)
                   for staff, address in plan[index]]
        incident.step = index
        if any(reached):
            at = now + ctx.settings.oncall.ack_timeout
            await ctx.timers.schedule(timer_key(incident.id, index + 1), TIMER, at, now,
                                      {"incident": incident.id, "stage": index + 1})
            if index > 0:
                await telling.still_trying(ctx, incident, plan, index)
            return
        index += 1
    await telling.exhaust(ctx, incident)


async def _may_share(ctx: Context, incident: Incident) -> bool:
    if incident.customer_id is None:
        return False
    share = await may_share(ctx, incident.customer_id)
    if share and incident.details_at is None:
        incident.details_at = ctx.clock.now()
    return share


async def alert(ctx: Context, incident: Incident, staff_id: str, address: Address, stage: int,
                share: bool, *, header: str = "", action: str = "alerted") -> bool:
    """Queue one alert (and its media) for one staff address; record it on the timeline."""
    lang = _lang(ctx, staff_id)
    lines = [header or _header(ctx, incident, stage, staff_id, lang)]
    media: list[int] = []
    if share:
        text, media = await details(ctx, incident, lang)
        lines.append(text)
    else:
        lines.append(ctx.texts.get("emergency.alert.content_free", lang, id=incident.id,
                                   channel=ctx.texts.get(f"office.channels.{incident.channel}",
                                                         lang)))
    lines.append(ctx.texts.get("emergency.alert.hint", lang, id=incident.id))
    message = ChoicesReply(
        kind=kinds.ALERT_DETAILS if share else kinds.ALERT,
        text="\n\n".join(line for line in lines if line),
        choices=(Choice(ctx.texts.get("emergency.alert.ack_button", lang),
                        f"ack:{incident.id}"),))
    route = await deliverable_now(ctx, staff_id, address)
    if route is None:  # no channel of theirs can carry it now: the next stage, at once
        await ctx.repo(IncidentsRepo).add_step(
            incident, "unreachable", ctx.clock.now(), staff=staff_id, channel=address.channel,
            detail=f"stage {stage}")
        return False
    target, template = route
    replies: list[Reply] = [as_alert_template(message) if template else message]
    if media and not template:  # media cannot ride on a template; the details say so
        replies.append(MediaReply(kind=kinds.ALERT_DETAILS, media_ids=tuple(media),
                                  caption=f"#{incident.id}"))
    detail = f"stage {stage}" + ("" if target == address else f", not {address.channel}")
    return await send_recorded(ctx, incident, staff_id, target, replies, action, detail=detail)


async def send_recorded(ctx: Context, incident: Incident, staff_id: str, address: Address,
                        replies: list[Reply], action: str, detail: str = "") -> bool:
    """Send to a staff address and note it (with the outbox ids, to map answers back)."""
    repo = ctx.repo(IncidentsRepo)
    before, now = await repo.last_outbox_id(), ctx.clock.now()
    queued = False
    for reply in replies:
        queued = bool(await ctx.send(address, reply)) or queued
    outbox = await repo.outbox_since(before, str(address))
    await repo.add_step(incident, action if queued else "unreachable", now,
                        staff=staff_id, channel=address.channel, detail=detail, outbox=outbox)
    return queued


def _header(ctx: Context, incident: Incident, stage: int, staff_id: str, lang: str) -> str:
    plan = incidents.plan_of(incident)
    earlier = [s for st in plan[:stage] for s, _ in st]
    if staff_id in earlier:
        return ctx.texts.get("emergency.alert.repeat", lang)
    if earlier:
        waited = spoken(ctx.texts, lang, ctx.settings.oncall.ack_timeout)
        who = ", ".join(dict.fromkeys(telling.staff_name(ctx, s) for s in earlier))
        return ctx.texts.get("emergency.alert.escalated", lang, who=who, waited=waited)
    if incident.mode in ("fallback", "office"):
        return ctx.texts.get(f"emergency.alert.{incident.mode}", lang)
    return ""


async def details(ctx: Context, incident: Incident, lang: str) -> tuple[str, list[int]]:
    """The customer's message, location and how to reach them; the stored media ids."""
    texts, located = [], []
    for _, event in await incident_events(ctx, incident):
        if isinstance(event, TextEvent | CommandEvent) and event.text:
            texts.append(event.text)
        elif isinstance(event, MediaEvent) and event.caption:
            texts.append(event.caption)
        elif isinstance(event, LocationEvent):
            located.append(ctx.texts.get("emergency.alert.location", lang,
                                         lat=f"{event.latitude:.6f}",
                                         lon=f"{event.longitude:.6f}"))
        elif isinstance(event, ContactEvent):
            texts.append(event.phone)
    person = await ctx.people.get(incident.customer_id) if incident.customer_id else None
    contact = [ctx.texts.get("emergency.alert.contact_phone", lang, phone=a.id)
               if a.is_phone else ctx.texts.get("emergency.alert.contact_chat", lang,
                                                 id=incident.id)
               for a in await telling.customer_addresses(ctx, incident)]
    danger = ctx.texts.get(f"emergency.dangers.{incident.danger}", lang) if incident.danger else ""
    body = ctx.texts.get(
        "emergency.alert.full", lang, id=incident.id, danger=danger,
        name=(person.display_name if person and person.display_name
              else ctx.texts.get("emergency.alert.unknown_name", lang)),
        contact=", ".join(dict.fromkeys(contact)),
        text="\n".join(texts) or ctx.texts.get("emergency.alert.no_text", lang))
    media = [int(item[1]) for item in incidents.ids_of(incident.media_ids)]
    return "\n".join([body, *located]), media


async def incident_events(ctx: Context, incident: Incident) -> list[tuple[int, Event]]:
    ids = [int(i) for i in incidents.ids_of(incident.inbox_ids)]
    if not ids:
        return []
    rows = await ctx.repo(IncidentsRepo).inbox_rows(ids)
    events = []
    for row in rows:
        try:
            events.append((row.id, loads_event(row.payload)))
        except (CodecError, ValueError, TypeError):
            log.warning("incident %s: inbox row %s does not decode", incident.id, row.id)
    return events


async def share_details(ctx: Context, incident: Incident) -> None:
    """Once the customer consents, everyone already alerted gets the details."""
    if incident.details_at is not None or not await _may_share(ctx, incident):
        return
    for staff_id, channel in await ctx.repo(IncidentsRepo).alerted(incident.id):
        staff = ctx.settings.staff_by_id(staff_id)
        address = next((a for a in _staff_addresses(ctx, staff_id) if a.channel == channel),
                       None)
        if staff is None or address is None:
            continue
        header = ctx.texts.get("emergency.alert.details", staff.language)
        await alert(ctx, incident, staff_id, address, incident.step, True, header=header,
                    action="details")


def _staff_addresses(ctx: Context, staff_id: str) -> list[Address]:
    staff = ctx.settings.staff_by_id(staff_id)
    return staff_addresses(staff) if staff else []


def add_inbox(incident: Incident, inbox_id: int | None) -> None:
    ids = incidents.ids_of(incident.inbox_ids)
    if inbox_id is not None and inbox_id not in ids:
        incident.inbox_ids = json.dumps([*ids, inbox_id])


async def collect_media(ctx: Context, incident: Incident) -> list[int]:
    """Store the media of the incident's messages for the customer; the new media ids.

    Called in the customer's own context only, so the stored media belong to them (and
    go with their erasure). A failed download never stops the emergency.
    """
    stored = incidents.ids_of(incident.media_ids)
    done = {int(item[0]) for item in stored}
    new: list[int] = []
    for inbox_id, event in await incident_events(ctx, incident):
        if inbox_id in done or not isinstance(event, MediaEvent):
            continue
        for ref in event.media:
            try:
                saved = await ctx.download(ref, channel=event.sender.channel)
            except Exception as exc:  # a provider hiccup must not lose the emergency
                log.warning("incident %s: media not fetched (%s)", incident.id,
                            type(exc).__name__)
                continue
            stored.append([inbox_id, saved.id])
            new.append(saved.id)
    incident.media_ids = json.dumps(stored)
    return new
