"""Holidays come from a child process, a few years at a time, and cover any year asked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

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


def test_dates_computed_once_are_kept_so_a_restart_spawns_no_child(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import werkbot.bot.holiday_dates as module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = compute("DE-BY", [2026, 2027])

    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("a child process was started")

    monkeypatch.setattr(module.subprocess, "run", no_child)
    assert compute("DE-BY", [2026, 2027]) == first
    assert first[date(2026, 1, 6)]  # Epiphany
