"""Admin and office commands: success, refusal, bad argument and confirmation paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.office.helpers import (
    ANNA,
    BOSS,
    FITTER,
    GROUP_ADDRESS,
    customer,
    harness,
    learn_topics,
    to_group,
)
from werkbot.bot.addresses import Address
from werkbot.bot.events import TextEvent
from werkbot.bot.storage.models import AuditRow, Person
from werkbot.bot.testing import Harness

ERIKA = Address("whatsapp", "+491701111111")
MAX = Address("whatsapp", "+491702222222")
OTTO = Address("sms", "+491703333333")


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as made:
        yield made


async def actions(h: Harness) -> list[tuple[str, str]]:
    async with h.services.db.session() as session:
        return [(a.actor, a.action) for a in (await session.scalars(select(AuditRow))).all()]


async def test_consent_status_shows_channels_and_purposes(h: Harness) -> None:
    erika = await customer(h, ERIKA)
    got = await h.say(BOSS, f"/einwilligung #{erika}")
    assert f"Einwilligungen von #{erika}" in got[0].text
    assert "whatsapp: Anfragen ✓ seit 01.12.2026 10:00 (chat)" in got[0].text
    got = await h.say(BOSS, "/consent +49 170 1111111")  # a bare number finds WhatsApp
    assert "Anfragen ✓" in got[0].text
    assert ("staff:chef", "consent") in await actions(h)


async def test_consent_refused_for_fitter(h: Harness) -> None:
    erika = await customer(h, ERIKA)
    got = await h.say(FITTER, f"/consent #{erika}")
    assert "Berechtigung" in got[0].text
    assert ("staff:karl", "refused:consent") in await actions(h)


@pytest.mark.parametrize(("args", "expected"), [
    ("", "Es fehlt eine Angabe: eine Person"),
    ("#abc", "Ungültige Angabe „#abc“"),
    ("#999", "Keine Person gefunden für „#999“"),
    ("telegram:", "Ungültige Angabe"),
    ("#1 #2", "Ungültige Angabe"),
])
async def test_consent_bad_person(h: Harness, args: str, expected: str) -> None:
    got = await h.say(BOSS, f"/consent {args}".strip())
    assert expected in got[0].text
    assert "/einwilligung <Person>" in got[0].text  # the command's help follows


async def test_consent_link_and_export_through_rights(h: Harness) -> None:
    erika = await customer(h, ERIKA)
    got = await h.say(ANNA, f"/consent link #{erika}")
    assert "https://bot.example.de/" in got[0].text
    got = await h.say(ANNA, "/auskunft whatsapp:+491701111111")
    assert f"Datenauskunft für #{erika}: https://bot.example.de/export/" in got[0].text


async def test_export_refused_and_missing(h: Harness) -> None:
    got = await h.say(FITTER, "/export #1")
    assert "Berechtigung" in got[0].text
    got = await h.say(ANNA, "/export")
    assert "Es fehlt eine Angabe" in got[0].text


async def test_erase_asks_first_then_erases(h: Harness) -> None:
    erika = await customer(h, ERIKA)
    got = await h.say(BOSS, f"/löschen #{erika}")
    assert "bestätigen" in got[0].text
    async with h.services.db.session() as session:
        person = await session.get(Person, erika)
        assert person is not None and person.erased_at is None
    got = await h.say(BOSS, "ja")
    assert f"#{erika} wurden gelöscht" in got[-1].text
    async with h.services.db.session() as session:
        person = await session.get(Person, erika)
        assert person is None or person.erased_at is not None
    assert ("staff:chef", "erase") in await actions(h)


async def test_erase_cancelled_with_no(h: Harness) -> None:
    erika = await customer(h, ERIKA)
    await h.say(BOSS, f"/erase #{erika}")
    got = await h.say(BOSS, "nein")
    assert "Abgebrochen" in got[0].text
    async with h.services.db.session() as session:
        person = await session.get(Person, erika)
        assert person is not None and person.erased_at is None


async def test_erase_refused_for_fitter_and_staff_not_erasable(h: Harness) -> None:
    got = await h.say(FITTER, "/erase #1")
    assert "Berechtigung" in got[0].text
    got = await h.say(BOSS, "/erase telegram:122222222")  # said before any confirmation
    assert [s.reply.kind for s in got] == ["reply"]
    assert "ist ein Mitarbeiter" in got[0].text
    got = await h.say(BOSS, "/erase #999")
    assert got[0].text.startswith("Keine Person gefunden für „#999“.")
    assert "Bitte bestätigen" not in got[0].text


async def test_erase_removes_forwarded_copies(h: Harness) -> None:
    erika = await customer(h, ERIKA)
    await h.say(ERIKA, "Meine Adresse ist Hauptstraße 1")
    await h.say(BOSS, f"/erase #{erika}")
    await h.say(BOSS, "ja")
    from werkbot.bot.storage.models import OutboxRow
    from werkbot.handlers.office.models import Conversation, Forward
    async with h.services.db.session() as session:
        payloads = (await session.scalars(select(OutboxRow.payload))).all()
        assert not any("Hauptstraße" in p for p in payloads)
        assert (await session.scalars(select(Conversation))).all() == []
        assert (await session.scalars(select(Forward))).all() == []


async def test_staff_lists_roles_and_channels(h: Harness) -> None:
    got = await h.say(ANNA, "/mitarbeiter")
    assert "• karl – Karl Berger: Monteur (telegram)" in got[0].text
    assert "• chef – Josef Maier: Chef (whatsapp)" in got[0].text
    got = await h.say(ANNA, "/staff extra")
    assert "erwartet keine Angaben" in got[0].text
    got = await h.say(FITTER, "/staff")
    assert "Berechtigung" in got[0].text


async def test_audit_lists_who_did_what_to_whom_and_when(h: Harness) -> None:
    erika = await customer(h, ERIKA)
    await h.say(ANNA, "/staff")
    await h.say(FITTER, "/stats week")
    await h.say(ANNA, f"/consent #{erika}")
    got = await h.say(BOSS, "/protokoll 5")
    assert got[0].text.splitlines() == [
        "Protokoll, letzte 3 Einträge:",
        "01.12.2026 10:00 · Anna Huber (anna) · /staff · –",
        "01.12.2026 10:00 · Karl Berger (karl) · abgelehnt: /stats · week",
        f"01.12.2026 10:00 · Anna Huber (anna) · /consent · #{erika}"]
    got = await h.say(BOSS, "/audit viele")
    assert "Ungültige Angabe „viele“" in got[0].text
    got = await h.say(BOSS, "/audit 500")
    assert "Ungültige Angabe „500“" in got[0].text
    got = await h.say(ANNA, "/audit")  # the audit log is the boss's
    assert "Berechtigung" in got[0].text


async def test_close_command_by_person(h: Harness) -> None:
    erika = await customer(h, ERIKA)
    got = await h.say(ANNA, f"/close #{erika}")
    assert "kein offenes Gespräch" in got[0].text
    await h.say(ERIKA, "Hallo")
    got = await h.say(ANNA, f"/schliessen #{erika}")
    assert f"Gespräch mit #{erika} beendet" in got[0].text


async def test_stats_refused_and_bad_period(h: Harness) -> None:
    got = await h.say(FITTER, "/stats")
    assert "Berechtigung" in got[0].text
    got = await h.say(BOSS, "/stats gestern")
    assert "Ungültige Angabe „gestern“" in got[0].text
    got = await h.say(BOSS, "/stats 2026-12-05 2026-12-01")
    assert "Ungültige Angabe" in got[0].text
    got = await h.say(BOSS, "/stats 2026-13-01 2026-12-01")
    assert "Ungültige Angabe „2026-13-01“" in got[0].text


async def _office_answer(h: Harness, topic: str, body: str) -> None:
    await h.feed(TextEvent(id=f"telegram:{body}", sender=GROUP_ADDRESS,
                           received_at=h.clock.now(), thread=topic, text=body,
                           raw={"message": {"from": {"id": 133333333}}},
                           actor=Address("telegram", "133333333")))
    await h.run()


async def scenario(h: Harness) -> None:
    """Erika writes twice, Max once, Otto declines; Anna answers after 10 and 30 min."""
    await customer(h, ERIKA, name="Erika")
    await customer(h, MAX, name="Max")
    otto = await customer(h, OTTO, consent=False)
    from werkbot.handlers.consent.ledger import PURPOSES, ConsentLedger
    async with h.services.db.session() as session:
        await ConsentLedger(session, h.services.signer).record(
            person_id=otto, address=OTTO, purposes=PURPOSES, granted=False, text="nein",
            text_version="test", method="chat", evidence="", recorded_by="test",
            now=h.clock.now())
    await h.say(ERIKA, "Heizung kalt")
    await h.say(ERIKA, "Foto folgt")
    await h.say(MAX, "Termin?")
    await learn_topics(h)
    erika_topic, max_topic = to_group(h)[1].reply.thread, to_group(h)[4].reply.thread
    h.clock.advance(timedelta(minutes=10))
    await _office_answer(h, erika_topic, "Wir kommen")
    h.clock.advance(timedelta(minutes=20))
    await _office_answer(h, max_topic, "Donnerstag")


async def test_stats_match_the_scenario(h: Harness) -> None:
    await scenario(h)
    got = await h.say(BOSS, "/statistik heute")
    assert got[0].text.splitlines() == [
        "Statistik 2026-12-01 bis 2026-12-01",
        "Nachrichten rein: telegram 2, whatsapp 4",
        "Nachrichten raus: telegram 5, whatsapp 4 (fehlgeschlagen: 0)",
        "Je Auftrag: 0",
        "Büro-Antworten je Mitarbeiter: anna 2",
        "Gespräche: 2 (beendet: 0), erste Antwort bei 2: Median 20 min, 90 % 30 min",
        "Notfälle: 0 (bestätigt: 0), Bestätigung Median –, 90 % –",
        "Einwilligungen (nur Kunden): 2 ja, 1 nein, 0 widerrufen – Zustimmung 67%, Ablehnung 33%",
    ]


async def test_stats_csv_inline_and_periods(h: Harness) -> None:
    await scenario(h)
    got = await h.say(ANNA, "/stats week csv")
    lines = got[0].text.splitlines()
    assert lines[0] == "section,key,value"
    assert "in,whatsapp,3" in lines and "out,telegram,5" in lines
    assert "staff,anna,2" in lines
    assert "first_response,median_s,1200" in lines and "first_response,p90_s,1800" in lines
    assert "consent,rate,0.67" in lines
    got = await h.say(ANNA, "/stats 2026-11-01 2026-11-30 csv")
    assert "in,whatsapp" not in got[0].text and "conversations,opened,0" in got[0].text
