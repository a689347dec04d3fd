"""The whole app with the real Twilio adapters against the recording fake (issue 3):
webhook in, stored, handled by the help handler, reply POSTed to Twilio, status back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.twilio import payloads
from tests.twilio.conftest import App
from tests.twilio.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from werkbot.bot.codec import loads_event
from werkbot.bot.events import MediaEvent
from werkbot.bot.storage.models import AddressRow, InboxRow, OutboxRow

WA_CUSTOMER = f"whatsapp:{payloads.CUSTOMER}"


async def _outbox(app: App) -> list[OutboxRow]:
    async with app.h.services.db.session() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def _address(app: App, address: str) -> AddressRow:
    async with app.h.services.db.session() as session:
        row = await session.scalar(select(AddressRow).where(AddressRow.address == address))
    assert row is not None
    return row


async def _menu_sid(app: App) -> str:
    await app.post("/webhooks/whatsapp", payloads.whatsapp("hilfe"))
    await app.h.run()
    (sent,) = app.fake.sent
    return sent.sid


async def test_text_webhook_is_answered_through_the_twilio_api(app: App) -> None:
    resp = await app.post("/webhooks/whatsapp", payloads.whatsapp("hilfe"))
    assert resp.status == 200
    assert app.fake.sent == []  # nothing goes out in the webhook's answer
    await app.h.run()
    (sent,) = app.fake.sent
    assert sent["To"] == WA_CUSTOMER and sent["From"] == payloads.BUSINESS_WA
    assert sent["StatusCallback"] == "https://bot.example.de/webhooks/whatsapp/status"
    assert sent.auth is not None
    assert (sent.auth.login, sent.auth.password) == (ACCOUNT_SID, AUTH_TOKEN)
    assert "Sanitär Maier GmbH" in sent["Body"] and "1) " in sent["Body"]
    (row,) = await _outbox(app)
    assert (row.status, row.provider_id) == ("accepted", sent.sid)


async def test_sms_webhook_is_answered_by_sms(app: App) -> None:
    await app.post("/webhooks/sms", payloads.sms("hilfe"))
    await app.h.run()
    (sent,) = app.fake.sent
    assert (sent["To"], sent["From"]) == (payloads.CUSTOMER, payloads.BUSINESS_SMS)
    assert sent["StatusCallback"] == "https://bot.example.de/webhooks/sms/status"


async def test_same_message_sid_twice_is_handled_once(app: App) -> None:
    form = payloads.whatsapp("hilfe")
    await app.post("/webhooks/whatsapp", form)
    await app.h.run()
    await app.post("/webhooks/whatsapp", form)
    await app.h.run()
    assert len(app.fake.sent) == 1


async def _status(app: App, sid: str, status: str, error_code: str = "") -> None:
    resp = await app.post("/webhooks/whatsapp/status",
                          payloads.status(sid, status, error_code=error_code))
    assert resp.status == 200
    await app.h.run()


async def test_status_moves_forward_and_never_back(app: App) -> None:
    sid = await _menu_sid(app)
    seen = []
    for status in ("queued", "sent", "delivered", "read", "sent", "delivered"):
        await _status(app, sid, status)
        (row,) = await _outbox(app)
        seen.append(row.status)
    assert seen == ["accepted", "accepted", "delivered", "read", "read", "read"]


async def test_out_of_order_callbacks_end_on_the_furthest_status(app: App) -> None:
    sid = await _menu_sid(app)
    for status in ("read", "delivered", "sent", "queued"):
        await _status(app, sid, status)
    (row,) = await _outbox(app)
    assert row.status == "read"


async def test_repeated_callback_is_stored_once(app: App) -> None:
    sid = await _menu_sid(app)
    await _status(app, sid, "delivered")
    await _status(app, sid, "delivered")
    async with app.h.services.db.session() as session:
        keys = list((await session.scalars(select(InboxRow.dedup_key))).all())
    assert keys.count(f"whatsapp:status:{sid}:delivered") == 1


async def test_63016_from_a_status_callback_is_recorded_on_the_row(app: App) -> None:
    sid = await _menu_sid(app)
    await _status(app, sid, "failed", error_code="63016")
    (row,) = await _outbox(app)
    assert (row.status, row.error_code) == ("failed", "63016")


async def test_21610_at_send_time_marks_the_address_unreachable(app: App) -> None:
    app.fake.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    await app.post("/webhooks/sms", payloads.sms("hilfe"))
    await app.h.run()
    assert app.fake.sent == []
    (row,) = await _outbox(app)
    assert (row.status, row.error_code) == ("failed", "21610")
    kinds = [r.kind for r in await app.inbox()]
    assert kinds == ["TextEvent", "Unreachable"]
    assert (await _address(app, f"sms:{payloads.CUSTOMER}")).unreachable_at is not None


async def test_21610_in_a_status_callback_marks_the_address_unreachable(app: App) -> None:
    await app.post("/webhooks/sms", payloads.sms("hilfe"))
    await app.h.run()
    (sent,) = app.fake.sent
    form = payloads.status(sent.sid, "undelivered", to=payloads.CUSTOMER,
                           sender=payloads.BUSINESS_SMS, error_code="21610")
    assert (await app.post("/webhooks/sms/status", form)).status == 200
    await app.h.run()
    (row,) = await _outbox(app)
    assert (row.status, row.error_code) == ("undelivered", "21610")
    assert (await _address(app, f"sms:{payloads.CUSTOMER}")).unreachable_at is not None


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, None)])
async def test_busy_twilio_is_retried_after_backoff(app: App, status: int,
                                                    code: int | None) -> None:
    app.fake.fail_next(status, code)
    await app.post("/webhooks/whatsapp", payloads.whatsapp("hilfe"))
    await app.h.run()
    (row,) = await _outbox(app)
    assert row.status == "queued" and app.fake.sent == []
    await app.h.advance(timedelta(seconds=5))
    (row,) = await _outbox(app)
    assert row.status == "accepted" and len(app.fake.sent) == 1


async def test_other_4xx_fails_visibly_with_its_code(app: App) -> None:
    app.fake.fail_next(400, 21211, "Invalid 'To' Phone Number")
    await app.post("/webhooks/whatsapp", payloads.whatsapp("hilfe"))
    await app.h.run()
    (row,) = await _outbox(app)
    assert (row.status, row.error_code) == ("failed", "21211")
    await app.h.advance(timedelta(minutes=30))
    assert app.fake.sent == []


async def test_voice_note_media_is_downloadable_through_the_adapter(app: App) -> None:
    ogg = b"OggS" + b"\x02" * 2000
    url = app.fake.add_media(ogg, "audio/ogg")
    await app.post("/webhooks/whatsapp",
                   payloads.whatsapp_media(url, "audio/ogg", message_type="audio"))
    (row,) = await app.inbox()
    event = loads_event(row.payload)
    assert isinstance(event, MediaEvent) and event.media[0].kind == "voice"
    data, content_type = await app.adapter("whatsapp").fetch_media(event.media[0])
    assert (data, content_type) == (ogg, "audio/ogg")
    assert app.fake.cdn_hits[0].authorization == ""
