"""Issue 21: the emergency customer is never left alone.

The customer hears at each escalation step that werkbot is still reaching someone, and
who is coming (with their number) once somebody acknowledges; only a staff member the
alert reached can acknowledge; the safety advice and the call to action agree; an alert
goes at once to a channel that can deliver it now; durations read as people say them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.emergency.conftest import (
    CHEF,
    CUSTOMERS,
    KARL_TG,
    LUDWIG_TG,
    SATURDAY_NIGHT,
    STAFF,
    give_consent,
    harness_for,
    settings_for,
)
from werkbot.bot.addresses import Address
from werkbot.bot.replies import ChoicesReply, TemplateReply
from werkbot.bot.testing import Harness, Sent, choice
from werkbot.handlers.emergency.durations import spoken
from werkbot.handlers.emergency.models import IncidentStep

TEN = timedelta(minutes=10)


def to(h: Harness, address: Address) -> list[Sent]:
    return h.adapter(address.channel).to(address)


async def test_the_customer_hears_each_step_and_who_is_coming(h: Harness) -> None:
    customer = CUSTOMERS["whatsapp"]
    await give_consent(h, customer)
    got = await h.say(customer, "Notfall, Heizung ausgefallen")
    await h.advance(TEN)  # Ludwig on his other channel
    first = to(h, customer)[len(got):]
    assert [s.text for s in first] == [
        "⏳ Ludwig Maier hat sich noch nicht gemeldet. Wir versuchen es weiter auf einem "
        "anderen Weg und melden uns, sobald jemand übernommen hat.\n"
        "Sie können auch selbst anrufen: +49 171 1111111 (tel:+491711111111). "
        "Bei Gefahr für Leib und Leben: 112."]
    await h.advance(TEN)  # the boss
    second = to(h, customer)[len(got) + 1:]
    assert len(second) == 1
    assert second[0].text.startswith("⏳ Ludwig Maier hat sich noch nicht gemeldet. "
                                     "Wir erreichen jetzt Josef Maier")
    assert "tel:+49891234567" in second[0].text  # the boss has no phone of his own: the office
    await h.say(CHEF, "ok")
    coming = to(h, customer)[-1]
    assert coming.reply.kind == "emergency_update"
    assert coming.text == (
        "✅ Josef Maier hat Ihren Notfall übernommen und meldet sich gleich bei Ihnen.\n"
        "So erreichen Sie Josef Maier: +49 89 1234567 (zum Anrufen tippen: tel:+49891234567)"
        " – oder antworten Sie einfach hier.")


async def test_only_staff_the_alert_reached_can_acknowledge(h: Harness) -> None:
    customer = CUSTOMERS["sms"]
    await give_consent(h, customer)
    await h.say(customer, "Notfall")
    alert = to(h, LUDWIG_TG)[0]
    assert isinstance(alert.reply, ChoicesReply)
    told_before = len(to(h, customer))
    await h.feed(choice(KARL_TG, alert.reply.choices[0].value))  # Karl was never alerted
    await h.run()
    got = to(h, KARL_TG)
    assert got[-1].text.startswith("Sie waren bei Notfall #1 nicht alarmiert")
    assert "Alarmiert: Ludwig Maier" in got[-1].text
    assert len(to(h, customer)) == told_before  # the customer hears of no stranger
    async with h.services.db.session() as session:
        steps = (await session.scalars(select(IncidentStep.action))).all()
    assert "acknowledged" not in steps
    await h.feed(choice(LUDWIG_TG, alert.reply.choices[0].value))
    await h.run()
    assert "Ludwig Maier hat Ihren Notfall übernommen" in to(h, customer)[-1].text
    await h.feed(choice(KARL_TG, alert.reply.choices[0].value))
    await h.run()
    assert to(h, KARL_TG)[-1].text == "Notfall #1 hat bereits Ludwig Maier übernommen."


@pytest.mark.parametrize(("words", "danger", "first_line"), [
    ("Gasgeruch im Flur", "GASGERUCH",
     "Wegen des Gasgeruchs: erst draußen telefonieren, nicht im Gebäude."),
    ("Kabelbrand in der Küche", "STROM", "Bei Brand, Rauch oder Verletzten zuerst 112 anrufen."),
    ("Wasserrohrbruch im Bad", "Wasserschaden",
     "Sobald der Hauptwasserhahn zu ist, rufen Sie uns an."),
])
async def test_safety_advice_and_the_call_agree(h: Harness, words: str, danger: str,
                                                 first_line: str) -> None:
    got = await h.say(CUSTOMERS["telegram"], words)
    safety, number = got[0], got[1]
    assert danger in safety.text and "nächste Nachricht" in safety.text
    assert number.text.splitlines()[0] == first_line
    assert "jetzt an" not in number.text  # never "call now" after "not in the building"
    if danger == "GASGERUCH":
        assert "Erst draußen anrufen" in safety.text
        assert "kein Handy im Gebäude" not in safety.text


async def test_alert_goes_at_once_where_it_can_be_delivered(tmp_path: Path) -> None:
    # Ludwig is reached on WhatsApp and SMS only; his WhatsApp window is closed.
    ludwig = {"id": "ludwig", "name": "Ludwig Maier", "roles": ["fitter"],
              "phone": "+49 171 1111111", "whatsapp": "+4917111111111",
              "sms": "+4917111111111"}
    staff = [ludwig if s["id"] == "ludwig" else s for s in STAFF]
    ludwig_wa, ludwig_sms = Address("whatsapp", "+4917111111111"), Address("sms",
                                                                          "+4917111111111")
    no_template = settings_for(tmp_path / "a", staff=staff, twilio={"templates": {}})
    async with harness_for(no_template, SATURDAY_NIGHT) as h:
        await give_consent(h, CUSTOMERS["telegram"])
        await h.say(CUSTOMERS["telegram"], "Notfall: Rohrbruch")
        assert to(h, ludwig_wa) == []
        (alert,) = to(h, ludwig_sms)  # at once, not one escalation step later
        assert "Rohrbruch" in alert.text
        async with h.services.db.session() as session:
            step = await session.scalar(select(IncidentStep).where(
                IncidentStep.action == "alerted"))
        assert step is not None and (step.channel, step.detail) == ("sms",
                                                                   "stage 0, not whatsapp")
    with_template = settings_for(tmp_path / "b", staff=staff)  # `alert` template configured
    async with harness_for(with_template, SATURDAY_NIGHT) as h:
        await give_consent(h, CUSTOMERS["telegram"])
        await h.say(CUSTOMERS["telegram"], "Notfall: Rohrbruch")
        (alert,) = to(h, ludwig_wa)
        assert isinstance(alert.reply, TemplateReply) and alert.reply.template == "alert"
        assert "Rohrbruch" in alert.reply.variables["1"]
        assert to(h, ludwig_sms) == []


async def test_a_boss_only_on_a_closed_whatsapp_costs_no_step(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, twilio={"templates": {}},
                            oncall={"rotation": [], "escalation": ["chef"]})
    async with harness_for(settings, SATURDAY_NIGHT) as h:
        customer = CUSTOMERS["sms"]
        await give_consent(h, customer)
        got = await h.say(customer, "Notfall")
        # nobody can be reached now: the customer hears it at once, not after a timeout
        assert to(h, CHEF) == []
        assert [s.reply.kind for s in got] == ["oncall_number", "oncall_number"]
        assert "Wir erreichen gerade niemanden" in got[-1].text


async def test_a_short_timeout_is_said_in_seconds(tmp_path: Path) -> None:
    oncall = {"rotation": ["ludwig"], "handover": "mon 07:00", "rotation_start": "2026-11-30",
              "ack_timeout": "30s", "escalation": ["chef"]}
    async with harness_for(settings_for(tmp_path, oncall=oncall), SATURDAY_NIGHT) as h:
        customer = CUSTOMERS["sms"]
        await give_consent(h, customer)
        await h.say(customer, "Notfall")
        await h.advance(timedelta(seconds=30))
        await h.advance(timedelta(seconds=30))
        (escalated,) = to(h, CHEF)
        assert "hat nicht innerhalb von 30 Sekunden reagiert" in escalated.text
        assert "0 Minuten" not in escalated.text


@pytest.mark.parametrize(("seconds", "de", "en"), [
    (0, "0 Sekunden", "0 seconds"),
    (1, "1 Sekunde", "1 second"),
    (30, "30 Sekunden", "30 seconds"),
    (60, "1 Minute", "1 minute"),
    (90, "1 Minute 30 Sekunden", "1 minute 30 seconds"),
    (180, "3 Minuten", "3 minutes"),
    (3600, "1 Stunde", "1 hour"),
    (3605, "1 Stunde", "1 hour"),
    (5400, "1 Stunde 30 Minuten", "1 hour 30 minutes"),
    (7200, "2 Stunden", "2 hours"),
])
async def test_durations_as_people_say_them(h: Harness, seconds: int, de: str,
                                            en: str) -> None:
    texts = h.services.texts
    assert spoken(texts, "de", timedelta(seconds=seconds)) == de
    assert spoken(texts, "en", timedelta(seconds=seconds)) == en
