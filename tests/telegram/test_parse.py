"""Telegram Update JSON to events: the recorded fixtures and our own edge cases."""

from __future__ import annotations

from typing import Any

from tests.telegram.conftest import NOW
from werkbot.adapters.telegram.parse import parse_update
from werkbot.bot.addresses import Address
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    ContactEvent,
    LocationEvent,
    MediaEvent,
    TextEvent,
    Unreachable,
)

Updates = dict[str, dict[str, Any]]
ALICE = Address("telegram", "7001")


def one(update: dict[str, Any], bot: str = "fitter_test_bot") -> Any:
    parsed = parse_update(update, NOW, bot)
    assert len(parsed.events) == 1
    return parsed.events[0]


def test_text_names_the_chat_and_the_person(updates: Updates) -> None:
    event = one(updates["text"])
    assert isinstance(event, TextEvent)
    assert event.id == "telegram:900000001"
    assert event.sender == ALICE
    assert event.sender_name == "Alice Jones"
    assert event.text == "Hi, my boiler is leaking"
    assert event.raw["update_id"] == 900000001


def test_deep_link_start_is_a_command_with_its_payload(updates: Updates) -> None:
    event = one(updates["command"])
    assert isinstance(event, CommandEvent)
    assert (event.name, event.args) == ("start", ("job_42",))


def test_photo_takes_the_largest_size_and_keeps_the_album_key(updates: Updates) -> None:
    event = one(updates["photo"])
    assert isinstance(event, MediaEvent)
    assert event.media[0].ref == "AgACAgQAAxkBAAIBZ2dHx-large"
    assert event.media[0].kind == "image" and event.media[0].size == 98123
    assert event.caption == "Leak under the sink"
    assert event.group == "13857430567189650"


def test_voice_and_document_keep_type_and_name(updates: Updates) -> None:
    voice, document = one(updates["voice"]), one(updates["document"])
    assert voice.media[0].kind == "voice" and voice.media[0].content_type == "audio/ogg"
    assert document.media[0].kind == "document"
    assert document.media[0].filename == "quote.pdf"
    assert document.media[0].content_type == "application/pdf"


def test_location(updates: Updates) -> None:
    event = one(updates["location"])
    assert isinstance(event, LocationEvent)
    assert (event.latitude, event.longitude) == (51.507351, -0.127758)


def test_own_contact_gets_a_plus_and_counts_as_own(updates: Updates) -> None:
    event = one(updates["contact"])
    assert isinstance(event, ContactEvent)
    assert event.phone == "+447700900123"
    assert event.own is True
    assert event.reply_to == "7001:100"


def test_someone_elses_contact_is_not_own(updates: Updates) -> None:
    update = updates["contact"]
    update["message"]["contact"]["user_id"] = 9999
    assert one(update).own is False
    del update["message"]["contact"]["user_id"]
    assert one(update).own is False


def test_callback_query_is_a_choice_with_its_button_label(updates: Updates) -> None:
    parsed = parse_update(updates["callback_query"], NOW)
    (event,) = parsed.events
    assert isinstance(event, ChoiceEvent)
    assert (event.value, event.label) == ("consent:yes", "Yes")
    assert parsed.callback_id == "4382bfdwdsb323b2d9"
    assert event.sender == ALICE


def test_werkbot_button_prefix_is_stripped(updates: Updates) -> None:
    update = updates["callback_query"]
    update["callback_query"]["data"] = "wb:hilfe"
    assert one(update).value == "hilfe"


def test_forum_message_answers_into_the_group_and_topic(updates: Updates) -> None:
    update = updates["text"]
    update["message"]["chat"] = {"id": -1001234567890, "type": "supergroup", "title": "Büro",
                                 "is_forum": True}
    update["message"]["message_thread_id"] = 42
    event = one(update)
    assert event.sender == Address("telegram", "-1001234567890")
    assert event.thread == "42"
    assert event.sender_name == "Alice Jones"


def test_command_for_another_bot_in_a_group_is_ignored(updates: Updates) -> None:
    update = updates["text"]
    update["message"]["text"] = "/help@other_bot"
    assert parse_update(update, NOW, "fitter_test_bot").events == ()
    update["message"]["text"] = "/help@Fitter_Test_Bot"
    assert isinstance(one(update), CommandEvent)


def test_blocked_bot_makes_the_chat_unreachable() -> None:
    update: dict[str, Any] = {"update_id": 77, "my_chat_member": {
        "chat": {"id": 7001, "type": "private", "first_name": "Alice"},
        "from": {"id": 7001, "is_bot": False, "first_name": "Alice"}, "date": 1732780900,
        "old_chat_member": {"status": "member", "user": {"id": 555000111, "is_bot": True,
                                                          "first_name": "Fitter Bot"}},
        "new_chat_member": {"status": "kicked", "until_date": 0,
                            "user": {"id": 555000111, "is_bot": True,
                                     "first_name": "Fitter Bot"}}}}
    event = one(update)
    assert isinstance(event, Unreachable) and event.sender == ALICE
    update["my_chat_member"]["new_chat_member"]["status"] = "member"
    assert parse_update(update, NOW).events == ()


def test_unknown_update_kinds_give_no_events() -> None:
    poll = {"update_id": 78, "poll": {"id": "1", "question": "?", "options": []}}
    edited = {"update_id": 79, "edited_message": {"message_id": 1, "date": 1,
                                                  "chat": {"id": 1, "type": "private"}}}
    for update in (poll, edited, {"update_id": 80}, {"no": "id"}):
        assert parse_update(update, NOW).events == ()


def test_aiogram_field_spelling_is_accepted(updates: Updates) -> None:
    update = updates["text"]
    update["message"]["from_user"] = update["message"].pop("from")
    assert one(update).sender_name == "Alice Jones"
