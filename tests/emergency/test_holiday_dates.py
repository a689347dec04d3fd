"""Holidays come from a child process, a few years at a time, and cover any year asked."""

from __future__ import annotations

from datetime import date

import pytest

from werkbot.bot.holiday_dates import HolidayDates, UnknownHolidays, compute


def test_bavarian_holidays_by_date_across_years_loaded_on_demand() -> None:
    table = HolidayDates("DE-BY")
    assert table.get(date(2026, 1, 6))  # Epiphany: Bavaria, not Berlin
    assert table.get(date(2026, 1, 7)) is None
    assert table.get(date(2041, 10, 3))  # far beyond the first load: loaded when asked
    assert HolidayDates("DE-BE").get(date(2026, 1, 6)) is None


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(UnknownHolidays):
        compute("DE-XX", [2026])


def test_an_unknown_state_is_asked_of_a_child_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import werkbot.bot.holiday_dates as module

    asked: list[str] = []
    real = module.compute

    def counting(code: str, years: list[int]) -> dict[date, str]:
        asked.append(code)
        return real(code, years)

    monkeypatch.setattr(module, "compute", counting)
    table = HolidayDates("DE-XX")
    for year in (2026, 2026, 2040):
        with pytest.raises(UnknownHolidays, match="DE-XX"):
            table.load_around(year)
    assert asked == ["DE-XX"]
