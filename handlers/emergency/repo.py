"""The emergency feature's storage: incidents and their timelines, closures, rota overrides.

`IncidentsRepo` and `ScheduleRepo` take the caller's transaction (`ctx.repo(IncidentsRepo)`
in a handler, the web page's or timer's own session elsewhere) and hold every query the
feature makes; the rules (escalation plans, the calendar, the rota) stay beside them as
plain code that reads no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.settings import BusinessSettings, Settings
from werkbot.bot.storage.models import AddressRow, InboxRow, OutboxRow
from werkbot.handlers.emergency.calendar import BusinessCalendar, ClosedDays
from werkbot.handlers.emergency.incidents import ACTIVE, FOLLOW_UP_FOR
from werkbot.handlers.emergency.models import Closure, Incident, IncidentStep, OncallOverride
from werkbot.handlers.emergency.rota import Cover, Rota

REACHED = ("alerted", "details", "acknowledged")


class IncidentsRepo:
    """Incidents, their steps, and the outbox and inbox rows they point at."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, incident: Incident) -> Incident:
        """Store a new incident (its id is known afterwards)."""
        self.session.add(incident)
        await self.session.flush()
        return incident

    async def add_step(self, incident: Incident, action: str, now: datetime, *,
                       staff: str = "", channel: str = "", detail: str = "",
                       outbox: tuple[int | None, int | None] = (None, None)) -> None:
        self.session.add(IncidentStep(incident_id=incident.id, at=now, action=action,
                                      staff_id=staff, channel=channel, detail=detail[:200],
                                      outbox_first=outbox[0], outbox_last=outbox[1]))
        await self.session.flush()

    async def lock(self, incident_id: int) -> Incident | None:
        """The incident, locked so an acknowledgement and an escalation cannot interleave."""
        return await self.session.scalar(
            select(Incident).where(Incident.id == incident_id).with_for_update())

    async def active_of(self, customer_id: int, now: datetime) -> Incident | None:
        """The customer's newest incident still taking follow-ups."""
        return await self.session.scalar(
            select(Incident).where(Incident.customer_id == customer_id,
                                   Incident.status.in_(ACTIVE),
                                   Incident.created_at > now - FOLLOW_UP_FOR)
            .order_by(Incident.id.desc()).limit(1).with_for_update())

    async def newest(self, limit: int) -> Sequence[Incident]:
        return (await self.session.scalars(
            select(Incident).order_by(Incident.id.desc()).limit(limit))).all()

    async def steps_of(self, incident_id: int) -> Sequence[IncidentStep]:
        return (await self.session.scalars(
            select(IncidentStep).where(IncidentStep.incident_id == incident_id)
            .order_by(IncidentStep.id))).all()

    async def alerted(self, incident_id: int) -> list[tuple[str, str]]:
        """Who was alerted where, in order, each (staff id, channel) once."""
        seen: dict[tuple[str, str], None] = {}
        for step in await self.steps_of(incident_id):
            if step.action == "alerted":
                seen[(step.staff_id, step.channel)] = None
        return list(seen)

    async def latest_for_staff(self, staff_id: str, now: datetime) -> Incident | None:
        """The newest open incident this staff member was alerted for."""
        return await self.session.scalar(
            select(Incident).join(IncidentStep, IncidentStep.incident_id == Incident.id)
            .where(IncidentStep.staff_id == staff_id, IncidentStep.action == "alerted",
                   Incident.status == "open", Incident.created_at > now - FOLLOW_UP_FOR)
            .order_by(Incident.id.desc()).limit(1))

    async def by_outbound(self, provider_id: str) -> Incident | None:
        """The incident whose alert a staff member answered (by the provider message id)."""
        if not provider_id:
            return None
        outbox_id = await self.session.scalar(
            select(OutboxRow.id).where(OutboxRow.provider_id == provider_id))
        if outbox_id is None:
            return None
        return await self.session.scalar(
            select(Incident).join(IncidentStep, IncidentStep.incident_id == Incident.id)
            .where(IncidentStep.outbox_first <= outbox_id,
                   IncidentStep.outbox_last >= outbox_id)
            .limit(1))

    async def last_outbox_id(self) -> int:
        return int(await self.session.scalar(select(func.max(OutboxRow.id))) or 0)

    async def outbox_since(self, after: int, address: str) -> tuple[int | None, int | None]:
        """The first and last outbox row queued for `address` after row `after`."""
        row = (await self.session.execute(
            select(func.min(OutboxRow.id), func.max(OutboxRow.id))
            .where(OutboxRow.id > after, OutboxRow.address == address))).one()
        return row[0], row[1]

    async def reached(self, incident_id: int, staff_id: str) -> bool:
        """Did the alert of this incident reach `staff_id` (queued to one of their channels)?"""
        if not staff_id:
            return False
        found = await self.session.scalar(
            select(IncidentStep.id).where(IncidentStep.incident_id == incident_id,
                                          IncidentStep.staff_id == staff_id,
                                          IncidentStep.action.in_(REACHED)).limit(1))
        return found is not None

    async def inbox_rows(self, ids: Sequence[int]) -> Sequence[InboxRow]:
        """The stored messages of an incident, in the order they came."""
        return (await self.session.scalars(
            select(InboxRow).where(InboxRow.id.in_(ids)).order_by(InboxRow.id))).all()

    async def window_until(self, address: str) -> datetime | None:
        """Until when the address's free-form window (WhatsApp's 24 hours) is open."""
        return await self.session.scalar(
            select(AddressRow.window_until).where(AddressRow.address == address))


class ScheduleRepo:
    """Company closures and on-call overrides, and the calendar and rota built from them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def calendar(self, business: BusinessSettings,
                       today: date | None = None) -> BusinessCalendar:
        """The calendar with the closures stored in the database (past ones left out)."""
        query = select(Closure).order_by(Closure.first)
        if today is not None:
            query = query.where(Closure.last >= today)
        rows = (await self.session.scalars(query)).all()
        return BusinessCalendar(business, [ClosedDays(r.first, r.last, r.reason) for r in rows])

    async def add_closure(self, closure: Closure) -> None:
        self.session.add(closure)
        await self.session.flush()

    async def closures_on(self, day: date) -> Sequence[Closure]:
        return (await self.session.scalars(
            select(Closure).where(Closure.first <= day, Closure.last >= day))).all()

    async def remove_closure(self, closure: Closure) -> None:
        await self.session.delete(closure)

    async def rota(self, settings: Settings, now: datetime) -> Rota:
        """The rota with the overrides still in force or to come."""
        rows = await self.overrides_from(now)
        return Rota(settings, [Cover(r.id, r.staff_id, r.starts_at, r.ends_at) for r in rows])

    async def overrides_from(self, now: datetime) -> Sequence[OncallOverride]:
        """Overrides not cancelled that end after `now` (in force or to come)."""
        return (await self.session.scalars(
            select(OncallOverride).where(OncallOverride.cancelled_at.is_(None),
                                         OncallOverride.ends_at > now))).all()

    async def add_override(self, override: OncallOverride) -> None:
        self.session.add(override)
        await self.session.flush()
