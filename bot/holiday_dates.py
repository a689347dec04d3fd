"""Public holidays for `business.holidays` ("DE-BY"), without the `holidays` package in the
server process.

The package with its per-country tables costs megabytes of memory (bench/README.md, "Why
the code is shaped this way"), which a server would carry all its life for a lookup it
answers from a few dozen dates. So the dates are computed in a short-lived child
process, as the database migrations are (`python -m bot.holiday_dates DE-BY 2026 2027`
prints them as JSON), a few years at a time, and kept as a plain mapping. An unknown code
is refused the same way (`UnknownHolidays`), which settings validation reports under
`business.holidays`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from functools import cache
from importlib import metadata
from pathlib import Path

YEARS_BEFORE = 1  # loaded around the first year asked for: "last open day" looks back
YEARS_AFTER = 2  # and "next open day" looks up to 400 days ahead
_ROOT = Path(__file__).resolve().parents[1]
_CODE = re.compile(r"[A-Z]{2,3}(-[A-Z0-9]{1,6})?")  # what may name a cache file


class UnknownHolidays(ValueError):
    """The `holidays` package knows no such country or state."""


class HolidayDates:
    """The holidays of one code ("DE-BY"), by date; years are loaded as they are asked for."""

    def __init__(self, code: str) -> None:
        self.code = code
        self._years: dict[int, dict[date, str]] = {}
        self._unknown = ""  # the child's answer for a code it does not know, kept

    def get(self, day: date) -> str | None:
        """The holiday's name on `day`, or None."""
        if day.year not in self._years:
            self.load_around(day.year)
        return self._years[day.year].get(day)

    def load_around(self, year: int) -> None:
        """Load `year` and the years around it that are not loaded yet."""
        wanted = sorted(set(range(year - YEARS_BEFORE, year + YEARS_AFTER + 1))
                        - set(self._years))
        if not wanted:
            return
        if self._unknown:  # asked once: a child process per question would cost ~0.2 s
            raise UnknownHolidays(self._unknown)
        try:
            found = compute(self.code, wanted)
        except UnknownHolidays as exc:
            self._unknown = str(exc)
            raise
        for year in wanted:
            self._years[year] = {}
        for day, name in found.items():
            self._years.setdefault(day.year, {})[day] = name


@cache
def holiday_dates(code: str) -> HolidayDates:
    """The process's table for `code` (shared: every calendar of a process asks the same)."""
    return HolidayDates(code)


def validate(code: str, year: int) -> None:
    """Raises `UnknownHolidays` for a code the `holidays` package does not know."""
    holiday_dates(code).load_around(year)


def compute(code: str, years: Sequence[int]) -> dict[date, str]:
    """The holidays of `code` in `years`, computed by a child process once per version of
    the `holidays` package: kept in the user's cache directory, so a restart spawns no
    child (~0.5 s of every start otherwise)."""
    kept = _cache_file(code, years)
    with contextlib.suppress(OSError, ValueError):
        if kept is not None and kept.exists():
            return {date.fromisoformat(day): name
                    for day, name in json.loads(kept.read_text(encoding="utf-8")).items()}
    found = _compute_in_child(code, years)
    with contextlib.suppress(OSError):  # a read-only home: computed again next time
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            part = kept.with_suffix(f".{os.getpid()}.tmp")
            part.write_text(json.dumps({d.isoformat(): n for d, n in found.items()}),
                            encoding="utf-8")
            part.replace(kept)
    return found


def _cache_file(code: str, years: Sequence[int]) -> Path | None:
    if not _CODE.fullmatch(code) or not years:
        return None
    try:
        version = metadata.version("holidays")
    except metadata.PackageNotFoundError:
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "werkbot" / f"holidays-{version}-{code}-{min(years)}-{max(years)}.json"


def _compute_in_child(code: str, years: Sequence[int]) -> dict[date, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    # An argument list, no shell: the code from the config is one argv entry.
    done = subprocess.run([sys.executable, "-m", "werkbot.bot.holiday_dates", code,  # noqa: S603
                           *map(str, years)], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    if done.returncode == 2:
        raise UnknownHolidays(done.stderr.strip() or f"unknown country or state {code!r}")
    if done.returncode != 0:
        raise RuntimeError(f"computing the holidays of {code!r} failed: "
                           f"{done.stderr.strip()[-500:]}")
    return {date.fromisoformat(day): name for day, name in json.loads(done.stdout).items()}


def main(argv: Sequence[str]) -> int:
    """Child: print {"YYYY-MM-DD": name} for the code and years given; exit 2 if unknown."""
    import holidays

    code, years = argv[0], [int(y) for y in argv[1:]]
    country, _, subdiv = code.partition("-")
    try:
        table = holidays.country_holidays(country, subdiv=subdiv or None, years=years)
    except NotImplementedError:
        print(f"unknown country or state {code!r}", file=sys.stderr)
        return 2
    print(json.dumps({day.isoformat(): str(name) for day, name in sorted(table.items())}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
