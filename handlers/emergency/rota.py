"""The on-call rota: who is on call at a moment, from the config plus overrides.

`oncall.rotation` hands over weekly at `oncall.handover` (local time in
`business.timezone`): the first id is on call from the first hand-over on or after
`oncall.rotation_start`, then the next id each week, round and round (before that date
the same cycle runs backwards, so there is always an answer). Overrides from `/oncall`
(stored in `emergency_oncall_overrides`) cover a time span; the newest one covering a
moment wins. A swap is two overrides: each person takes the other's next week.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from werkbot.bot.settings import WEEKDAYS, Settings

DEFAULT_START = date(2024, 1, 1)  # any fixed date works: only the weekly phase matters
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Cover:
    """An override: `staff_id` on call in [starts_at, ends_at)."""

    id: int
    staff_id: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Period:
    """One rota week: who the config puts on call, from one hand-over to the next."""

    index: int
    staff_id: str | None
    starts_at: datetime
    ends_at: datetime


class Rota:
    """Pure rota arithmetic over the settings and a list of overrides."""

    def __init__(self, settings: Settings, covers: Sequence[Cover] = ()) -> None:
        oncall = settings.oncall
        self.zone = ZoneInfo(settings.business.timezone)
        self.rotation = list(oncall.rotation)
        day, _, clock = oncall.handover.partition(" ")
        self.handover_day = WEEKDAYS.index(day)
        hours, minutes = (int(part) for part in clock.split(":"))
        self.handover_time = time(hours, minutes)
        start = date.fromisoformat(oncall.rotation_start) if oncall.rotation_start else (
            DEFAULT_START)
        self.anchor = start + timedelta(days=(self.handover_day - start.weekday()) % 7)
        self.covers = tuple(covers)

    def _handover_on(self, day: date) -> datetime:
        return datetime.combine(day, self.handover_time, tzinfo=self.zone)

    def period(self, at: datetime) -> Period:
        """The rota week containing `at`."""
        local = at.astimezone(self.zone)
        day = local.date() - timedelta(days=(local.weekday() - self.handover_day) % 7)
        if self._handover_on(day) > local:
            day -= WEEK
        return self.period_by_index((day - self.anchor).days // 7)

    def period_by_index(self, index: int) -> Period:
        day = self.anchor + timedelta(days=7 * index)
        staff = self.rotation[index % len(self.rotation)] if self.rotation else None
        return Period(index, staff, self._handover_on(day), self._handover_on(day + WEEK))

    def cover(self, at: datetime) -> Cover | None:
        found = [c for c in self.covers if c.starts_at <= at < c.ends_at]
        return max(found, key=lambda c: c.id, default=None)

    def on_call(self, at: datetime) -> str | None:
        """The staff id on call at `at`, overrides included; None with an empty rota."""
        cover = self.cover(at)
        return cover.staff_id if cover else self.period(at).staff_id

    def next_change(self, at: datetime) -> datetime:
        """The next moment after `at` at which who is on call may change."""
        edges = [self.period(at).ends_at]
        edges += [t for c in self.covers for t in (c.starts_at, c.ends_at) if t > at]
        return min(edges)

    def first_period_of(self, staff_id: str, at: datetime) -> Period | None:
        """The first rota week, from the one containing `at`, that the config gives `staff_id`."""
        current = self.period(at).index
        for index in range(current, current + len(self.rotation)):
            period = self.period_by_index(index)
            if period.staff_id == staff_id:
                return period
        return None
