"""Holidays come from a child process, a few years at a time, and cover any year asked."""

from __future__ import annotations

from datetime import date

import pytest

from bot.holiday_dates import HolidayDates, UnknownHolidays, compute


def test_bavarian_holidays_by_date_across_years_loaded_on_demand() -> None:
    table = HolidayDates("DE-BY")
    assert table.get(date(2026, 1, 6))  # Epiphany: Bavaria, not Berlin
    assert table.get(date(2026, 1, 7)) is None
    assert table.get(date(2041, 10, 3))  # far beyond the first load: loaded when asked
    assert HolidayDates("DE-BE").get(date(2026, 1, 6)) is None


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(UnknownHolidays):
        compute("DE-XX", [2026])
