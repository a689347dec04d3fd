"""Outbound messages against the recording fake: exactly contract §4, errors mapped so
the outbox retries, marks unreachable or fails with the code (issue 3)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.twilio.conftest import MENU_TEMPLATE, started_adapter
from tests.twilio.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.twilio.payloads import BUSINESS_SMS, BUSINESS_WA, CUSTOMER
from werkbot.adapters.twilio import build
from werkbot.adapters.twilio.adapter import TwilioAdapter
from werkbot.adapters.twilio.client import TwilioApi
from werkbot.adapters.twilio.segments import count_segments
from werkbot.bot.adapter import SendError
from werkbot.bot.addresses import Address
from werkbot.bot.capabilities import degrade
from werkbot.bot.replies import Choice, ChoicesReply, MediaReply, TemplateReply, TextReply
from werkbot.bot.settings import Settings, TwilioSettings

WA = Address("whatsapp", CUSTOMER)
SMS = Address("sms", CUSTOMER)


async def test_whatsapp_text_goes_with_from_to_callback_and_basic_auth(
        wa: TwilioAdapter, fake: FakeTwilio) -> None:
    receipt = await wa.send(WA, TextReply(text="Wir kommen um 14 Uhr."))
    (sent,) = fake.sent
    assert sent["To"] == f"whatsapp:{CUSTOMER}"
    assert sent["From"] == BUSINESS_WA
    assert sent["Body"] == "Wir kommen um 14 Uhr."
    assert sent["StatusCallback"] == "https://bot.example.de/webhooks/whatsapp/status"
    assert sent.auth is not None and (sent.auth.login, sent.auth.password) == (
        ACCOUNT_SID, AUTH_TOKEN)
    assert receipt.provider_id == sent.sid and receipt.status == "accepted"


async def test_every_send_gets_its_own_sid(wa: TwilioAdapter, fake: FakeTwilio) -> None:
    first = await wa.send(WA, TextReply(text="a"))
    second = await wa.send(WA, TextReply(text="b"))
    assert first.provider_id != second.provider_id
    assert [s.sid for s in fake.sent] == [first.provider_id, second.provider_id]


async def test_sms_text_goes_from_the_sms_number(sms: TwilioAdapter, fake: FakeTwilio) -> None:
    await sms.send(SMS, TextReply(text="Termin bestätigt"))
    (sent,) = fake.sent
    assert (sent["To"], sent["From"]) == (CUSTOMER, BUSINESS_SMS)
    assert sent["StatusCallback"] == "https://bot.example.de/webhooks/sms/status"


async def test_media_goes_as_signed_public_links(wa: TwilioAdapter, fake: FakeTwilio) -> None:
    await wa.send(WA, MediaReply(media_ids=(7,), caption="Angebot", media_kinds=("document",)))
    (sent,) = fake.sent
    assert sent.form.getall("MediaUrl") == ["https://bot.example.de/media/t7"]
    assert sent["Body"] == "Angebot"


async def test_mms_carries_several_media_in_one_message(fake: FakeTwilio,
                                                        settings: Settings) -> None:
    mms = replace(settings, twilio=replace(settings.twilio, mms=True))
    adapter = await started_adapter(mms, "sms")
    try:
        reply = MediaReply(media_ids=(1, 2, 3), media_kinds=("image",) * 3)
        (part,) = degrade(reply, adapter.capabilities)
        await adapter.send(SMS, part)
    finally:
        await adapter.stop()
    (sent,) = fake.sent
    assert len(sent.form.getall("MediaUrl")) == 3


async def test_template_goes_as_content_sid_and_variables_without_body(
        wa: TwilioAdapter, fake: FakeTwilio) -> None:
    await wa.send(WA, TemplateReply(kind="menu", template="menu",
                                    variables={"1": "Grüß Gott"}, fallback_text="x"))
    (sent,) = fake.sent
    assert sent["ContentSid"] == MENU_TEMPLATE
    assert json.loads(sent["ContentVariables"]) == {"1": "Grüß Gott"}
    assert "Body" not in sent.form


async def test_template_without_content_sid_is_unreachable_and_not_sent(
        wa: TwilioAdapter, fake: FakeTwilio) -> None:
    with pytest.raises(SendError) as caught:
        await wa.send(WA, TemplateReply(kind="alert", template="alert", variables={"1": "x"}))
    assert caught.value.code == "no-template" and caught.value.unreachable
    assert fake.sent == []


async def test_choices_on_whatsapp_arrive_as_numbered_text(wa: TwilioAdapter,
                                                           fake: FakeTwilio) -> None:
    reply = ChoicesReply(text="Was brauchen Sie?",
                         choices=(Choice("Notfall", "notfall"), Choice("Termin", "termin")))
    for part in degrade(reply, wa.capabilities):
        await wa.send(WA, part)
    (sent,) = fake.sent
    assert sent["Body"] == "Was brauchen Sie?\n\n1) Notfall\n2) Termin"


@pytest.mark.parametrize(("status", "code", "retryable", "unreachable"), [
    (429, 20429, True, False),
    (429, None, True, False),
    (500, None, True, False),
    (503, 20500, True, False),
    (400, 21610, False, True),
    (400, 21211, False, False),
])
async def test_twilio_errors_are_mapped(wa: TwilioAdapter, fake: FakeTwilio, status: int,
                                        code: int | None, retryable: bool,
                                        unreachable: bool) -> None:
    fake.fail_next(status, code)
    with pytest.raises(SendError) as caught:
        await wa.send(WA, TextReply(text="hallo"))
    error = caught.value
    assert (error.retryable, error.unreachable) == (retryable, unreachable)
    assert error.code == str(code or status)  # twilio-python falls back to the status
    await wa.send(WA, TextReply(text="hallo"))  # the next one goes through
    assert len(fake.sent) == 1


async def test_rfc9457_problem_answers_are_mapped_too(wa: TwilioAdapter,
                                                      fake: FakeTwilio) -> None:
    fake.failures.append((400, {"type": "https://www.twilio.com/docs/errors/21610",
                                "title": "Unsubscribed recipient", "status": 400,
                                "code": 21610}))
    with pytest.raises(SendError) as caught:
        await wa.send(WA, TextReply(text="hallo"))
    assert caught.value.unreachable and caught.value.code == "21610"


async def test_network_failure_is_retryable(settings: Settings) -> None:
    dead = replace(settings, twilio=replace(settings.twilio, api_base="http://127.0.0.1:9"))
    adapter = await started_adapter(dead, "whatsapp")
    try:
        with pytest.raises(SendError) as caught:
            await adapter.send(WA, TextReply(text="hallo"))
    finally:
        await adapter.stop()
    assert caught.value.retryable and caught.value.code == "network"


def test_build_makes_the_configured_channels_sharing_one_client(settings: Settings) -> None:
    both = build(settings)
    assert [a.name for a in both] == ["whatsapp", "sms"]
    apis = {id(a.api) for a in both if isinstance(a, TwilioAdapter)}
    assert len(apis) == 1
    only_sms = build(replace(settings, twilio=replace(settings.twilio, whatsapp_from="")))
    assert [a.name for a in only_sms] == ["sms"]
    none = build(replace(settings, twilio=replace(settings.twilio, whatsapp_from="",
                                                  sms_from="")))
    assert none == []


def test_capabilities() -> None:
    tw = TwilioSettings(account_sid=ACCOUNT_SID, auth_token="t", whatsapp_from="+49891",
                        sms_from="+49892")
    wa, sms_ = (TwilioAdapter(c, tw, "https://x.de", TwilioApi(tw)) for c in ("whatsapp", "sms"))
    assert wa.capabilities.window_hours == 24 and wa.capabilities.templates
    assert "voice" in wa.capabilities.media_kinds and not wa.capabilities.buttons
    assert sms_.capabilities.media_kinds == frozenset() and sms_.capabilities.max_text == 1600
    mms = TwilioAdapter("sms", replace(tw, mms=True), "https://x.de", TwilioApi(tw))
    assert mms.capabilities.media_kinds == {"image"} and mms.capabilities.media_group


@pytest.mark.parametrize(("text", "encoding", "count"), [
    ("", "GSM-7", 1),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("Grüße aus München" * 9, "GSM-7", 1),  # ü and ß are GSM-7: 153 septets
    ("Grüße aus München" * 10, "GSM-7", 2),
    ("€" * 80, "GSM-7", 1),  # 160 septets
    ("€" * 81, "GSM-7", 2),
    ("a" * 152 + "€", "GSM-7", 1),
    ("a" * 152 + "€" + "a" * 8, "GSM-7", 2),  # the escape pair is not split
    ("ç" * 70, "UCS-2", 1),  # ç is not GSM-7 (only Ç is)
    ("ç" * 71, "UCS-2", 2),
    ("ok 👍" * 14, "UCS-2", 1),  # 70 UTF-16 units
    ("a" * 66 + "👍", "UCS-2", 1),
    ("a" * 66 + "👍" + "a" * 4, "UCS-2", 2),  # the surrogate pair is not split
])
def test_sms_segments(text: str, encoding: str, count: int) -> None:
    segments = count_segments(text)
    assert (segments.encoding, segments.count) == (encoding, count)


def test_check_names_both_urls_to_paste(settings: Settings) -> None:
    for adapter in build(settings):
        assert isinstance(adapter, TwilioAdapter)
        line = adapter.describe()
        assert f"https://bot.example.de/webhooks/{adapter.name} " in line
        assert f"https://bot.example.de/webhooks/{adapter.name}/status" in line
