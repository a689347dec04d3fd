"""Incidents in storage: creating them, their escalation plan, timelines and look-ups.

The plan is fixed when the incident is created (a later rota change does not move a
running escalation): a list of stages, each a list of `[staff id, address]` alerted
together. Stage 0 is the on-call fitter's first channel (or the office staff during
opening hours), then the fitter's other channels, then each id of `oncall.escalation`,
and the admins last if nobody before them is an admin. With nobody reachable the plan
is the admins alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.settings import Settings
from werkbot.bot.staff import staff_addresses
from werkbot.bot.storage.models import OutboxRow
from werkbot.handlers.emergency.models import Incident, IncidentStep

FOLLOW_UP_FOR = timedelta(hours=24)  # an incident older than this takes no follow-ups
ACTIVE = ("open", "acknowledged")
Stage = list[tuple[str, str]]


def build_plan(settings: Settings, mode: str, oncall: str | None) -> tuple[str, list[Stage]]:
    """The mode actually used (oncall, office or fallback) and its stages."""
    stages: list[Stage] = []
    if mode == "office":
        office = [s for s in settings.staff if "office" in s.roles and staff_addresses(s)]
        stages.append([(s.id, str(staff_addresses(s)[0])) for s in office])
    elif oncall is not None and (fitter := settings.staff_by_id(oncall)) is not None:
        addresses = [str(a) for a in staff_addresses(fitter)]
        if addresses:
            stages.append([(fitter.id, addresses[0])])
        if addresses[1:]:
            stages.append([(fitter.id, a) for a in addresses[1:]])
    stages = [stage for stage in stages if stage]
    if not stages:
        mode = "fallback"
    planned = {staff for stage in stages for staff, _ in stage}
    for staff_id in settings.oncall.escalation:
        person = settings.staff_by_id(staff_id)
        if person is None or staff_id in planned:
            continue
        stage = [(staff_id, str(a)) for a in staff_addresses(person)]
        if stage:
            stages.append(stage)
            planned.add(staff_id)
    admins = [s for s in settings.staff if "admin" in s.roles]
    if not any(s.id in planned for s in admins):
        final = [(s.id, str(a)) for s in admins for a in staff_addresses(s)]
        if final:
            stages.append(final)
    return mode, stages


def plan_of(incident: Incident) -> list[Stage]:
    return [[(str(s), str(a)) for s, a in stage] for stage in json.loads(incident.plan)]


def ids_of(text: str) -> list[Any]:
    value = json.loads(text or "[]")
    return value if isinstance(value, list) else []


async def add_step(session: AsyncSession, incident: Incident, action: str, now: datetime, *,
                   staff: str = "", channel: str = "", detail: str = "",
                   outbox: tuple[int | None, int | None] = (None, None)) -> None:
    session.add(IncidentStep(incident_id=incident.id, at=now, action=action, staff_id=staff,
                             channel=channel, detail=detail[:200], outbox_first=outbox[0],
                             outbox_last=outbox[1]))
    await session.flush()


async def lock(session: AsyncSession, incident_id: int) -> Incident | None:
    """The incident, locked so an acknowledgement and an escalation cannot interleave."""
    return await session.scalar(
        select(Incident).where(Incident.id == incident_id).with_for_update())


async def active_of(session: AsyncSession, customer_id: int, now: datetime) -> Incident | None:
    """The customer's newest incident still taking follow-ups."""
    return await session.scalar(
        select(Incident).where(Incident.customer_id == customer_id,
                               Incident.status.in_(ACTIVE),
                               Incident.created_at > now - FOLLOW_UP_FOR)
        .order_by(Incident.id.desc()).limit(1).with_for_update())


async def steps_of(session: AsyncSession, incident_id: int) -> Sequence[IncidentStep]:
    return (await session.scalars(
        select(IncidentStep).where(IncidentStep.incident_id == incident_id)
        .order_by(IncidentStep.id))).all()


async def alerted(session: AsyncSession, incident_id: int) -> list[tuple[str, str]]:
    """Who was alerted where, in order, each (staff id, channel) once."""
    seen: dict[tuple[str, str], None] = {}
    for step in await steps_of(session, incident_id):
        if step.action == "alerted":
            seen[(step.staff_id, step.channel)] = None
    return list(seen)


async def latest_for_staff(session: AsyncSession, staff_id: str, now: datetime
                           ) -> Incident | None:
    """The newest open incident this staff member was alerted for."""
    return await session.scalar(
        select(Incident).join(IncidentStep, IncidentStep.incident_id == Incident.id)
        .where(IncidentStep.staff_id == staff_id, IncidentStep.action == "alerted",
               Incident.status == "open", Incident.created_at > now - FOLLOW_UP_FOR)
        .order_by(Incident.id.desc()).limit(1))


async def by_outbound(session: AsyncSession, provider_id: str) -> Incident | None:
    """The incident whose alert a staff member answered (by the provider message id)."""
    if not provider_id:
        return None
    outbox_id = await session.scalar(
        select(OutboxRow.id).where(OutboxRow.provider_id == provider_id))
    if outbox_id is None:
        return None
    return await session.scalar(
        select(Incident).join(IncidentStep, IncidentStep.incident_id == Incident.id)
        .where(IncidentStep.outbox_first <= outbox_id, IncidentStep.outbox_last >= outbox_id)
        .limit(1))


async def last_outbox_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(OutboxRow.id))) or 0)


async def outbox_since(session: AsyncSession, after: int, address: str
                       ) -> tuple[int | None, int | None]:
    row = (await session.execute(
        select(func.min(OutboxRow.id), func.max(OutboxRow.id))
        .where(OutboxRow.id > after, OutboxRow.address == address))).one()
    return row[0], row[1]


REACHED = ("alerted", "details", "acknowledged")


async def reached(session: AsyncSession, incident_id: int, staff_id: str) -> bool:
    """Did the alert of this incident reach `staff_id` (queued to one of their channels)?"""
    if not staff_id:
        return False
    found = await session.scalar(
        select(IncidentStep.id).where(IncidentStep.incident_id == incident_id,
                                      IncidentStep.staff_id == staff_id,
                                      IncidentStep.action.in_(REACHED)).limit(1))
    return found is not None
