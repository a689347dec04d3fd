"""mypy checks router registrations: a handler must accept every kind it is registered for.

Runs mypy (strict) over a small module against the installed `werkbot`, so a wrong event
parameter is caught before the bot runs, not when the first such event arrives.
"""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

SNIPPET = '''
from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, Event, MediaEvent, TextEvent, TimerEvent
from werkbot.bot.router import Router, timer

router = Router("typing")


@router.on(TextEvent)
async def one_kind(event: TextEvent, ctx: Context) -> None: ...


@router.on((TextEvent, ChoiceEvent))
async def their_union(event: TextEvent | ChoiceEvent, ctx: Context) -> None: ...


@router.on((TextEvent, ChoiceEvent, MediaEvent))
async def the_base(event: Event, ctx: Context) -> None: ...


@router.on(TimerEvent, timer("jobs.batch"))
async def a_timer(event: TimerEvent, ctx: Context) -> None: ...


@router.on((TextEvent, ChoiceEvent))
async def too_narrow(event: TextEvent, ctx: Context) -> None: ...  # BAD


@router.on(TimerEvent, timer("jobs.batch"))
async def wrong_kind(event: TextEvent, ctx: Context) -> None: ...  # BAD
'''


def test_mypy_reports_handlers_that_do_not_take_what_they_are_registered_for(
        tmp_path: Path) -> None:
    module = tmp_path / "registrations.py"
    module.write_text(SNIPPET)
    bad = {n for n, line in enumerate(SNIPPET.splitlines(), 1) if line.endswith("# BAD")}

    out, err, status = api.run(["--strict", "--no-error-summary", "--cache-dir",
                                str(tmp_path / "cache"), str(module)])

    reported = {int(m.group(1)) for m in re.finditer(r"registrations\.py:(\d+): error", out)}
    # the decorator line is reported for the handler below it
    assert reported == {n - 1 for n in bad}, out + err
    assert status == 1
