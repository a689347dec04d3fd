"""`find_sent` against the recording fake: after a send whose outcome is unknown, the
adapter finds the message Twilio accepted in Twilio's own message list (To, From,
DateSent>=), and only that message: not one with another body, recipient, sender or
media count, not one created before `since`, not one that failed at Twilio."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.twilio.conftest import started_adapter
from tests.twilio.fake_twilio import FakeTwilio
from tests.twilio.payloads import BUSINESS_SMS, BUSINESS_WA, CUSTOMER
from werkbot.adapters.twilio.adapter import TwilioAdapter
from werkbot.bot.adapter import SendError
from werkbot.bot.addresses import Address
from werkbot.bot.replies import MediaReply, TemplateReply, TextReply
from werkbot.bot.settings import Settings

WA = Address("whatsapp", CUSTOMER)
SMS = Address("sms", CUSTOMER)
OTHER = Address("whatsapp", "+491709999999")
TEXT = TextReply(text="Wir kommen morgen um 8 Uhr.")


def _a_minute_ago() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


async def test_finds_the_message_twilio_accepted(wa: TwilioAdapter, fake: FakeTwilio) -> None:
    since = _a_minute_ago()
    await wa.send(WA, TEXT)
    (sent,) = fake.sent
    found = await wa.find_sent(WA, TEXT, since)
    assert found is not None
    assert (found.provider_id, found.status) == (sent.sid, "sent")
    (query,) = fake.list_queries  # one page, filtered as the spec names the parameters
    assert (query["To"], query["From"]) == (f"whatsapp:{CUSTOMER}", BUSINESS_WA)
    assert query["DateSent>"] == since.strftime("%Y-%m-%dT00:00:00Z")
    assert query["PageSize"] == "50"


async def test_the_status_at_twilio_is_what_is_recorded(wa: TwilioAdapter,
                                                       fake: FakeTwilio) -> None:
    since = _a_minute_ago()
    receipt = await wa.send(WA, TEXT)
    fake.listed_status[receipt.provider_id] = "queued"
    found = await wa.find_sent(WA, TEXT, since)
    assert found is not None and found.status == "accepted"  # never "queued": resent
    fake.listed_status[receipt.provider_id] = "read"
    found = await wa.find_sent(WA, TEXT, since)
    assert found is not None and found.status == "read"


@pytest.mark.parametrize("status", ["failed", "undelivered", "canceled"])
async def test_a_copy_that_failed_at_twilio_does_not_count(
        wa: TwilioAdapter, fake: FakeTwilio, status: str) -> None:
    since = _a_minute_ago()
    receipt = await wa.send(WA, TEXT)
    fake.listed_status[receipt.provider_id] = status
    assert await wa.find_sent(WA, TEXT, since) is None


async def test_another_body_or_recipient_is_not_a_match(wa: TwilioAdapter,
                                                       fake: FakeTwilio) -> None:
    since = _a_minute_ago()
    await wa.send(WA, TEXT)
    await wa.send(OTHER, TextReply(text="Ganz etwas anderes"))
    assert await wa.find_sent(WA, TextReply(text="Wir kommen morgen um 9 Uhr."), since) is None
    assert await wa.find_sent(OTHER, TEXT, since) is None
    assert len(fake.list_queries) == 2


async def test_the_other_channel_on_the_same_number_is_not_a_match(
        wa: TwilioAdapter, sms: TwilioAdapter, fake: FakeTwilio) -> None:
    since = _a_minute_ago()
    await wa.send(WA, TEXT)
    assert await sms.find_sent(SMS, TEXT, since) is None
    assert (fake.list_queries[-1]["To"], fake.list_queries[-1]["From"]) == (
        CUSTOMER, BUSINESS_SMS)
    receipt = await sms.send(SMS, TEXT)
    found = await sms.find_sent(SMS, TEXT, since)
    assert found is not None and found.provider_id == receipt.provider_id


async def test_a_message_created_before_since_is_not_a_match(wa: TwilioAdapter,
                                                            fake: FakeTwilio) -> None:
    await wa.send(WA, TEXT)
    fake.sent[0] = replace(fake.sent[0], created=datetime.now(UTC) - timedelta(hours=1))
    assert await wa.find_sent(WA, TEXT, _a_minute_ago()) is None
    # ... and DateSent is whole days: one sent yesterday is not even listed.
    fake.sent[0] = replace(fake.sent[0], created=datetime.now(UTC) - timedelta(days=1))
    assert await wa.find_sent(WA, TEXT, datetime.now(UTC) - timedelta(days=2)) is not None
    assert await wa.find_sent(WA, TEXT, datetime.now(UTC)) is None


async def test_the_newest_of_identical_copies_is_found(wa: TwilioAdapter,
                                                      fake: FakeTwilio) -> None:
    since = _a_minute_ago()
    await wa.send(WA, TEXT)
    second = await wa.send(WA, TEXT)
    fake.sent[0] = replace(fake.sent[0], created=datetime.now(UTC) - timedelta(seconds=30))
    found = await wa.find_sent(WA, TEXT, since)
    assert found is not None and found.provider_id == second.provider_id


async def test_media_is_matched_by_caption_and_count(wa: TwilioAdapter,
                                                    fake: FakeTwilio) -> None:
    since = _a_minute_ago()
    photo = MediaReply(media_ids=(7,), caption="Angebot", media_kinds=("document",))
    receipt = await wa.send(WA, photo)
    found = await wa.find_sent(WA, photo, since)
    assert found is not None and found.provider_id == receipt.provider_id
    two = MediaReply(media_ids=(7, 8), caption="Angebot", media_kinds=("image", "image"))
    assert await wa.find_sent(WA, two, since) is None
    assert await wa.find_sent(WA, TextReply(text="Angebot"), since) is None


async def test_a_content_template_cannot_be_matched_so_it_is_not_found(
        wa: TwilioAdapter, fake: FakeTwilio) -> None:
    since = _a_minute_ago()
    menu = TemplateReply(kind="menu", template="menu", variables={"1": "Grüß Gott"})
    await wa.send(WA, menu)
    assert await wa.find_sent(WA, menu, since) is None
    assert fake.list_queries == []  # the list shows no ContentSid: not even asked


@pytest.mark.parametrize("broken", [
    pytest.param({"auth_token": "not-the-token"}, id="twilio-refuses-the-list"),
    pytest.param({"api_base": "http://127.0.0.1:9"}, id="twilio-unreachable"),
])
async def test_a_lookup_that_cannot_be_answered_is_a_retryable_error(
        settings: Settings, fake: FakeTwilio, broken: dict[str, str]) -> None:
    adapter = await started_adapter(settings, "whatsapp", replace(settings.twilio, **broken))
    try:
        with pytest.raises(SendError) as caught:
            await adapter.find_sent(WA, TEXT, _a_minute_ago())
    finally:
        await adapter.stop()
    assert caught.value.retryable
