"""Emergencies end to end on the harness: alert, acknowledgement, escalation, consent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.emergency.conftest import (
    CHEF,
    CUSTOMERS,
    KARL_TG,
    LUDWIG_TG,
    LUDWIG_WA,
    SATURDAY_NIGHT,
    give_consent,
    harness_for,
    local,
    settings_for,
)
from werkbot.bot.addresses import Address
from werkbot.bot.events import LocationEvent, MediaEvent, MediaRef
from werkbot.bot.replies import ChoicesReply, MediaReply, TemplateReply
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.testing import Harness, Sent, choice, text
from werkbot.handlers.emergency.models import Incident, IncidentStep

TEN = timedelta(minutes=10)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def to(h: Harness, address: Address) -> list[Sent]:
    return h.adapter(address.channel).to(address)


def ack_value(sent: Sent) -> str:
    assert isinstance(sent.reply, ChoicesReply), sent.reply
    return sent.reply.choices[0].value


async def incidents(h: Harness) -> list[Incident]:
    async with h.services.db.session() as session:
        return list((await session.scalars(select(Incident).order_by(Incident.id))).all())


async def actions(h: Harness, incident_id: int) -> list[tuple[str, str, str]]:
    async with h.services.db.session() as session:
        rows = (await session.scalars(select(IncidentStep).where(
            IncidentStep.incident_id == incident_id).order_by(IncidentStep.id))).all()
    return [(r.action, r.staff_id, r.channel) for r in rows]


@pytest.mark.parametrize("channel", ["whatsapp", "sms", "telegram"])
async def test_acknowledged_emergency_on_every_channel(h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await give_consent(h, customer)
    got = await h.say(customer, "Hilfe, Wasserrohrbruch im Keller!")
    assert [s.reply.kind for s in got] == ["safety", "oncall_number"]
    assert "Hauptwasserhahn" in got[0].text
    assert "Ludwig Maier" in got[1].text
    assert "+49 171 1111111" in got[1].text and "tel:+491711111111" in got[1].text
    alert = to(h, LUDWIG_TG)
    assert len(alert) == 1 and alert[0].reply.kind == "alert_details"
    assert "Wasserrohrbruch im Keller" in alert[0].text
    # how to reach them: the number where the channel has one, else through the bot
    if channel == "telegram":
        assert "Erreichbar: über den Bot: auf diese Nachricht antworten oder /reply 1 Text" \
            in alert[0].text
    else:
        assert f"Erreichbar: {customer.id} (tel:{customer.id})" in alert[0].text
    await h.feed(choice(LUDWIG_TG, ack_value(alert[0])))
    await h.run()
    told = to(h, customer)[len(got):]
    assert [s.reply.kind for s in told] == ["emergency_update"]
    assert "Ludwig Maier hat Ihren Notfall übernommen" in told[0].text
    assert "gehört Ihnen" in to(h, LUDWIG_TG)[-1].text
    before = len(h.all_sent())
    await h.advance(timedelta(hours=2))
    assert len(h.all_sent()) == before  # no escalation after the acknowledgement
    (incident,) = await incidents(h)
    assert (incident.status, incident.acked_by) == ("acknowledged", "ludwig")


async def test_ok_acknowledges_the_newest_alert(h: Harness) -> None:
    await give_consent(h, CUSTOMERS["whatsapp"])
    await h.say(CUSTOMERS["whatsapp"], "NOTFALL")
    got = await h.say(LUDWIG_TG, "ok")
    assert "gehört Ihnen" in got[-1].text
    assert "übernommen" in to(h, CUSTOMERS["whatsapp"])[-1].text


async def test_no_acknowledgement_repeats_then_escalates(h: Harness) -> None:
    customer = CUSTOMERS["telegram"]
    await give_consent(h, customer)
    await h.say(customer, "Die Heizung ist ausgefallen, heizung ausgefallen!")
    assert len(to(h, LUDWIG_TG)) == 1 and to(h, LUDWIG_WA) == [] and to(h, CHEF) == []
    await h.advance(TEN - timedelta(seconds=1))
    assert to(h, LUDWIG_WA) == []
    await h.advance(timedelta(seconds=1))
    repeat = to(h, LUDWIG_WA)
    assert len(repeat) == 1 and "Erinnerung" in repeat[0].text
    assert isinstance(repeat[0].reply, TemplateReply)  # his WhatsApp window is closed
    assert to(h, CHEF) == []
    await h.advance(TEN)
    chef = to(h, CHEF)
    assert len(chef) == 1 and "Eskalation" in chef[0].text and "Ludwig Maier" in chef[0].text
    await h.advance(TEN)
    assert "niemanden" in to(h, customer)[-1].text
    (incident,) = await incidents(h)
    assert [a for a, _, _ in await actions(h, incident.id)] == [
        "created", "alerted", "escalated", "alerted", "customer_told", "escalated", "alerted",
        "customer_told", "escalated", "exhausted"]
    before = len(h.all_sent())
    await h.advance(timedelta(hours=3))
    assert len(h.all_sent()) == before


async def test_acknowledgement_after_escalation_tells_the_others(h: Harness) -> None:
    await give_consent(h, CUSTOMERS["sms"])
    await h.say(CUSTOMERS["sms"], "notfall")
    await h.advance(TEN)
    await h.advance(TEN)
    assert len(to(h, CHEF)) == 1
    await h.say(CHEF, "übernehme")
    assert "Josef Maier" in to(h, CUSTOMERS["sms"])[-1].text
    assert "hat Josef Maier übernommen" in to(h, LUDWIG_TG)[-1].text


async def test_restart_while_an_escalation_is_pending(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    customer = CUSTOMERS["whatsapp"]
    async with harness_for(settings, SATURDAY_NIGHT) as first:
        await give_consent(first, customer)
        await first.say(customer, "Rohrbruch!")
        assert len(to(first, LUDWIG_TG)) == 1
    later = SATURDAY_NIGHT + TEN + timedelta(minutes=1)
    async with harness_for(settings, later) as second:
        await second.run()
        assert len(to(second, LUDWIG_WA)) == 1  # the repeat happened after the restart
        await second.run()
        await second.advance(timedelta(seconds=30))
        assert len(to(second, LUDWIG_WA)) == 1  # and only once
        async with second.services.db.session() as session:
            timers = await session.scalar(select(func.count()).select_from(InboxRow).where(
                InboxRow.kind == "TimerEvent", InboxRow.status == "done"))
        assert timers == 1


async def test_two_emergencies_at_the_same_time(h: Harness) -> None:
    a, b = CUSTOMERS["whatsapp"], CUSTOMERS["telegram"]
    await give_consent(h, a)
    await give_consent(h, b)
    await h.feed(text(a, "Gasgeruch im Flur", at=h.clock.now()),
                 text(b, "Stromausfall im ganzen Haus", at=h.clock.now()))
    await h.run()
    first, second = await incidents(h)
    assert first.id != second.id and first.danger == "gas"
    alerts = to(h, LUDWIG_TG)
    assert len(alerts) == 2
    assert "Gasgeruch im Flur" in alerts[0].text and "Stromausfall" in alerts[1].text
    await h.feed(choice(LUDWIG_TG, ack_value(alerts[0])))
    await h.run()
    await h.advance(TEN)
    repeats = to(h, LUDWIG_WA)
    assert len(repeats) == 1 and f"#{second.id}" in repeats[0].text
    assert "Ludwig Maier hat Ihren Notfall übernommen" in to(h, a)[-1].text
    assert to(h, b)[-1].text.startswith("⏳ Ludwig Maier hat sich noch nicht gemeldet")


async def test_empty_rota_gives_the_business_phone_and_alerts_admins(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, oncall={"rotation": [], "escalation": []})
    async with harness_for(settings, SATURDAY_NIGHT) as h:
        customer = CUSTOMERS["sms"]
        await give_consent(h, customer)
        got = await h.say(customer, "Notfall, Rohr geplatzt")
        number = next(s for s in got if s.reply.kind == "oncall_number")
        assert "+49 89 1234567" in number.text and "tel:+49891234567" in number.text
        chef = to(h, CHEF)
        assert len(chef) == 1 and "Kein Bereitschaftsdienst" in chef[0].text
        assert "Rohr geplatzt" in chef[0].text
        (incident,) = await incidents(h)
        assert incident.mode == "fallback"


async def test_emergency_before_consent(h: Harness) -> None:
    customer = Address("whatsapp", "+491705550099")  # never seen before
    got = await h.say(customer, "Gasgeruch im Keller, Müllerstraße 5")
    assert [s.reply.kind for s in got] == ["safety", "oncall_number", "consent_request"]
    assert "GASGERUCH" in got[0].text
    assert "tel:+491711111111" in got[1].text and "Zustimmung" in got[1].text
    alert = to(h, LUDWIG_TG)
    assert len(alert) == 1 and alert[0].reply.kind == "alert"
    assert "Details folgen nach Einwilligung" in alert[0].text
    assert "Müllerstraße" not in alert[0].text and "Keller" not in alert[0].text
    assert customer.id not in alert[0].text
    got = await h.say(customer, "ja")
    details = to(h, LUDWIG_TG)[1:]
    assert len(details) == 1 and details[0].reply.kind == "alert_details"
    assert "Gasgeruch im Keller, Müllerstraße 5" in details[0].text
    assert customer.id in details[0].text
    await h.advance(TEN)
    assert "Müllerstraße" in to(h, LUDWIG_WA)[0].text  # the escalation carries them too


async def test_during_opening_hours_the_office_is_alerted(tmp_path: Path) -> None:
    async with harness_for(settings_for(tmp_path), local(2026, 12, 2, 10, 0)) as h:
        customer = CUSTOMERS["telegram"]
        await give_consent(h, customer)
        got = await h.say(customer, "Notfall!")
        assert "Büro" in got[-1].text and "tel:+49891234567" in got[-1].text
        office = h.adapter("telegram").to(Address("telegram", "133333333"))
        assert len(office) == 1 and "Öffnungszeit" in office[0].text
        assert to(h, LUDWIG_TG) == []


async def test_a_holiday_goes_to_the_on_call_fitter(tmp_path: Path) -> None:
    at = local(2026, 12, 25, 10, 0)  # a Friday morning, but Christmas Day; karl's week
    async with harness_for(settings_for(tmp_path), at) as h:
        await give_consent(h, CUSTOMERS["sms"])
        got = await h.say(CUSTOMERS["sms"], "Notfall")
        assert "Karl Berger" in got[-1].text
        assert len(to(h, KARL_TG)) == 1


async def test_photo_and_location_reach_the_fitter(h: Harness) -> None:
    customer = CUSTOMERS["whatsapp"]
    await give_consent(h, customer)
    h.adapter("whatsapp").media["pic-1"] = JPEG
    await h.feed(MediaEvent(id="wa:1", sender=customer, received_at=h.clock.now(),
                            media=(MediaRef(kind="image", content_type="image/jpeg",
                                            ref="pic-1"),), caption="Rohrbruch im Bad"))
    await h.run()
    sent = to(h, LUDWIG_TG)
    assert "Rohrbruch im Bad" in sent[0].text
    assert isinstance(sent[1].reply, MediaReply) and len(sent[1].reply.media_ids) == 1
    await h.feed(LocationEvent(id="wa:2", sender=customer, received_at=h.clock.now(),
                               latitude=48.137154, longitude=11.576124))
    await h.run()
    assert "google.com/maps?q=48.137154,11.576124" in to(h, LUDWIG_TG)[-1].text


async def test_the_fitter_answers_through_the_bot(h: Harness) -> None:
    customer = CUSTOMERS["telegram"]
    await give_consent(h, customer)
    await h.say(customer, "Notfall, Wasser überall")
    alert = to(h, LUDWIG_TG)[0]
    async with h.services.db.session() as session:
        from werkbot.bot.storage.models import OutboxRow

        provider_id = await session.scalar(select(OutboxRow.provider_id).where(
            OutboxRow.address == str(LUDWIG_TG), OutboxRow.kind == "alert_details"))
    assert provider_id and alert
    answer = text(LUDWIG_TG, "Bin in 20 Minuten da", at=h.clock.now())
    await h.feed(type(answer)(**{**{f: getattr(answer, f) for f in (
        "id", "sender", "received_at", "text")}, "reply_to": provider_id}))
    await h.run()
    assert to(h, customer)[-1].text == "Ludwig Maier (Notdienst): Bin in 20 Minuten da"
    got = await h.say(LUDWIG_TG, "/reply 1 Klingel geht nicht?")
    assert "An den Kunden gesendet" in got[-1].text
    assert "Klingel geht nicht?" in to(h, customer)[-1].text
    got = await h.say(KARL_TG, "/reply 1 Hallo")
    assert "nicht alarmiert" in got[-1].text


async def test_further_messages_join_the_incident(h: Harness) -> None:
    customer = CUSTOMERS["sms"]
    await give_consent(h, customer)
    await h.say(customer, "Notfall")
    await h.say(customer, "Das Wasser steht schon 5 cm hoch")
    assert "5 cm hoch" in to(h, LUDWIG_TG)[-1].text
    assert len(await incidents(h)) == 1
