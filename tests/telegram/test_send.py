"""Outbound: replies as Bot API calls, uploads and file_id reuse, errors, media download."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from tests.telegram.conftest import NOW
from tests.telegram.fake_bot_api import FakeBotAPI
from tests.telegram.helpers import text_update
from werkbot.adapters.telegram.adapter import TelegramAdapter
from werkbot.bot.adapter import MediaTooLarge, SendError, StoredMedia
from werkbot.bot.addresses import Address
from werkbot.bot.events import ChoiceEvent, ContactEvent, Event, MediaRef
from werkbot.bot.replies import Choice, ChoicesReply, MediaReply, TemplateReply, TextReply
from werkbot.bot.settings import Settings

ALICE = Address("telegram", "7001")
JPEG = b"\xff\xd8\xff\xe0" + b"j" * 100
PDF = b"%PDF-1.4" + b"p" * 100
OGG = b"OggS" + b"o" * 100


class Store:
    """The media store as an adapter sees it: bytes by id, counting reads."""

    def __init__(self) -> None:
        self.items = {1: StoredMedia(1, JPEG, "image/jpeg", "leak.jpg", "image"),
                      2: StoredMedia(2, JPEG + b"2", "image/jpeg", "sink.jpg", "image"),
                      3: StoredMedia(3, PDF, "application/pdf", "quote.pdf", "document"),
                      4: StoredMedia(4, OGG, "audio/ogg", "note.ogg", "voice")}
        self.reads: list[int] = []

    def link(self, media_id: int) -> str:
        return f"https://bot.example.de/media/{media_id}"

    async def read(self, media_id: int) -> StoredMedia:
        self.reads.append(media_id)
        return self.items[media_id]


@pytest.fixture
async def adapter(tg_settings: Settings) -> AsyncIterator[tuple[TelegramAdapter, list[Event]]]:
    fed: list[Event] = []

    async def feed(events: Sequence[Event]) -> None:
        fed.extend(events)

    made = TelegramAdapter(tg_settings, embedded=True)
    await made.start(feed, Store())
    yield made, fed
    await made.stop()


Adapter = tuple[TelegramAdapter, list[Event]]


async def test_text_goes_to_the_chat_thread_and_replied_message(
        adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, _ = adapter
    receipt = await tg.send(Address("telegram", "-1001234567890"),
                            TextReply(text="Kommen um 14 Uhr <bitte>", thread="42",
                                      reply_to="-1001234567890:101"))
    (call,) = fake_api.calls_of("sendMessage")
    assert call.params["chat_id"] == "-1001234567890"
    assert call.params["text"] == "Kommen um 14 Uhr <bitte>"
    assert call.params["message_thread_id"] == "42"
    assert call.params["reply_parameters"]["message_id"] == 101
    assert "parse_mode" not in call.params
    assert receipt.provider_id.startswith("-1001234567890:")


async def test_new_topic_marker_opens_one_forum_topic_and_reports_it(
        adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, _ = adapter
    group = Address("telegram", "-1001234567890")
    first = await tg.send(group, TextReply(text="Kunde wh***67 (WhatsApp)\nHallo", thread="new:5"))
    second = await tg.send(group, TextReply(text="Noch ein Foto", thread="new:5"))
    (topic,) = fake_api.calls_of("createForumTopic")
    assert topic.params["name"] == "Kunde wh***67 (WhatsApp)"
    sends = fake_api.calls_of("sendMessage")
    assert sends[0].params["message_thread_id"] == sends[1].params["message_thread_id"]
    assert first.thread == second.thread == sends[0].params["message_thread_id"]


async def test_template_falls_back_to_its_text(adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, _ = adapter
    await tg.send(ALICE, TemplateReply(template="alert", fallback_text="Rohrbruch!"))
    assert fake_api.calls_of("sendMessage")[0].params["text"] == "Rohrbruch!"


async def test_choice_value_too_long_for_callback_data_fails_visibly(adapter: Adapter) -> None:
    tg, _ = adapter
    with pytest.raises(SendError) as raised:
        await tg.send(ALICE, ChoicesReply(text="?", choices=(Choice("x", "v" * 70),)))
    assert raised.value.code == "callback-data-too-long" and not raised.value.retryable


async def test_share_contact_keyboard_and_what_comes_back(
        adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, fed = adapter
    await tg.send(ALICE, ChoicesReply(text="Ihre Nummer?", share_contact=True, choices=(
        Choice("📱 Nummer teilen", "share"), Choice("Lieber nicht", "no"))))
    keyboard = fake_api.calls_of("sendMessage")[0].params["reply_markup"]["keyboard"]
    assert keyboard[0][0] == {"text": "📱 Nummer teilen", "request_contact": True}
    assert keyboard[1][0]["text"] == "Lieber nicht"
    await tg.accept([text_update(1, "Lieber nicht")])
    pressed = fed[-1]
    assert isinstance(pressed, ChoiceEvent) and pressed.value == "no"
    contact = text_update(2, "")
    del contact["message"]["text"]
    contact["message"]["contact"] = {"phone_number": "4917111111111", "first_name": "Alice",
                                     "user_id": 7001}
    await tg.accept([contact])
    shared = fed[-1]
    assert isinstance(shared, ContactEvent)
    assert shared.own and shared.phone == "+4917111111111"


async def test_photo_is_uploaded_once_then_sent_by_file_id(
        adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, _ = adapter
    for _ in range(2):
        await tg.send(ALICE, MediaReply(media_ids=(1,), caption="Ihr Foto",
                                        media_kinds=("image",)))
    first, second = fake_api.calls_of("sendPhoto")
    assert first.upload("photo") == JPEG and first.params["caption"] == "Ihr Foto"
    assert second.files == {} and second.params["photo"].startswith("photo-")


async def test_stale_file_id_is_replaced_by_a_new_upload(
        adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, _ = adapter
    await tg.send(ALICE, MediaReply(media_ids=(3,), media_kinds=("document",)))
    fake_api.fail_next("sendDocument", 400, "Bad Request: wrong file identifier")
    await tg.send(ALICE, MediaReply(media_ids=(3,), media_kinds=("document",)))
    calls = fake_api.calls_of("sendDocument")
    assert [bool(c.files) for c in calls] == [True, False, True]


async def test_album_is_one_media_group_and_voice_goes_alone(
        adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, _ = adapter
    await tg.send(ALICE, MediaReply(media_ids=(1, 2, 3, 4), caption="Unterlagen",
                                    media_kinds=("image", "image", "document", "voice")))
    (group,) = fake_api.calls_of("sendMediaGroup")
    assert [m["type"] for m in group.params["media"]] == ["photo", "photo"]
    assert group.params["media"][0]["caption"] == "Unterlagen"
    assert "caption" not in group.params["media"][1]
    assert len(group.files) == 2
    assert fake_api.calls_of("sendDocument")[0].upload("document") == PDF
    assert fake_api.calls_of("sendVoice")[0].upload("voice") == OGG
    await tg.send(ALICE, MediaReply(media_ids=(1, 2), media_kinds=("image", "image")))
    again = fake_api.calls_of("sendMediaGroup")[1]
    assert again.files == {}  # both photos by their cached file_id


@pytest.mark.parametrize(("status", "expected"), [
    (429, {"retryable": True, "retry_after": 17.0, "unreachable": False, "code": "429"}),
    (403, {"retryable": False, "unreachable": True, "code": "403"}),
    (400, {"retryable": False, "unreachable": False, "code": "400"}),
    (502, {"retryable": True, "unreachable": False, "code": "5xx"}),
])
async def test_errors_become_send_errors_the_outbox_understands(
        adapter: Adapter, fake_api: FakeBotAPI, status: int, expected: dict[str, Any]) -> None:
    tg, _ = adapter
    fake_api.fail_next("sendMessage", status, retry_after=17 if status == 429 else None)
    with pytest.raises(SendError) as raised:
        await tg.send(ALICE, TextReply(text="Hallo"))
    for name, value in expected.items():
        assert getattr(raised.value, name) == value


async def test_fetch_media_downloads_and_refuses_over_20_mb(
        adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, _ = adapter
    fake_api.add_file("AgAC-large", JPEG)
    data, _content_type = await tg.fetch_media(MediaRef(kind="image", ref="AgAC-large",
                                                        content_type="image/jpeg"))
    assert data == JPEG
    assert fake_api.methods()[-1] == "getFile"
    fake_api.add_file("huge", b"0" * (20 * 1024 * 1024 + 1))
    with pytest.raises(MediaTooLarge):
        await tg.fetch_media(MediaRef(kind="video", ref="huge"))
    with pytest.raises(MediaTooLarge):  # known from the update: not even asked
        await tg.fetch_media(MediaRef(kind="video", ref="other", size=25 * 1024 * 1024))
    assert fake_api.calls_of("getFile")[-1].params["file_id"] == "huge"


async def test_embedded_adapter_neither_sets_a_webhook_nor_mounts_a_route(
        adapter: Adapter, fake_api: FakeBotAPI) -> None:
    tg, _ = adapter
    assert tg.routes() == []
    assert fake_api.calls == []
    assert NOW.tzinfo is not None
