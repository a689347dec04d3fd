"""Issue scenarios (5 consent, 6 emergency, 7 job photos, 8 office inbox) with the full
handler bundle on the real adapters: Twilio (WhatsApp, SMS) against the recording fake
Twilio and Telegram against the fake Bot API. Every assertion reads what werkbot put on
the wire, as the fakes recorded it."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from tests.scenarios.conftest import (
    ANNA_TG,
    CHEF_TG,
    GROUP,
    LUDWIG_PHONE,
    LUDWIG_TG,
    SATURDAY_NIGHT,
    SMS_CUSTOMER_2,
    TUESDAY_10,
    WA_CUSTOMER,
    WA_CUSTOMER_2,
    World,
    WorldFactory,
    tg_message,
)
from tests.twilio.payloads import BUSINESS_WA
from werkbot.bot.addresses import Address
from werkbot.bot.storage.models import OutboxRow
from werkbot.handlers.jobs.repo import JobsRepo

BUSINESS = "Sanitär Maier GmbH"
ACK_TIMEOUT = timedelta(minutes=10)
BATCH_WINDOW = timedelta(seconds=30)  # longer than the configured quiet window


def jpeg(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), color).save(out, format="JPEG")
    return out.getvalue()


async def test_whatsapp_consent_yes_then_stop(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)  # office open: a consented text would reach the office
    await w.whatsapp("Guten Tag, bei uns tropft der Wasserhahn.")
    (request,) = w.whatsapp_to()
    assert BUSINESS in request and "STOP" in request
    assert w.staff_sends() == []  # held until the customer agrees

    await w.whatsapp("ja")
    confirmation = w.whatsapp_to()[1:]
    assert any("Einwilligung ist gespeichert" in body for body in confirmation)

    staff_before = len(w.staff_sends())
    sent_before = len(w.whatsapp_to())
    await w.whatsapp("stop")
    withdrawn = w.whatsapp_to()[sent_before:]
    assert len(withdrawn) == 1 and "widerrufen" in withdrawn[0]

    await w.whatsapp("stop")
    await w.whatsapp("Sind Sie noch da?")
    assert len(w.whatsapp_to()) == sent_before + 1  # exactly one withdrawal confirmation
    assert len(w.staff_sends()) == staff_before  # nothing more reaches staff on Telegram


async def test_sms_emergency_before_consent_ack_and_escalation(
        world_at: WorldFactory) -> None:
    w = await world_at(SATURDAY_NIGHT)
    await w.sms("Notfall Wasserrohrbruch")
    first = w.sms_to()
    assert any(LUDWIG_PHONE in body for body in first), first
    alerts = w.telegram_texts(LUDWIG_TG)
    assert len(alerts) == 1  # the fitter is alerted at once, details held back
    assert "Wasserrohrbruch" not in alerts[0]

    await w.sms("ja")
    details = w.telegram_texts(LUDWIG_TG)[1:]
    assert any("Wasserrohrbruch" in text for text in details), details

    before = len(w.sms_to())
    await w.telegram(tg_message("ok", chat_id=LUDWIG_TG, user_id=LUDWIG_TG, name="Ludwig"))
    told = w.sms_to()[before:]
    assert any("Ludwig Maier hat Ihren Notfall übernommen" in body for body in told), told

    # a second emergency that nobody acknowledges escalates to the admin
    await w.consented(Address("sms", SMS_CUSTOMER_2))
    await w.sms("Notfall, Gasgeruch im Keller", sender=SMS_CUSTOMER_2)
    assert w.telegram_texts(CHEF_TG) == []
    await w.h.advance(ACK_TIMEOUT)
    chef = w.telegram_texts(CHEF_TG)
    assert chef and "Eskalation" in chef[0] and "Ludwig Maier" in chef[0], chef


async def test_three_whatsapp_photos_reach_the_fitter_as_one_album(
        world_at: WorldFactory) -> None:
    w = await world_at(SATURDAY_NIGHT)
    person = await w.consented(Address("whatsapp", WA_CUSTOMER))
    async with w.h.services.db.session() as session:
        job = await JobsRepo(session).create_job(w.h.settings, title="Leck im Bad",
                                                 now=w.h.clock.now(), customer_id=person,
                                                 staff_ids=("ludwig",))
        code = job.code
    for color in ((200, 0, 0), (0, 200, 0), (0, 0, 200)):
        await w.whatsapp_photo(jpeg(color))
    await w.h.run()
    assert w.telegram_calls(LUDWIG_TG, "sendMediaGroup") == []  # window still open
    await w.h.advance(BATCH_WINDOW)
    (album,) = w.telegram_calls(LUDWIG_TG, "sendMediaGroup")
    assert len(album.params["media"]) == 3
    assert all(w.twilio.api_hits[i].authorization for i in range(3))  # Basic auth, then CDN
    assert len(w.twilio.cdn_hits) >= 3
    receipts = [body for body in w.whatsapp_to() if code in body]
    assert len(receipts) == 1 and "3" in receipts[0] and "gespeichert" in receipts[0]


async def _forwarded_message_id(w: World, text: str) -> int:
    """The Telegram message id of the forward of `text` (from its outbox row's receipt)."""
    async with w.h.services.db.session() as session:
        rows = (await session.scalars(select(OutboxRow).where(
            OutboxRow.address == f"telegram:{GROUP}").order_by(OutboxRow.id))).all()
    ids = [row.provider_id for row in rows if text in row.payload and row.provider_id]
    assert ids, rows
    return int(str(ids[-1]).rsplit(":", 1)[1])


async def _customer_writes_to_the_office(w: World) -> int:
    """A consented WhatsApp customer writes in opening hours; returns the forum topic."""
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Können Sie morgen die Heizung warten?")
    (topic_call,) = w.api.calls_of("createForumTopic")
    assert str(topic_call.params["chat_id"]) == str(GROUP)
    posted = [c for c in w.telegram_calls(GROUP) if "Heizung warten" in str(c.params["text"])]
    assert len(posted) == 1, w.telegram_texts(GROUP)
    return int(posted[0].params["message_thread_id"])


async def test_office_round_trip_replying_to_the_forward(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    topic = await _customer_writes_to_the_office(w)
    forward = await _forwarded_message_id(w, "Heizung warten")
    before = len(w.whatsapp_to())
    await w.telegram(tg_message("Ja, morgen um 9 Uhr passt.", chat_id=GROUP, user_id=ANNA_TG,
                                thread=topic, reply_to=forward))
    answered = w.whatsapp_to()[before:]
    assert len(answered) == 1 and "morgen um 9 Uhr" in answered[0], answered
    (reply,) = w.twilio_to(f"whatsapp:{WA_CUSTOMER}")[before:]
    assert reply["From"] == BUSINESS_WA

    await w.consented(Address("whatsapp", WA_CUSTOMER_2))
    await w.whatsapp("Mein Boiler macht Geräusche.", sender=WA_CUSTOMER_2)
    assert len(w.api.calls_of("createForumTopic")) == 2
    second = [c for c in w.telegram_calls(GROUP) if "Boiler" in str(c.params["text"])]
    assert len(second) == 1 and int(second[0].params["message_thread_id"]) != topic


async def test_office_answer_written_in_the_topic(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    topic = await _customer_writes_to_the_office(w)
    before = len(w.whatsapp_to())
    # As Telegram sends it: in the topic, replying to the topic's creation message.
    await w.telegram(tg_message("Ja, morgen um 9 Uhr passt.", chat_id=GROUP, user_id=ANNA_TG,
                                thread=topic, reply_to=topic))
    answered = w.whatsapp_to()[before:]
    assert len(answered) == 1 and "morgen um 9 Uhr" in answered[0], answered
