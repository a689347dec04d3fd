"""Inbound media download: credentials only to the Twilio host, limits per channel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.twilio.conftest import started_adapter
from tests.twilio.fake_twilio import FakeTwilio
from werkbot.adapters.twilio.adapter import TwilioAdapter
from werkbot.adapters.twilio.media import MediaRefused, MediaUnavailable
from werkbot.bot.adapter import MediaTooLarge
from werkbot.bot.events import MediaRef
from werkbot.bot.settings import Settings

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 1000
OGG = b"OggS" + b"\x01" * 1000
MB = 1024 * 1024


@pytest.fixture
async def whatsapp(settings: Settings) -> AsyncIterator[TwilioAdapter]:
    adapter = await started_adapter(settings, "whatsapp")
    yield adapter
    await adapter.stop()


async def test_download_sends_credentials_to_twilio_only(whatsapp: TwilioAdapter,
                                                         fake: FakeTwilio) -> None:
    url = fake.add_media(OGG, "audio/ogg")
    data, content_type = await whatsapp.fetch_media(MediaRef("voice", "audio/ogg", url))
    assert (data, content_type) == (OGG, "audio/ogg")
    (api_hit,) = fake.api_hits
    assert api_hit.authorization.startswith("Basic ")
    (cdn_hit,) = fake.cdn_hits
    assert cdn_hit.authorization == ""


async def test_wrong_credentials_are_not_retried_elsewhere(settings: Settings,
                                                           fake: FakeTwilio) -> None:
    fake.auth_token = "rotated-token-000000000000000000"
    adapter = await started_adapter(settings, "whatsapp")
    try:
        with pytest.raises(MediaUnavailable):
            await adapter.fetch_media(MediaRef("image", "image/jpeg",
                                               fake.add_media(JPEG, "image/jpeg")))
    finally:
        await adapter.stop()
    assert len(fake.api_hits) == 1 and fake.cdn_hits == []


@pytest.mark.parametrize("url", [
    "https://evil.example/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
    "file:///etc/passwd",
    "/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
    "not a url at all",
])
async def test_foreign_or_odd_urls_are_refused_without_a_request(
        whatsapp: TwilioAdapter, fake: FakeTwilio, url: str) -> None:
    with pytest.raises(MediaRefused):
        await whatsapp.fetch_media(MediaRef("image", "image/jpeg", url))
    assert fake.api_hits == [] and fake.cdn_hits == []


async def test_cdn_host_itself_is_foreign(whatsapp: TwilioAdapter, fake: FakeTwilio) -> None:
    fake.add_media(JPEG, "image/jpeg")
    me = next(iter(fake.media))
    with pytest.raises(MediaRefused):
        await whatsapp.fetch_media(MediaRef("image", "image/jpeg", f"{fake.cdn_url}/cdn/{me}"))
    assert fake.cdn_hits == []


async def test_whatsapp_image_over_5_mb_is_too_large(whatsapp: TwilioAdapter,
                                                     fake: FakeTwilio) -> None:
    url = fake.add_media(JPEG + b"\x00" * (5 * MB), "image/jpeg")
    with pytest.raises(MediaTooLarge):
        await whatsapp.fetch_media(MediaRef("image", "image/jpeg", url))


async def test_whatsapp_video_of_6_mb_is_fine(whatsapp: TwilioAdapter, fake: FakeTwilio) -> None:
    body = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (6 * MB)
    url = fake.add_media(body, "video/mp4")
    data, _ = await whatsapp.fetch_media(MediaRef("video", "video/mp4", url))
    assert len(data) == len(body)


async def test_whatsapp_over_16_mb_is_too_large(whatsapp: TwilioAdapter,
                                                fake: FakeTwilio) -> None:
    url = fake.add_media(b"%PDF-" + b"\x00" * (16 * MB), "application/pdf")
    with pytest.raises(MediaTooLarge):
        await whatsapp.fetch_media(MediaRef("document", "application/pdf", url))


async def test_mms_over_5_mb_is_too_large(sms: TwilioAdapter, fake: FakeTwilio) -> None:
    url = fake.add_media(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (5 * MB), "video/mp4")
    with pytest.raises(MediaTooLarge):
        await sms.fetch_media(MediaRef("video", "video/mp4", url))


async def test_missing_media_is_unavailable(whatsapp: TwilioAdapter, fake: FakeTwilio) -> None:
    url = fake.add_media(JPEG, "image/jpeg")
    fake.media.clear()
    with pytest.raises(MediaUnavailable):
        await whatsapp.fetch_media(MediaRef("image", "image/jpeg", url))


async def test_size_limit_holds_without_content_length(whatsapp: TwilioAdapter,
                                                       fake: FakeTwilio) -> None:
    fake.chunked = True
    url = fake.add_media(JPEG + b"\x00" * (5 * MB), "image/jpeg")
    with pytest.raises(MediaTooLarge):
        await whatsapp.fetch_media(MediaRef("image", "image/jpeg", url))
    small = fake.add_media(JPEG, "image/jpeg")
    data, _ = await whatsapp.fetch_media(MediaRef("image", "image/jpeg", small))
    assert data == JPEG
