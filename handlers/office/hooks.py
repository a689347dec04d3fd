"""Where the office inbox and the admin commands meet the other features.

Other packages (emergency calendar, jobs, incidents, rights) plug in without an import
cycle or a guess at their module layout: their setup `provide`s a function under one of
these typed keys, or `optional()` finds the function by the name agreed in the issue.
Anything missing degrades: no job in the header, no emergency figures, a command that
says the feature is not available.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.context import Context
from werkbot.bot.services import ServiceKey, Services

log = logging.getLogger(__name__)


@runtime_checkable
class OpenAt(Protocol):
    """Is the office open at this (aware) time?"""

    def __call__(self, at: datetime) -> bool: ...


@runtime_checkable
class AwayAnswer(Protocol):
    """Send the away answer (naming the next opening) to the sender of `ctx.event`."""

    async def __call__(self, ctx: Context) -> object: ...


@runtime_checkable
class JobLookup(Protocol):
    """The code of the person's current job (e.g. 'A-1042'), or ''."""

    async def __call__(self, session: AsyncSession, person_id: int) -> str: ...


@runtime_checkable
class JobCounts(Protocol):
    """Messages filed per job code in [start, end)."""

    async def __call__(self, session: AsyncSession, start: datetime,
                       end: datetime) -> dict[str, int]: ...


@runtime_checkable
class IncidentTimes(Protocol):
    """One entry per emergency in [start, end): its acknowledgement time, None if none."""

    async def __call__(self, session: AsyncSession, start: datetime,
                       end: datetime) -> Sequence[timedelta | None]: ...


OPEN_AT = ServiceKey("office.open_at", OpenAt)  # type: ignore[type-abstract]
AWAY_ANSWER = ServiceKey("office.away_answer", AwayAnswer)  # type: ignore[type-abstract]
JOB_LOOKUP = ServiceKey("office.job_lookup", JobLookup)  # type: ignore[type-abstract]
JOB_COUNTS = ServiceKey("office.job_counts", JobCounts)  # type: ignore[type-abstract]
INCIDENT_TIMES = ServiceKey("office.incident_times", IncidentTimes)  # type: ignore[type-abstract]


def provided(services: Services, key: ServiceKey[Any]) -> Any | None:
    """The function another feature provided under `key`, or None."""
    try:
        return services.get(key)
    except (LookupError, TypeError):
        return None


def optional(module: str, name: str) -> Any | None:
    """`module.name` if that feature is installed, else None (logged once per call site)."""
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        found = None
    if found is None:
        log.info("optional feature %s.%s is not available", module, name)
    return found
