"""The business calendar: weekly hours with split shifts, public holidays, closures.

One calendar answers "is the office open at this moment?" and "when does it open
next?" for the away answer and the emergency routing. Hours come from `business.hours`
(a missing day is closed, "00:00-24:00" is open all day), holidays from the `holidays`
package for `business.holidays` ("DE-BY"; "" for none; computed in a child process,
`bot/holiday_dates.py`), and company closures from the
`emergency_closures` table that `/hours closed` fills. Times are aware; the weekly hours
are wall-clock times in `business.timezone`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from werkbot.bot.holiday_dates import holiday_dates
from werkbot.bot.settings import WEEKDAYS, BusinessSettings, parse_span
from werkbot.bot.texts import Texts

LOOKAHEAD_DAYS = 400  # beyond a year of closures and holidays nobody waits for an answer
Span = tuple[time, time | None]  # None: until the end of the day


@dataclass(frozen=True)
class ClosedDays:
    """A closure as the calendar needs it: a date range, both ends included."""

    first: date
    last: date
    reason: str = ""


class BusinessCalendar:
    """Opening hours of one business, closures included; pure, so tests need no DB."""

    def __init__(self, business: BusinessSettings, closures: Sequence[ClosedDays] = ()) -> None:
        self.zone = ZoneInfo(business.timezone)
        self.holiday_code = business.holidays
        self.closures = tuple(closures)
        self.week: Mapping[int, tuple[Span, ...]] = {
            WEEKDAYS.index(day): tuple(sorted(parse_span(s) for s in spans))
            for day, spans in business.hours.items()
        }

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def holiday(self, day: date) -> str | None:
        """The holiday's name, or None on an ordinary day."""
        if not self.holiday_code:
            return None
        return holiday_dates(self.holiday_code).get(day)

    def closure(self, day: date) -> ClosedDays | None:
        return next((c for c in self.closures if c.first <= day <= c.last), None)

    def spans(self, day: date) -> tuple[Span, ...]:
        """The day's opening spans: none on holidays and closures."""
        if self.holiday(day) is not None or self.closure(day) is not None:
            return ()
        return self.week.get(day.weekday(), ())

    def is_open(self, at: datetime) -> bool:
        local = self.local(at)
        clock = local.time().replace(tzinfo=None)
        return any(start <= clock and (end is None or clock < end)
                   for start, end in self.spans(local.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        """The first moment at or after `at` when the office is open; None if never."""
        local = self.local(at)
        for offset in range(LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            for start, end in self.spans(day):
                opens = datetime.combine(day, start, tzinfo=self.zone)
                closes = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
                          if end is None else datetime.combine(day, end, tzinfo=self.zone))
                if at < opens:
                    return opens
                if at < closes:
                    return at
        return None


def format_moment(texts: Texts, lang: str, at: datetime) -> str:
    """'Freitag, 28.05., 07:00' / 'Friday, 28 May, 07:00' (contract §6), from the texts."""
    weekdays = texts.raw("emergency.calendar.weekdays", lang)
    months = texts.raw("emergency.calendar.months", lang)
    return texts.get("emergency.calendar.moment", lang, weekday=weekdays[at.weekday()],
                     day=at.day, month=at.month, month_name=months[at.month - 1],
                     time=at.strftime("%H:%M"))


def format_day(texts: Texts, lang: str, day: date) -> str:
    """A date with its weekday, for closures and rota lines."""
    weekdays = texts.raw("emergency.calendar.weekdays", lang)
    months = texts.raw("emergency.calendar.months", lang)
    return texts.get("emergency.calendar.day", lang, weekday=weekdays[day.weekday()],
                     day=day.day, month=day.month, month_name=months[day.month - 1],
                     year=day.year)
