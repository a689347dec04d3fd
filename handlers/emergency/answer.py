"""The customer side: the emergency answer, follow-ups, and the away answer.

Safety advice goes first, then the number to call (both vital interests, so they reach
people who have not consented yet), then the alerts. Before consent the customer is
asked in the same breath, and staff only learn that an emergency came in. Messages a
customer sends while their incident is active join it and reach whoever was alerted.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from werkbot.bot.context import Context
from werkbot.bot.events import ContactEvent, Event, LocationEvent, MediaEvent
from werkbot.bot.replies import Choice, ChoicesReply, MediaReply, TextReply
from werkbot.bot.staff_persons import staff_addresses
from werkbot.handlers.emergency import alerts, incidents
from werkbot.handlers.emergency import consent as consent_bridge
from werkbot.handlers.emergency.calendar import format_moment
from werkbot.handlers.emergency.detect import language_of, said
from werkbot.handlers.emergency.models import Incident
from werkbot.handlers.emergency.repo import IncidentsRepo, ScheduleRepo
from werkbot.handlers.phones import phone_values

log = logging.getLogger(__name__)
AWAY_FLAG = "emergency_away_until"  # ctx.state: the away answer went out for this period


async def raise_emergency(event: Event, ctx: Context) -> None:
    """A customer's emergency: advice, the number, consent if needed, then the alerts."""
    assert ctx.person is not None
    now, danger = ctx.clock.now(), str(ctx.match.get("danger", ""))
    lang = language_of(ctx, said(event))
    if lang and ctx.person.language != lang:
        ctx.person.language = lang
    if danger:
        await ctx.reply(TextReply(kind=consent_bridge.SAFETY,
                                  text=ctx.t(f"emergency.safety.{danger}")))
    active = await ctx.repo(IncidentsRepo).active_of(ctx.person.id, now)
    if active is not None:
        await _give_number(ctx, active, await consent_bridge.may_share(ctx, ctx.person.id))
        await follow_up(event, ctx, active)
        return
    calendar = await ctx.repo(ScheduleRepo).calendar(ctx.settings.business, now.date())
    rota = await ctx.repo(ScheduleRepo).rota(ctx.settings, now)
    wanted = "office" if calendar.is_open(now) else "oncall"
    oncall = rota.on_call(now) if wanted == "oncall" else None
    mode, plan = incidents.build_plan(ctx.settings, wanted, oncall)
    incident = Incident(customer_id=ctx.person.id, channel=event.sender.channel, mode=mode,
                        danger=danger, status="open", plan=json.dumps(plan), step=0,
                        inbox_ids=json.dumps([ctx.inbox_id] if ctx.inbox_id else []),
                        media_ids="[]", created_at=now)
    repo = ctx.repo(IncidentsRepo)
    await repo.add(incident)
    await repo.add_step(incident, "created", now, staff=oncall or "",
                        channel=incident.channel, detail=mode)
    log.info("incident %s opened (%s, %s)", incident.id, mode, danger or "-")
    shared = await consent_bridge.may_share(ctx, ctx.person.id)
    await _give_number(ctx, incident, shared)
    if shared:
        await alerts.collect_media(ctx, incident)
    else:
        await consent_bridge.ask_consent(ctx)
    await alerts.run_stages(ctx, incident, 0)


async def _give_number(ctx: Context, incident: Incident, shared: bool) -> None:
    """The number to call: the on-call fitter's business phone, else the office's."""
    business = ctx.settings.business.phone
    # The safety advice said how to call (gas: from outside); this repeats it first.
    lines = [ctx.t(f"emergency.customer.call_first.{incident.danger}")] if incident.danger \
        else []
    fitter = None
    if incident.mode == "oncall":
        first = incidents.plan_of(incident)[0][0][0]
        fitter = ctx.settings.staff_by_id(first)
    if fitter is not None:
        values = phone_values(fitter.phone or business)
        lines.append(ctx.t("emergency.customer.oncall", name=fitter.name or fitter.id, **values))
        if shared and fitter.telegram:
            lines.append(ctx.t("emergency.customer.write", name=fitter.name or fitter.id))
    else:
        key = "office" if incident.mode == "office" else "fallback"
        lines.append(ctx.t(f"emergency.customer.{key}", **phone_values(business)))
    if not shared:
        lines.append(ctx.t("emergency.customer.before_consent"))
    await ctx.reply(TextReply(kind=consent_bridge.ONCALL_NUMBER, text="\n\n".join(lines)))


async def follow_up(event: Event, ctx: Context, incident: Incident) -> None:
    """A further message during an active incident: kept with it, forwarded with consent."""
    alerts.add_inbox(incident, ctx.inbox_id)
    assert ctx.person is not None
    if not await consent_bridge.may_share(ctx, ctx.person.id):
        return  # kept: it goes to staff with the details once the customer consents
    if incident.details_at is None:
        await on_consent_granted(ctx)
        return
    media = await alerts.collect_media(ctx, incident)
    alerted = await ctx.repo(IncidentsRepo).alerted(incident.id)
    recipients = [incident.acked_by] if incident.acked_by else [s for s, _ in alerted]
    for staff_id in dict.fromkeys(recipients):
        staff = ctx.settings.staff_by_id(staff_id)
        channels = [c for s, c in alerted if s == staff_id]
        address = next((a for a in staff_addresses(staff) if a.channel in channels),
                       None) if staff else None
        if staff is None or address is None:
            continue
        replies: list[TextReply | MediaReply] = []
        text = _followup_text(ctx, event, staff.language)
        if text:
            replies.append(TextReply(kind=consent_bridge.ALERT_DETAILS, text=ctx.texts.get(
                "emergency.alert.followup", staff.language, id=incident.id, text=text)))
        if media:
            replies.append(MediaReply(
                kind=consent_bridge.ALERT_DETAILS, media_ids=tuple(media),
                caption=ctx.texts.get("emergency.alert.followup_media", staff.language,
                                      id=incident.id)))
        if replies:
            await alerts.send_recorded(ctx, incident, staff_id, address, list(replies),
                                       "followup")


def _followup_text(ctx: Context, event: Event, lang: str) -> str:
    if isinstance(event, LocationEvent):
        return ctx.texts.get("emergency.alert.location", lang, lat=f"{event.latitude:.6f}",
                             lon=f"{event.longitude:.6f}")
    if isinstance(event, ContactEvent):
        return " ".join(part for part in (event.name, event.phone) if part)
    return event.caption if isinstance(event, MediaEvent) else said(event)


async def on_consent_granted(ctx: Context) -> None:
    """Hook for the consent package: call it in the customer's context after a grant.

    Everyone already alerted for the customer's active incident then gets the details
    (message, photos, voice notes, location, how to reach them).
    """
    if ctx.person is None:
        return
    incident = await ctx.repo(IncidentsRepo).active_of(ctx.person.id, ctx.clock.now())
    if incident is None or not await consent_bridge.may_share(ctx, ctx.person.id):
        return
    await alerts.collect_media(ctx, incident)
    await alerts.share_details(ctx, incident)


async def send_away_answer(ctx: Context) -> bool:
    """The away answer for a consented customer outside opening hours; once per period.

    The office inbox (issue 8) calls this for an ordinary message when the office is
    closed. Returns False when the office is open or this person already had the answer
    in this closed period (the flag in `ctx.state` holds until the next opening).
    """
    now = ctx.clock.now()
    calendar = await ctx.repo(ScheduleRepo).calendar(ctx.settings.business, now.date())
    if calendar.is_open(now):
        return False
    opens = calendar.next_opening(now)
    until = ctx.state.get(AWAY_FLAG)
    if isinstance(until, str) and now < datetime.fromisoformat(until):
        return False
    if opens is None:
        text = ctx.t("emergency.away.text_unknown")
        ctx.state[AWAY_FLAG] = (now + incidents.FOLLOW_UP_FOR).isoformat()
    else:
        local = calendar.local(opens)
        text = ctx.t("emergency.away.text", opens=format_moment(ctx.texts, ctx.lang, local))
        ctx.state[AWAY_FLAG] = opens.isoformat()
    await ctx.reply(ChoicesReply(kind="away", text=text,
                                 choices=(Choice(ctx.t("emergency.away.choice"), "notfall"),)))
    return True


async def office_is_open(ctx: Context) -> bool:
    """For the office inbox: is the office open now (holidays and closures included)?"""
    now = ctx.clock.now()
    return (await ctx.repo(ScheduleRepo).calendar(ctx.settings.business, now.date())).is_open(now)
