"""The business calendar: holidays, split shifts, closures and the next-opening text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from tests.emergency.conftest import BUSINESS, local
from werkbot.bot.settings import BusinessSettings
from werkbot.bot.texts import Texts
from werkbot.handlers.emergency.calendar import BusinessCalendar, ClosedDays, format_moment

TEXTS = Texts.load(Path(__file__).resolve().parents[2] / "config" / "texts")
HOURS = BusinessSettings(holidays="DE-BY", hours=BUSINESS["hours"])


def opening_text(calendar: BusinessCalendar, lang: str, *at: int) -> str:
    opens = calendar.next_opening(local(*at))
    assert opens is not None
    return format_moment(TEXTS, lang, calendar.local(opens))


def test_a_public_holiday_counts_as_closed() -> None:
    calendar = BusinessCalendar(HOURS)
    assert calendar.holiday(date(2026, 12, 25)) is not None
    assert not calendar.is_open(local(2026, 12, 25, 10, 0))  # Christmas Day, a Friday
    assert calendar.is_open(local(2026, 12, 18, 10, 0))  # the Friday before
    assert not calendar.is_open(local(2027, 1, 6, 10, 0))  # Epiphany: Bavaria only
    without = BusinessCalendar(replace(HOURS, holidays=""))
    assert without.is_open(local(2026, 12, 25, 10, 0))


def test_split_shifts() -> None:
    calendar = BusinessCalendar(BusinessSettings(
        holidays="", hours={"wed": ["08:00-12:00", "13:00-17:00"]}))
    assert calendar.is_open(local(2026, 12, 2, 11, 0))
    assert not calendar.is_open(local(2026, 12, 2, 12, 30))
    assert calendar.is_open(local(2026, 12, 2, 13, 30))
    assert not calendar.is_open(local(2026, 12, 2, 12, 0))  # the end is exclusive
    assert calendar.next_opening(local(2026, 12, 2, 12, 30)) == local(2026, 12, 2, 13, 0)
    assert not calendar.is_open(local(2026, 12, 3, 11, 0))  # a missing day is closed


def test_open_all_day() -> None:
    calendar = BusinessCalendar(BusinessSettings(
        holidays="", hours={"sat": ["00:00-24:00"], "sun": ["00:00-24:00"]}))
    assert calendar.is_open(local(2026, 12, 5, 0, 0))
    assert calendar.is_open(local(2026, 12, 5, 23, 59))
    assert calendar.is_open(local(2026, 12, 6, 12, 0))
    assert not calendar.is_open(local(2026, 12, 7, 12, 0))
    assert calendar.next_opening(local(2026, 12, 4, 20, 0)) == local(2026, 12, 5, 0, 0)


@pytest.mark.parametrize(("lang", "expected"), [
    ("de", "Montag, 07.12., 07:30"),
    ("en", "Monday, 7 December, 07:30"),
])
def test_next_opening_across_a_weekend(lang: str, expected: str) -> None:
    calendar = BusinessCalendar(HOURS)
    assert opening_text(calendar, lang, 2026, 12, 4, 12, 0) == expected  # Friday noon
    assert opening_text(calendar, lang, 2026, 12, 5, 2, 0) == expected  # Saturday night


@pytest.mark.parametrize(("lang", "expected"), [
    ("de", "Donnerstag, 07.01., 07:30"),
    ("en", "Thursday, 7 January, 07:30"),
])
def test_next_opening_across_a_holiday(lang: str, expected: str) -> None:
    calendar = BusinessCalendar(HOURS)
    assert opening_text(calendar, lang, 2027, 1, 5, 17, 0) == expected  # Tue before Epiphany


def test_next_opening_across_christmas_and_a_company_closure() -> None:
    calendar = BusinessCalendar(HOURS)
    assert opening_text(calendar, "de", 2026, 12, 24, 17, 0) == "Montag, 28.12., 07:30"
    closed = BusinessCalendar(HOURS, [ClosedDays(date(2026, 12, 28), date(2027, 1, 5))])
    assert not closed.is_open(local(2026, 12, 29, 10, 0))
    assert opening_text(closed, "de", 2026, 12, 24, 17, 0) == "Donnerstag, 07.01., 07:30"
    assert opening_text(closed, "en", 2026, 12, 24, 17, 0) == "Thursday, 7 January, 07:30"


def test_the_contract_format_example() -> None:
    calendar = BusinessCalendar(BusinessSettings(holidays="DE-BY", hours={"fri": ["07:00-12:00"]}))
    assert opening_text(calendar, "de", 2027, 5, 27, 20, 0) == "Freitag, 28.05., 07:00"
    assert opening_text(calendar, "en", 2027, 5, 27, 20, 0) == "Friday, 28 May, 07:00"


def test_no_hours_means_no_next_opening() -> None:
    assert BusinessCalendar(BusinessSettings(holidays="")).next_opening(
        local(2026, 12, 2, 10, 0)) is None
