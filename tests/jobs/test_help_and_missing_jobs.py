"""Issue 21: a fitter's `/hilfe` lists only what a fitter may use, and a command on a job
that does not exist says so at once, before any confirmation is asked."""

from __future__ import annotations

import re

from tests.jobs.conftest import ANNA, CHEF, KARL, job
from werkbot.bot.testing import Harness


async def test_a_fitters_help_lists_no_command_he_is_refused(h: Harness) -> None:
    code = await job(h, "Heizung entlüften")
    got = await h.say(KARL, "/hilfe")
    help_text = got[0].text
    assert "/auftrag zeige" in help_text and "/auftrag senden" in help_text
    listed = set(re.findall(r"/auftrag (\w+)", help_text))
    assert listed == {"zeige", "liste", "bericht", "unterschrift", "senden"}
    for action in sorted(listed - {"unterschrift"}):  # each listed one he may really use
        answer = (await h.say(KARL, f"/auftrag {action} {code}"))[0].text
        assert "dürfen nur" not in answer and "Berechtigung" not in answer, action
    assert "dürfen nur" in (await h.say(KARL, f"/auftrag abschliessen {code}"))[0].text
    office_help = (await h.say(ANNA, "/hilfe"))[0].text
    assert "/auftrag neu" in office_help and "/auftrag abschliessen" in office_help


async def test_closing_a_job_that_does_not_exist_says_so_without_asking(h: Harness) -> None:
    got = await h.say(CHEF, "/auftrag abschliessen A-9999")
    assert [s.reply.kind for s in got] == ["reply"]  # no confirmation buttons
    assert got[0].text.startswith("Einen offenen Auftrag #A-9999 finde ich nicht.")
    got = await h.say(CHEF, "ja")  # nothing pending: a plain 'ja' confirms nothing
    assert "Auftrag" not in got[0].text or "abgeschlossen" not in got[0].text


async def test_closing_an_existing_job_still_asks_first(h: Harness) -> None:
    code = await job(h, "Wasserhahn")
    got = await h.say(CHEF, f"/auftrag abschliessen {code}")
    # asked back in the words the sender used, not the English command names
    question, _ = got[0].text.split("\n\n", 1)  # then the numbered choices
    assert question == f"Bitte bestätigen: /auftrag abschliessen {code} – wirklich ausführen?"
    got = await h.say(CHEF, "nein")
    got = await h.say(CHEF, f"/job close {code}")
    assert "Bitte bestätigen: /job close" in got[0].text
    got = await h.say(CHEF, "ja")
    assert f"Auftrag #{code} ist abgeschlossen." in got[0].text
