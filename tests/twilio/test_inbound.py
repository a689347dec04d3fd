"""Every inbound message kind becomes the right core event (issue 3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from multidict import MultiDict

from tests.twilio import payloads
from werkbot.adapters.twilio.inbound import InboundError, parse_message
from werkbot.adapters.twilio.status import parse_status
from werkbot.bot.addresses import Address
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    DeliveryStatus,
    Event,
    LocationEvent,
    MediaEvent,
    TextEvent,
    UnknownEvent,
    Unreachable,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


def parse(channel: str, form: dict[str, str], token: str = "") -> Event:
    return parse_message(channel, MultiDict(form), now=NOW, token=token)


def test_whatsapp_text_has_id_sender_name_and_raw() -> None:
    form = payloads.whatsapp("Heizung tropft", message_sid="SM" + "1" * 32)
    event = parse("whatsapp", form, token="tok-1")
    assert isinstance(event, TextEvent)
    assert event.text == "Heizung tropft"
    assert event.id == "whatsapp:SM" + "1" * 32
    assert event.sender == Address("whatsapp", payloads.CUSTOMER)
    assert event.sender_name == "Erika M."
    assert event.raw["I-Twilio-Idempotency-Token"] == "tok-1"
    assert event.raw["WaId"] == payloads.CUSTOMER.lstrip("+")


def test_sms_text_has_sms_id_and_plain_number() -> None:
    event = parse("sms", payloads.sms("hallo", message_sid="SM" + "2" * 32))
    assert event.id == "sms:SM" + "2" * 32
    assert event.sender == Address("sms", payloads.CUSTOMER)


def test_text_starting_with_a_slash_is_a_command() -> None:
    event = parse("whatsapp", payloads.whatsapp("/job new Bad fliesen @karl"))
    assert isinstance(event, CommandEvent)
    assert (event.name, event.args) == ("job", ("new", "Bad", "fliesen", "@karl"))
    assert event.text == "/job new Bad fliesen @karl"


@pytest.mark.parametrize(("content_type", "message_type", "kind"), [
    ("image/jpeg", "image", "image"),
    ("audio/ogg", "audio", "voice"),
    ("audio/mpeg", "audio", "audio"),
    ("video/mp4", "video", "video"),
    ("application/pdf", "document", "document"),
    ("image/webp", "sticker", "sticker"),
])
def test_whatsapp_media_kinds(content_type: str, message_type: str, kind: str) -> None:
    form = payloads.whatsapp_media(MEDIA, content_type, message_type=message_type,
                                   caption="#A-1042")
    event = parse("whatsapp", form)
    assert isinstance(event, MediaEvent)
    assert event.caption == "#A-1042"
    (ref,) = event.media
    assert (ref.kind, ref.content_type, ref.ref) == (kind, content_type, MEDIA)


def test_mms_with_ten_media_keeps_all_in_order() -> None:
    media = tuple((f"{MEDIA}{i}", "image/jpeg") for i in range(10))
    event = parse("sms", payloads.sms("Fotos", media=media))
    assert isinstance(event, MediaEvent)
    assert [m.ref for m in event.media] == [url for url, _ in media]


@pytest.mark.parametrize("num_media", ["2", "0", "11", "zwei", "-1"])
def test_num_media_disagreeing_with_urls_is_refused(num_media: str) -> None:
    form = payloads.sms("", media=((MEDIA, "image/jpeg"),))
    form["NumMedia"] = num_media
    with pytest.raises(InboundError):
        parse("sms", form)


def test_media_urls_with_a_gap_are_refused() -> None:
    form = payloads.sms("", media=((MEDIA, "image/jpeg"), (MEDIA + "2", "image/jpeg")))
    del form["MediaUrl0"]
    with pytest.raises(InboundError):
        parse("sms", form)


def test_location_with_address_and_label() -> None:
    form = payloads.whatsapp_location(address="Marienplatz 1, München", label="Rathaus")
    event = parse("whatsapp", form)
    assert isinstance(event, LocationEvent)
    assert (event.latitude, event.longitude) == (48.1371, 11.5754)
    assert (event.address, event.label) == ("Marienplatz 1, München", "Rathaus")


@pytest.mark.parametrize(("lat", "lon"), [("north", "11.5"), ("91", "11.5"), ("48", "nan"),
                                          ("48", "")])
def test_unreadable_location_is_refused(lat: str, lon: str) -> None:
    with pytest.raises(InboundError):
        parse("whatsapp", payloads.whatsapp_location(lat, lon))


def test_button_reply_is_a_choice_with_payload_and_label() -> None:
    event = parse("whatsapp", payloads.whatsapp_button("notfall", "Notfall"))
    assert isinstance(event, ChoiceEvent)
    assert (event.value, event.label) == ("notfall", "Notfall")


def test_reply_to_an_earlier_message_carries_its_sid() -> None:
    form = payloads.whatsapp("ja, passt", OriginalRepliedMessageSid="SM" + "9" * 32)
    assert parse("whatsapp", form).reply_to == "SM" + "9" * 32


def test_sender_known_only_by_business_scoped_id() -> None:
    form = payloads.whatsapp("hallo", sender="DE.1349120865530274191")
    assert "WaId" not in form
    event = parse("whatsapp", form)
    assert event.sender == Address("whatsapp", "DE.1349120865530274191")
    assert not event.sender.is_phone


def test_unknown_message_type_is_an_unknown_event_with_raw() -> None:
    event = parse("whatsapp", payloads.whatsapp("", message_type="order"))
    assert isinstance(event, UnknownEvent)
    assert event.type == "order"
    assert event.raw["MessageType"] == "order"


@pytest.mark.parametrize("field", ["MessageSid", "From"])
def test_missing_required_fields_are_refused(field: str) -> None:
    form = payloads.whatsapp("hallo")
    form.pop(field)
    if field == "MessageSid":
        form.pop("SmsMessageSid")
        form.pop("SmsSid")
    with pytest.raises(InboundError):
        parse("whatsapp", form)


def test_status_callback_is_a_delivery_status_for_the_recipient() -> None:
    sid = payloads.sid()
    (event,) = parse_status("whatsapp", MultiDict(payloads.status(sid, "delivered")),
                            now=NOW)
    assert isinstance(event, DeliveryStatus)
    assert event.id == f"whatsapp:status:{sid}:delivered"
    assert (event.provider_message_id, event.status) == (sid, "delivered")
    assert event.sender == Address("whatsapp", payloads.CUSTOMER)


def test_failed_status_with_63016_keeps_the_code_and_says_the_window_closed() -> None:
    (event,) = parse_status("whatsapp", MultiDict(payloads.status(
        payloads.sid(), "failed", error_code="63016")), now=NOW)
    assert isinstance(event, DeliveryStatus)
    assert (event.status, event.error_code) == ("failed", "63016")
    assert event.window_closed and "window_closed" not in event.raw
    (other,) = parse_status("whatsapp", MultiDict(payloads.status(
        payloads.sid(), "failed", error_code="63003")), now=NOW)
    assert isinstance(other, DeliveryStatus) and not other.window_closed


def test_status_21610_also_reports_the_address_unreachable() -> None:
    form = payloads.status(payloads.sid(), "undelivered", to=payloads.CUSTOMER,
                           sender=payloads.BUSINESS_SMS, error_code="21610")
    status, unreachable = parse_status("sms", MultiDict(form), now=NOW)
    assert isinstance(status, DeliveryStatus) and status.status == "undelivered"
    assert isinstance(unreachable, Unreachable)
    assert unreachable.sender == Address("sms", payloads.CUSTOMER)
    assert unreachable.reason == "21610"


@pytest.mark.parametrize("drop", ["MessageSid", "MessageStatus", "To"])
def test_status_without_its_keys_is_refused(drop: str) -> None:
    form = payloads.status(payloads.sid(), "sent")
    form.pop(drop)
    form.pop({"MessageSid": "SmsSid", "MessageStatus": "SmsStatus", "To": "To"}[drop], None)
    with pytest.raises(InboundError):
        parse_status("whatsapp", MultiDict(form), now=NOW)
