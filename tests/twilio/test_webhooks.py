"""Inbound webhooks through the whole app: stored once, acknowledged with empty TwiML,
and hostile input answered without a 5xx and without anything half-stored (issue 3)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tests.twilio import payloads
from tests.twilio.conftest import App
from werkbot.adapters.twilio.media import MediaRefused
from werkbot.bot.codec import loads_event
from werkbot.bot.events import LocationEvent, MediaEvent, UnknownEvent


async def test_text_webhook_is_stored_and_answered_with_empty_twiml(app: App) -> None:
    resp = await app.post("/webhooks/whatsapp", payloads.whatsapp("hallo"))
    assert resp.status == 200
    assert resp.content_type == "text/xml"
    assert (await resp.text()).endswith("<Response/>")
    (row,) = await app.inbox()
    assert row.kind == "TextEvent" and row.sender == f"whatsapp:{payloads.CUSTOMER}"


@pytest.mark.parametrize(("path", "form", "kind"), [
    ("/webhooks/whatsapp", payloads.whatsapp_location(label="Baustelle"), "LocationEvent"),
    ("/webhooks/whatsapp", payloads.whatsapp_button("ja", "Ja"), "ChoiceEvent"),
    ("/webhooks/whatsapp", payloads.whatsapp("/oncall"), "CommandEvent"),
    ("/webhooks/whatsapp", payloads.whatsapp("hi", sender="DE.77123412341234"), "TextEvent"),
    ("/webhooks/sms", payloads.sms("Termin?"), "TextEvent"),
])
async def test_every_kind_is_stored_as_its_event(app: App, path: str, form: dict[str, str],
                                                 kind: str) -> None:
    resp = await app.post(path, form)
    assert resp.status == 200
    (row,) = await app.inbox()
    assert row.kind == kind
    assert row.dedup_key.endswith(form["MessageSid"])


async def test_mms_with_ten_media_is_one_event(app: App) -> None:
    urls = tuple((app.fake.add_media(b"\xff\xd8\xff" + bytes([i]), "image/jpeg"), "image/jpeg")
                 for i in range(10))
    resp = await app.post("/webhooks/sms", payloads.sms("Schaden", media=urls))
    assert resp.status == 200
    (row,) = await app.inbox()
    event = loads_event(row.payload)
    assert isinstance(event, MediaEvent) and len(event.media) == 10


async def test_unknown_message_type_is_stored_and_acknowledged(app: App) -> None:
    resp = await app.post("/webhooks/whatsapp", payloads.whatsapp("", message_type="reaction"))
    assert resp.status == 200
    (row,) = await app.inbox()
    assert row.kind == "UnknownEvent"
    assert json.loads(row.payload)["raw"]["MessageType"] == "reaction"


async def test_stored_unknown_event_decodes(app: App) -> None:
    await app.post("/webhooks/whatsapp", payloads.whatsapp("", message_type="reaction"))
    (row,) = await app.inbox()
    event = loads_event(row.payload)
    assert isinstance(event, UnknownEvent) and event.type == "reaction"


async def test_same_message_sid_twice_is_stored_once(app: App) -> None:
    form = payloads.whatsapp("hilfe")
    first = await app.post("/webhooks/whatsapp", form)
    again = await app.post("/webhooks/whatsapp", form)
    assert (first.status, again.status) == (200, 200)
    assert len(await app.inbox()) == 1


async def test_idempotency_token_is_kept_and_a_redelivery_stored_once(app: App) -> None:
    form = payloads.whatsapp("hilfe")
    headers = {"I-Twilio-Idempotency-Token": "tok-abc"}
    for _ in range(2):
        resp = await app.post("/webhooks/whatsapp", form, headers=headers)
        assert resp.status == 200
    (row,) = await app.inbox()
    assert json.loads(row.payload)["raw"]["I-Twilio-Idempotency-Token"] == "tok-abc"


@pytest.mark.parametrize("drop", ["MessageSid", "From"])
async def test_missing_fields_get_400_and_nothing_stored(app: App, drop: str) -> None:
    form = payloads.whatsapp("hallo")
    for key in ([drop, "SmsMessageSid", "SmsSid"] if drop == "MessageSid" else [drop]):
        form.pop(key)
    resp = await app.post("/webhooks/whatsapp", form)
    assert resp.status == 400
    assert await app.inbox() == []


async def test_num_media_disagreeing_with_urls_gets_400_and_nothing_stored(app: App) -> None:
    url = app.fake.add_media(b"\xff\xd8\xff", "image/jpeg")
    form = payloads.sms("", media=((url, "image/jpeg"),), NumMedia="3")
    resp = await app.post("/webhooks/sms", form)
    assert resp.status == 400
    assert await app.inbox() == []


async def test_status_callback_without_status_gets_400(app: App) -> None:
    form = payloads.status("SM" + "7" * 32, "sent")
    form.pop("MessageStatus")
    form.pop("SmsStatus")
    resp = await app.post("/webhooks/whatsapp/status", form)
    assert resp.status == 400
    assert await app.inbox() == []


async def _raw_post(app: App, body: bytes, *, chunked: bool = False) -> int:
    assert app.fake.session is not None
    headers = {"X-Twilio-Signature": "c2lnbmF0dXJl",
               "Content-Type": "application/x-www-form-urlencoded"}
    data: object = body
    if chunked:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(body), 65536):
                yield body[i:i + 65536]
        data = chunks()
    resp = await app.fake.session.post(app.base_url + "/webhooks/whatsapp", data=data,
                                       headers=headers)
    await resp.read()
    return resp.status


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_over_one_megabyte_gets_413_and_nothing_stored(app: App,
                                                                 chunked: bool) -> None:
    body = b"Body=" + b"a" * (1024 * 1024 + 10)
    assert await _raw_post(app, body, chunked=chunked) == 413
    assert await app.inbox() == []


@pytest.mark.parametrize("body", [b"Body=\xff\xfe&From=%2B491701234567",
                                  b"Body=%FF%FE&From=%2B491701234567"])
async def test_invalid_utf8_gets_400_and_nothing_stored(app: App, body: bytes) -> None:
    assert await _raw_post(app, body) == 400
    assert await app.inbox() == []


async def test_foreign_media_host_is_stored_but_never_fetched(app: App) -> None:
    foreign = f"{app.fake.cdn_url}/cdn/ME{'0' * 32}"
    resp = await app.post("/webhooks/whatsapp", payloads.whatsapp_media(foreign, "image/jpeg"))
    assert resp.status == 200
    (row,) = await app.inbox()
    event = loads_event(row.payload)
    assert isinstance(event, MediaEvent)
    with pytest.raises(MediaRefused):
        await app.adapter("whatsapp").fetch_media(event.media[0])
    assert app.fake.cdn_hits == [] and app.fake.api_hits == []


async def test_location_address_survives_storage(app: App) -> None:
    form = payloads.whatsapp_location(address="Sendlinger Str. 5", label="Werkstatt")
    await app.post("/webhooks/whatsapp", form)
    (row,) = await app.inbox()
    event = loads_event(row.payload)
    assert isinstance(event, LocationEvent) and event.address == "Sendlinger Str. 5"
