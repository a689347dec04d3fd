"""Emergencies in the browser: live incidents, their escalation timeline, acknowledging
(only a staff member the alert reached, as in chat) and closing (office and admin).

The office sees every incident; a fitter sees only incidents they were alerted for.
What the customer wrote shows once they agreed to share it (`details_at`), as the
alert in chat does. Acknowledging and closing run the chat features' own functions.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from werkbot.bot.events import ContactEvent, LocationEvent, MediaEvent, TextEvent
from werkbot.bot.storage.models import Person
from werkbot.handlers.emergency import alerts
from werkbot.handlers.emergency.fitter import acknowledge
from werkbot.handlers.emergency.incident_commands import close as close_incident
from werkbot.handlers.emergency.models import Incident, IncidentStep
from werkbot.handlers.emergency.repo import IncidentsRepo
from werkbot.handlers.office_web.acting import web_context
from werkbot.handlers.office_web.guard import Call, office_page, see_other
from werkbot.handlers.staff_roles import OFFICE_ROLES

LIST_LENGTH = 50


async def _visible(call: Call) -> list[Incident]:
    query = select(Incident).order_by(Incident.id.desc()).limit(LIST_LENGTH)
    if not call.viewer.is_office:
        query = query.where(Incident.id.in_(
            select(IncidentStep.incident_id).where(IncidentStep.staff_id == call.viewer.staff.id,
                                                   IncidentStep.action == "alerted")))
    return list((await call.session.scalars(query)).all())


async def _incident(call: Call) -> Incident:
    incident = await call.session.get(Incident, call.int_arg("incident"))
    if incident is None:
        raise web.HTTPNotFound(text="not found")
    if not call.viewer.is_office and call.viewer.staff.id not in await _alerted(call, incident):
        raise web.HTTPNotFound(text="not found")  # a fitter learns nothing of others' incidents
    return incident


async def _alerted(call: Call, incident: Incident) -> set[str]:
    return {staff for staff, _ in await IncidentsRepo(call.session).alerted(incident.id)}


@office_page()
async def incidents(call: Call) -> web.StreamResponse:
    return call.page("incidents.html", incidents=await _visible(call))


@office_page()
async def incident(call: Call) -> web.StreamResponse:
    row = await _incident(call)
    steps = await IncidentsRepo(call.session).steps_of(row.id)
    customer = await call.session.get(Person, row.customer_id) if row.customer_id else None
    messages: list[str] = []
    if row.details_at is not None:
        ctx = await web_context(call.session, call.services, call.viewer.staff)
        for _, event in await alerts.incident_events(ctx, row):
            messages.append(_said(event))
    await call.audit("incident_view", subject=f"incident:{row.id}")
    alerted = await _alerted(call, row)
    return call.page(
        "incident.html", incident=row, steps=steps,
        customer=(customer.display_name or f"#{customer.id}")
        if customer is not None and row.details_at is not None else "",
        customer_id=customer.id if customer is not None and call.viewer.is_office else None,
        messages=[m for m in messages if m], may_ack=row.status == "open"
        and call.viewer.staff.id in alerted,
        staff_names={s.id: s.name or s.id for s in call.services.settings.staff})


def _said(event: object) -> str:
    if isinstance(event, TextEvent):
        return event.text
    if isinstance(event, MediaEvent):
        return event.caption or "📎"
    if isinstance(event, LocationEvent):
        return f"📍 {event.latitude:.5f}, {event.longitude:.5f}"
    if isinstance(event, ContactEvent):
        return f"👤 {event.name} {event.phone}".strip()
    return ""


@office_page(form=True)
async def ack(call: Call) -> web.StreamResponse:
    """Only a staff member the alert reached may acknowledge, exactly as in chat."""
    row = await _incident(call)
    if call.viewer.staff.id not in await _alerted(call, row):
        await call.audit("refused.ack", subject=f"incident:{row.id}")
        return call.page("refused.html", status=403, reason=call.t("ack_not_alerted"))
    ctx = await web_context(call.session, call.services, call.viewer.staff,
                            incident=row.id)
    await acknowledge(ctx.event, ctx)
    await call.audit("incident_ack", subject=f"incident:{row.id}")
    call.flash(*ctx.notices)
    if ctx.sent:
        call.after_commit.append(call.services.wake_outbox)
    return see_other(f"/office/incidents/{row.id}")


@office_page(roles=OFFICE_ROLES, form=True)
async def close(call: Call) -> web.StreamResponse:
    row = await IncidentsRepo(call.session).lock(call.int_arg("incident"))
    if row is None:
        raise web.HTTPNotFound(text="not found")
    ctx = await web_context(call.session, call.services, call.viewer.staff)
    await close_incident(ctx, row)
    await call.audit("incident_close", subject=f"incident:{row.id}")
    call.flash(*ctx.notices)
    return see_other(f"/office/incidents/{row.id}")
