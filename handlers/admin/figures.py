"""Traffic statistics for a period: counts and durations only, never content.

Messages in (inbox rows; a held message released after consent is the same message,
counted once) and out (outbox rows) per channel, messages per job, office
answers per staff member, first-response times of office conversations, emergencies
with their acknowledgement times, and consent outcomes from the ledger
(`consent_figures`: customers only, withdrawals counted). Only real channels: timers and
werkbot's own rows (`system:`) are no channel.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.dispatcher import SYSTEM_CHANNELS
from werkbot.bot.services import Services
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.handlers.admin.consent_figures import consent_counts
from werkbot.handlers.consent.holds import RELEASED_PREFIX
from werkbot.handlers.office.hooks import INCIDENT_TIMES, JOB_COUNTS, optional, provided
from werkbot.handlers.office.models import TO_CUSTOMER, Conversation, Forward

MESSAGE_KINDS = ("TextEvent", "MediaEvent", "LocationEvent", "ContactEvent", "ChoiceEvent",
                 "CommandEvent")
log = logging.getLogger(__name__)
NOT_SENT = ("cancelled",)
FAILED = ("failed", "undelivered")


@dataclass
class Durations:
    """Median and 90th percentile (nearest rank) of some durations, in seconds."""

    count: int = 0
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Durations:
        if not seconds:
            return cls()
        ordered = sorted(seconds)
        return cls(len(ordered), float(statistics.median(ordered)),
                   float(ordered[math.ceil(0.9 * len(ordered)) - 1]))


@dataclass
class Figures:
    start: datetime
    end: datetime
    messages_in: dict[str, int] = field(default_factory=dict)
    messages_out: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    per_job: dict[str, int] = field(default_factory=dict)
    per_staff: dict[str, int] = field(default_factory=dict)
    conversations: int = 0
    closed: int = 0
    first_response: Durations = field(default_factory=Durations)
    emergencies: int = 0
    acknowledged: int = 0
    ack_time: Durations = field(default_factory=Durations)
    consented: int = 0
    declined: int = 0
    withdrawn: int = 0

    @property
    def consent_rate(self) -> float | None:
        """Of the customers' answers to a consent request, the share that said yes."""
        asked = self.consented + self.declined
        return self.consented / asked if asked else None

    @property
    def decline_rate(self) -> float | None:
        asked = self.consented + self.declined
        return self.declined / asked if asked else None


async def collect(session: AsyncSession, services: Services, start: datetime,
                  end: datetime) -> Figures:
    figures = Figures(start, end)
    figures.messages_in = await _per_channel(session, select(InboxRow.sender, func.count())
                                             .where(InboxRow.kind.in_(MESSAGE_KINDS),
                                                    ~InboxRow.dedup_key.startswith(
                                                        RELEASED_PREFIX),
                                                    *_within(InboxRow.created_at, start, end))
                                             .group_by(InboxRow.sender))
    out = (select(OutboxRow.address, func.count())
           .where(*_within(OutboxRow.created_at, start, end)).group_by(OutboxRow.address))
    figures.messages_out = await _per_channel(
        session, out.where(OutboxRow.status.not_in(NOT_SENT)))
    figures.failed = await _per_channel(session, out.where(OutboxRow.status.in_(FAILED)))
    figures.per_job = await _per_job(session, services, start, end)
    staff = await session.execute(
        select(Forward.staff_id, func.count()).where(
            Forward.direction == TO_CUSTOMER, *_within(Forward.created_at, start, end))
        .group_by(Forward.staff_id))
    figures.per_staff = {str(k): int(v) for k, v in staff.all()}
    await _conversations(session, figures)
    await _emergencies(session, services, figures)
    await _consents(session, figures)
    return figures


def _within(column: Any, start: datetime, end: datetime
            ) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return column >= start, column < end


async def _per_channel(session: AsyncSession, query: object) -> dict[str, int]:
    """Counts per channel of the address; timers and werkbot's own rows are no channel."""
    counts: Counter[str] = Counter()
    for address, count in (await session.execute(query)).all():  # type: ignore[call-overload]
        channel = str(address).split(":", 1)[0]
        if channel not in SYSTEM_CHANNELS:
            counts[channel] += int(count)
    return dict(sorted(counts.items()))


async def _per_job(session: AsyncSession, services: Services, start: datetime,
                   end: datetime) -> dict[str, int]:
    hook = provided(services, JOB_COUNTS)
    if hook is not None:
        return dict(await hook(session, start, end))
    job = optional("werkbot.handlers.jobs.models", "Job")
    media = optional("werkbot.handlers.jobs.models", "JobMedia")
    if job is None or media is None:
        return {}
    rows = await _optional_table(session,
        select(job.code, func.count(media.id)).join(media, media.job_id == job.id)
        .where(*_within(media.created_at, start, end)).group_by(job.code))
    return {str(code): int(count) for code, count in sorted(rows)}


async def _optional_table(session: AsyncSession, query: Any) -> list[Any]:
    """Rows of another feature's table; none if its table is not there (savepoint)."""
    try:
        async with session.begin_nested():
            return list((await session.execute(query)).all())
    except SQLAlchemyError:
        log.warning("statistics: a feature's table is missing; its figures are left out")
        return []


async def _conversations(session: AsyncSession, figures: Figures) -> None:
    convs = (await session.scalars(select(Conversation).where(
        *_within(Conversation.first_message_at, figures.start, figures.end)))).all()
    figures.conversations = len(convs)
    figures.closed = sum(1 for c in convs if c.closed_at is not None)
    figures.first_response = Durations.of([
        (c.first_response_at - c.first_message_at).total_seconds()
        for c in convs if c.first_response_at is not None])


async def _emergencies(session: AsyncSession, services: Services, figures: Figures) -> None:
    hook = provided(services, INCIDENT_TIMES)
    times: list[timedelta | None]
    if hook is not None:
        times = list(await hook(session, figures.start, figures.end))
    else:
        incident = optional("werkbot.handlers.emergency.models", "Incident")
        if incident is None:
            return
        rows = await _optional_table(session, select(incident.created_at, incident.acked_at)
                                     .where(*_within(incident.created_at, figures.start,
                                                     figures.end)))
        times = [acked - created if acked else None for created, acked in rows]
    figures.emergencies = len(times)
    acked = [t.total_seconds() for t in times if t is not None]
    figures.acknowledged = len(acked)
    figures.ack_time = Durations.of(acked)


async def _consents(session: AsyncSession, figures: Figures) -> None:
    counts = await consent_counts(session, figures.start, figures.end)
    figures.consented, figures.declined = counts.consented, counts.declined
    figures.withdrawn = counts.withdrawn
