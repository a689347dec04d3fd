"""`/oncall`, `/hours`, `/incident` and the away answer, through the harness."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.emergency.conftest import (
    ANNA_TG,
    CHEF,
    CUSTOMERS,
    KARL_TG,
    LUDWIG_TG,
    give_consent,
    harness_for,
    local,
    settings_for,
)
from werkbot.bot.addresses import Address
from werkbot.bot.testing import Harness, offered


async def test_oncall_override_until_the_next_hand_over(tmp_path: Path) -> None:
    async with harness_for(settings_for(tmp_path), local(2026, 12, 3, 20, 0)) as h:
        got = await h.say(ANNA_TG, "/oncall karl")
        assert got[-1].text == "Karl Berger hat jetzt Bereitschaft bis Montag, 07.12., 07:00."
        assert "Bereitschaft bis" in h.adapter("telegram").to(KARL_TG)[-1].text
        shown = (await h.say(CHEF, "/bereitschaft"))[-1].text
        assert "Bereitschaft jetzt: Karl Berger" in shown
        await give_consent(h, CUSTOMERS["sms"])
        got = await h.say(CUSTOMERS["sms"], "notfall")
        assert "Karl Berger" in got[-1].text
        h.clock.set(local(2026, 12, 14, 6, 59))
        assert "jetzt: Karl Berger" in (await h.say(ANNA_TG, "/oncall"))[-1].text
        h.clock.set(local(2026, 12, 14, 7, 0))
        assert "jetzt: Ludwig Maier" in (await h.say(ANNA_TG, "/oncall"))[-1].text


async def test_oncall_until_swap_and_clear(h: Harness) -> None:
    got = await h.say(ANNA_TG, "/oncall chef bis 2026-12-06 18:00")
    assert "bis Sonntag, 06.12., 18:00" in got[-1].text
    assert "jetzt: Josef Maier" in (await h.say(ANNA_TG, "/oncall"))[-1].text
    got = await h.say(ANNA_TG, "/oncall clear")
    assert "1 Vertretung" in got[-1].text
    got = await h.say(ANNA_TG, "/oncall tausch ludwig karl")
    assert "Getauscht" in got[-1].text
    assert "jetzt: Karl Berger" in (await h.say(ANNA_TG, "/oncall"))[-1].text
    h.clock.set(local(2026, 12, 8, 12, 0))
    assert "jetzt: Ludwig Maier" in (await h.say(ANNA_TG, "/oncall"))[-1].text


async def test_oncall_bad_arguments_and_roles(h: Harness) -> None:
    got = await h.say(ANNA_TG, "/oncall sepp")
    assert "Unbekannte Mitarbeiter-ID: sepp" in got[-1].text
    got = await h.say(ANNA_TG, "/oncall karl bis morgen")
    assert "kein Datum" in got[-1].text
    got = await h.say(ANNA_TG, "/oncall karl bis 2026-01-01")
    assert "Vergangenheit" in got[-1].text
    got = await h.say(KARL_TG, "/oncall karl")
    assert "Berechtigung" in got[-1].text


async def test_hours_closures(h: Harness) -> None:
    got = await h.say(ANNA_TG, "/hours geschlossen 2026-12-28 2027-01-05 Betriebsurlaub")
    assert "Betriebsurlaub eingetragen" in got[-1].text
    shown = (await h.say(ANNA_TG, "/hours"))[-1].text
    assert "Montag: 07:30-12:00, 13:00-16:30" in shown and "Samstag: geschlossen" in shown
    assert "Montag, 28.12.2026 – Dienstag, 05.01.2027 Betriebsurlaub" in shown
    got = await h.say(ANNA_TG, "/hours offen 2026-12-30")
    assert "normaler Tag" in got[-1].text
    shown = (await h.say(ANNA_TG, "/hours"))[-1].text
    assert "Dienstag, 29.12.2026" in shown and "Donnerstag, 31.12.2026" in shown
    got = await h.say(ANNA_TG, "/hours geschlossen 2026-13-01")
    assert "kein Datum" in got[-1].text


async def test_away_answer_once_per_closed_period(h: Harness) -> None:
    customer = CUSTOMERS["whatsapp"]
    await give_consent(h, customer)
    got = await h.say(customer, "Guten Tag, mein Wasserhahn tropft")
    assert len(got) == 1 and got[0].reply.kind == "away"
    assert "wieder da am Montag, 07.12., 07:30" in got[0].text
    assert offered(got[0].reply) == ["🚨 Notfall"]
    got = await h.say(customer, "Und die Dusche auch")
    assert [s.reply.kind for s in got] == ["office_ack"]  # no second away answer
    h.clock.set(local(2026, 12, 7, 17, 0))
    got = await h.say(customer, "Noch jemand da?")
    assert "Dienstag, 08.12., 07:30" in got[0].text


async def test_away_answer_in_english(h: Harness) -> None:
    customer = CUSTOMERS["telegram"]
    await give_consent(h, customer)
    await h.say(customer, "help")  # the menu switches the person to English
    got = await h.say(customer, "my tap is dripping")
    assert "we are back on Monday, 7 December, 07:30" in got[0].text


async def test_incident_timeline(h: Harness) -> None:
    await give_consent(h, CUSTOMERS["sms"])
    await h.say(CUSTOMERS["sms"], "Stromausfall")
    await h.advance(timedelta(minutes=10))
    await h.say(LUDWIG_TG, "ok")
    listing = (await h.say(CHEF, "/oncall incidents"))[-1].text
    assert "#1" in listing and "übernommen Ludwig Maier" in listing
    timeline = (await h.say(CHEF, "/incident 1"))[-1].text
    # issue 21: a timeline a boss reads, not jargon
    assert timeline.splitlines() == [
        "Notfall #1 – 05.12. 02:00, Bereitschaft – jetzt: übernommen",
        "02:00  Kunde meldet den Notfall über SMS.",
        "02:00  Ludwig Maier alarmiert über Telegram.",
        "02:10  Nach 10 Minuten hat niemand übernommen: weiter an die nächste Stufe.",
        "02:10  Ludwig Maier alarmiert über WhatsApp.",
        "02:10  Kunde informiert: wir erreichen noch jemanden.",
        "02:10  Ludwig Maier hat übernommen (Telegram), 10 Minuten nach Eingang.",
    ]
    assert "Stromausfall" not in timeline  # content stays out of the timeline
    got = await h.say(CHEF, "/incident 1 erledigt")
    assert "abgeschlossen" in got[-1].text
    got = await h.say(CHEF, "/incident 99")
    assert "keinen Notfall #99" in got[-1].text
    got = await h.say(Address("telegram", "122222222"), "/incident 1")
    assert "Berechtigung" in got[-1].text
    assert h.adapter("telegram").to(LUDWIG_TG)
