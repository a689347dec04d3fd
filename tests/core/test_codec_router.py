"""The codec (events and replies to JSON and back), the router tree and `degrade`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from werkbot.bot.addresses import Address
from werkbot.bot.capabilities import Capabilities, MediaLinker, degrade, split_text
from werkbot.bot.codec import CodecError, dumps_event, dumps_reply, loads_event, loads_reply
from werkbot.bot.context import Context
from werkbot.bot.events import (
    EVENT_TYPES,
    ChoiceEvent,
    CommandEvent,
    ContactEvent,
    DeliveryStatus,
    EditEvent,
    Event,
    LocationEvent,
    MediaEvent,
    MediaRef,
    TextEvent,
    TimerEvent,
    UnknownEvent,
    Unreachable,
)
from werkbot.bot.replies import (
    REPLY_TYPES,
    Choice,
    ChoicesReply,
    MediaReply,
    Reply,
    TemplateReply,
    TextReply,
)
from werkbot.bot.router import Filter, Match, Router, timer

AT = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=UTC)
WA = Address("whatsapp", "+491701234567")
TG = Address("telegram", "-100123")
COMMON: dict[str, Any] = {"sender": WA, "received_at": AT, "sender_name": "Änne",
                          "reply_to": "SMprev", "thread": "t1", "raw": {"Body": "x", "n": [1]}}

EVENTS: list[Event] = [
    TextEvent(id="e1", text="Grüß Gott 🚿\nzweite Zeile", **COMMON),
    MediaEvent(id="e2", caption="Bild", group="g1", **COMMON, media=(
        MediaRef(kind="image", content_type="image/jpeg", ref="https://x/y", filename="a.jpg",
                 size=12),
        MediaRef(kind="voice", content_type="audio/ogg", stored_id=7),
    )),
    LocationEvent(id="e3", latitude=48.137154, longitude=11.576124, label="Praxis",
                  address="Marienplatz 1", **COMMON),
    ContactEvent(id="e4", phone="+491709999999", name="Karl", own=True, **COMMON),
    ChoiceEvent(id="e5", value="notfall", label="Notfall", **COMMON),
    CommandEvent(id="e6", name="job", args=("new", "Bad", "@karl"), text="/job new Bad @karl",
                 **COMMON),
    DeliveryStatus(id="e7", provider_message_id="SM1", status="failed", error_code="63016",
                   window_closed=True, outbox_id=41, **COMMON),
    Unreachable(id="e8", reason="blocked", outbox_id=42, **COMMON),
    UnknownEvent(id="e9", type="poll", **COMMON),  # a field named `type`: not the codec's tag
    EditEvent(id="e10", text="nicht im Bad, im Keller", original="7001:42",
              **{**COMMON, "actor": Address("telegram", "7002")}),
    TimerEvent(id="timer:x", name="escalate", payload={"incident": 4, "step": "chef"},
               **{**COMMON, "sender": Address("timer", "escalate")}),
]
REPLIES: list[Reply] = [
    TextReply(text="Hallo\n\nWelt", kind="menu", reply_to="SM1", thread="42"),
    ChoicesReply(text="Bitte wählen", choices=(Choice("Ja", "ja"), Choice("Nein", "nein")),
                 share_contact=True, kind="consent_request"),
    MediaReply(media_ids=(3, 4), caption="Fotos", media_kinds=("image", "document")),
    TemplateReply(template="alert", variables={"1": "Müller", "2": "A-1042"},
                  fallback_text="Alarm", kind="alert"),
]


def test_every_event_type_is_covered() -> None:
    assert {type(e).__name__ for e in EVENTS} == set(EVENT_TYPES)


def test_every_reply_type_is_covered() -> None:
    assert {type(r).__name__ for r in REPLIES} == set(REPLY_TYPES)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_events_round_trip(event: Event) -> None:
    back = loads_event(dumps_event(event))
    assert type(back) is type(event)
    assert back == event
    assert back.raw == event.raw  # compare=False on raw: check it explicitly
    assert back.received_at.tzinfo is not None


@pytest.mark.parametrize("reply", REPLIES, ids=lambda r: type(r).__name__)
def test_replies_round_trip(reply: Reply) -> None:
    back = loads_reply(dumps_reply(reply))
    assert type(back) is type(reply) and back == reply


def test_stored_data_names_only_known_types() -> None:
    with pytest.raises(CodecError):
        loads_event('{"type": "os.system", "id": "x"}')
    with pytest.raises(CodecError):
        loads_reply('{"text": "no type"}')
    with pytest.raises(CodecError):
        loads_reply(dumps_event(EVENTS[0]))  # an event is not a reply

    with pytest.raises(CodecError):
        loads_event("[1, 2]")  # JSON, but not a stored object


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_rows_stored_before_orjson_read_the_same(event: Event) -> None:
    """Payloads of older rows were written by the standard library, with ASCII escapes."""
    old = json.dumps(json.loads(dumps_event(event)))
    assert "\\u00c4nne" in old  # "Änne", as the standard library escapes it
    back = loads_event(old)
    assert back == event and back.raw == event.raw


def test_delivery_facts_stored_in_raw_before_they_were_fields_decode_into_the_fields(
        ) -> None:
    """Inbox rows written before: the outbox's own report and Twilio's closed window."""
    old_report = ('{"$type":"DeliveryStatus","id":"failed:outbox-7","sender":"sms:+4915112345",'
                  '"received_at":"2026-12-02T09:30:15+00:00","provider_message_id":"outbox-7",'
                  '"status":"failed","error_code":"30003","raw":{"outbox_id":7,"kind":"menu"}}')
    old_window = ('{"$type":"DeliveryStatus","id":"whatsapp:status:SM9:failed",'
                  '"sender":"whatsapp:+4915112345","received_at":"2026-12-02T09:30:15+00:00",'
                  '"provider_message_id":"SM9","status":"failed","error_code":"63016",'
                  '"raw":{"ErrorCode":"63016","window_closed":true}}')
    old_blocked = ('{"$type":"Unreachable","id":"unreachable:outbox-8","sender":"telegram:5",'
                   '"received_at":"2026-12-02T09:30:15+00:00","reason":"blocked",'
                   '"raw":{"outbox_id":8,"kind":"menu"}}')

    report, window, blocked = (loads_event(p) for p in (old_report, old_window, old_blocked))

    assert isinstance(report, DeliveryStatus) and report.outbox_id == 7
    assert not report.window_closed and report.raw == {"kind": "menu"}
    assert isinstance(window, DeliveryStatus) and window.window_closed
    assert window.outbox_id is None and window.raw == {"ErrorCode": "63016"}
    assert isinstance(blocked, Unreachable) and blocked.outbox_id == 8


def test_a_provider_status_is_not_taken_for_the_outbox_own_report() -> None:
    status = loads_event(dumps_event(DeliveryStatus(
        id="s", provider_message_id="SM1", status="delivered", **COMMON)))
    assert isinstance(status, DeliveryStatus)
    assert status.outbox_id is None and not status.window_closed


def test_payloads_are_readable_utf8() -> None:
    assert "Grüß Gott 🚿" in dumps_event(EVENTS[0])


def test_provider_values_beyond_orjson_are_stored_all_the_same() -> None:
    """A Telegram id past 64 bits or a lone surrogate from a provider's JSON: kept as is."""
    raw = {"id": 2**70, "text": "broken \ud800 pair", "nested": {"big": -(2**65)}}
    event = TextEvent(id="e1", sender=TG, received_at=AT, text="x", raw=raw)
    back = loads_event(dumps_event(event))
    assert back.raw == raw
    reply = TextReply(text="lone \udfff")
    assert loads_reply(dumps_reply(reply)) == reply


# ---------------------------------------------------------------- router


def _text(body: str, sender: Address = WA) -> TextEvent:
    return TextEvent(id=body, sender=sender, received_at=AT, text=body)


CTX: Any = object()  # filters below never look at the context


def starts(prefix: str) -> Filter:
    return Filter(lambda e, _c: isinstance(e, TextEvent) and e.text.startswith(prefix),
                  f"starts({prefix})")


def on_channel(channel: str) -> Filter:
    async def check(event: Event, _ctx: Context) -> bool:  # async filters work too
        return event.sender.channel == channel

    return Filter(check, channel)


def extract(key: str) -> Filter:
    return Filter(lambda e, _c: {key: e.text.split()[-1]} if isinstance(e, TextEvent) else None)


async def _resolve(root: Router, event: Event) -> Match | None:
    return await root.resolve(event, CTX)


async def _name(root: Router, event: Event) -> str | None:
    match = await _resolve(root, event)
    return None if match is None else match.handler.__name__


def _handler(name: str) -> Any:
    async def handler(event: Event, ctx: Context) -> None:
        return None

    handler.__name__ = name
    return handler


async def test_filters_compose_with_and_or_not() -> None:
    root = Router("root")
    root.on(TextEvent, starts("a") & on_channel("whatsapp"))(_handler("a_wa"))
    root.on(TextEvent, starts("b") | starts("c"))(_handler("b_or_c"))
    root.on(TextEvent, ~starts("z"))(_handler("not_z"))
    assert await _name(root, _text("apfel")) == "a_wa"
    assert await _name(root, _text("apfel", TG)) == "not_z"  # & needs both
    assert await _name(root, _text("birne")) == "b_or_c"
    assert await _name(root, _text("cola")) == "b_or_c"
    assert await _name(root, _text("dattel")) == "not_z"
    assert await _name(root, _text("zitrone")) is None
    nested = ~(starts("a") | starts("b")) & on_channel("telegram")
    assert await nested.check(_text("x", TG), CTX) == {}
    assert await nested.check(_text("a", TG), CTX) is None
    assert await nested.check(_text("x"), CTX) is None


async def test_a_timer_filter_takes_its_own_timer_only() -> None:
    root = Router("root")
    root.on(TimerEvent, timer("jobs.batch"))(_handler("batch"))
    root.on(TimerEvent, timer("emergency.escalate"))(_handler("escalate"))
    def due(name: str) -> TimerEvent:
        return TimerEvent(id=f"timer:{name}", name=name, payload={"incident": 1},
                          **{**COMMON, "sender": Address("timer", name)})

    assert await _name(root, due("emergency.escalate")) == "escalate"
    assert await _name(root, due("jobs.batch")) == "batch"
    assert await _name(root, due("retention")) is None
    assert await timer("jobs.batch").check(_text("jobs.batch"), CTX) is None  # not a timer


async def test_extracted_values_are_merged_into_the_match() -> None:
    root = Router("root")
    root.on(TextEvent, starts("job") & extract("code"), extract("last"))(
        _handler("job"))
    match = await _resolve(root, _text("job A-1042"))
    assert match is not None
    assert match.values == {"code": "A-1042", "last": "A-1042"}
    negated = ~extract("code")  # a negated match extracts nothing
    assert await negated.check(ChoiceEvent(id="c", sender=WA, received_at=AT, value="v"),
                               CTX) == {}


async def test_first_match_wins_depth_first_in_registration_order() -> None:
    root, first, second, inner = Router("root"), Router("first"), Router("second"), Router("in")
    root.include_router(first)
    root.include_router(second)
    first.include_router(inner)
    inner.on(TextEvent, starts("x"))(_handler("inner_x"))
    first.on(TextEvent, starts("xy"))(_handler("first_xy"))
    second.on(TextEvent)(_handler("second_any"))
    root.on(ChoiceEvent)(_handler("root_choice"))
    assert await _name(root, _text("xy")) == "first_xy"  # a node's own handlers first
    assert await _name(root, _text("xz")) == "inner_x"  # then its children
    assert await _name(root, _text("q")) == "second_any"
    choice = ChoiceEvent(id="c", sender=WA, received_at=AT, value="v")
    assert await _name(root, choice) == "root_choice"
    assert (await _resolve(root, _text("q")) or Match(_handler(""), {}, (), "")).router == \
        "second"


def test_a_router_cannot_contain_itself() -> None:
    a, b = Router("a"), Router("b")
    a.include_router(b)
    with pytest.raises(ValueError, match="contain itself"):
        b.include_router(a)
    with pytest.raises(ValueError, match="contain itself"):
        a.include_router(a)


# ---------------------------------------------------------------- degrade

SMS = Capabilities(max_text=160)
BUTTONS = Capabilities(buttons=True, max_buttons=3, max_text=4096,
                       media_kinds=frozenset({"image"}), media_group=True)
NO_MEDIA = Capabilities(max_text=4096)
TEMPLATES = Capabilities(buttons=True, max_buttons=3, templates=True)


class Links(MediaLinker):
    def link(self, media_id: int) -> str:
        return f"https://bot.example.de/media/tok{media_id}"


def _texts(replies: list[Reply]) -> list[str]:
    out = []
    for r in replies:
        assert isinstance(r, TextReply), r
        out.append(r.text)
    return out


def test_choices_become_numbered_text_on_sms() -> None:
    reply = ChoicesReply(text="Wie können wir helfen?", kind="menu",
                         choices=(Choice("Notfall", "notfall"), Choice("Hilfe", "hilfe")))
    (only,) = degrade(reply, SMS)
    assert isinstance(only, TextReply) and only.kind == "menu"
    assert only.text == "Wie können wir helfen?\n\n1) Notfall\n2) Hilfe"


def test_choices_stay_buttons_where_the_channel_has_enough() -> None:
    reply = ChoicesReply(text="?", choices=(Choice("a", "a"), Choice("b", "b")),
                         share_contact=True)
    assert degrade(reply, Capabilities(buttons=True, max_buttons=3, share_contact=True)) == [
        reply]
    (kept,) = degrade(reply, BUTTONS)  # no contact button there: the request is dropped
    assert isinstance(kept, ChoicesReply) and kept.share_contact is False
    four = ChoicesReply(text="?", choices=tuple(Choice(str(n), str(n)) for n in range(4)))
    (numbered,) = degrade(four, BUTTONS)  # more choices than buttons: numbered text
    assert isinstance(numbered, TextReply) and "4) 3" in numbered.text


def test_long_text_is_split_at_paragraphs_then_words_within_the_limit() -> None:
    paragraph = "Satz eins ist hier. " * 5
    body = "\n\n".join([paragraph.strip()] * 4)
    parts = _texts(degrade(TextReply(text=body, kind="k", thread="9"), SMS))
    assert all(len(p) <= SMS.max_text for p in parts)
    assert all(p == paragraph.strip() for p in parts)  # cut at the paragraph breaks
    words = " ".join(f"wort{n}" for n in range(100))
    parts = _texts(degrade(TextReply(text=words), SMS))
    assert len(parts) > 1 and all(len(p) <= 160 for p in parts)
    assert " ".join(parts).split() == words.split()  # no word cut in half, none lost
    assert all(isinstance(r, TextReply) and r.thread == "9"
               for r in degrade(TextReply(text=body, thread="9"), SMS))


def test_a_text_without_spaces_is_cut_hard_at_the_limit() -> None:
    parts = _texts(split_text("x" * 400, SMS, TextReply(text="")))
    assert [len(p) for p in parts] == [160, 160, 80]


def test_media_becomes_links_where_the_channel_cannot_carry_it() -> None:
    reply = MediaReply(media_ids=(1, 2), caption="Ihre Fotos", media_kinds=("image", "image"))
    (text_only,) = _texts(degrade(reply, NO_MEDIA, Links()))
    assert text_only.splitlines() == ["Ihre Fotos", "https://bot.example.de/media/tok1",
                                      "https://bot.example.de/media/tok2"]
    mixed = MediaReply(media_ids=(1, 2), caption="Unterlagen", media_kinds=("image",
                                                                            "document"))
    album, links = degrade(mixed, BUTTONS, Links())
    assert isinstance(album, MediaReply) and album.media_ids == (1,)
    assert album.caption == "Unterlagen"
    assert isinstance(links, TextReply) and links.text == "https://bot.example.de/media/tok2"


def test_media_is_sent_one_by_one_without_albums() -> None:
    single = Capabilities(media_kinds=frozenset({"image"}))
    reply = MediaReply(media_ids=(1, 2, 3), caption="c")
    parts = degrade(reply, single, Links())
    assert [r.media_ids for r in parts if isinstance(r, MediaReply)] == [(1,), (2,), (3,)]
    assert [r.caption for r in parts if isinstance(r, MediaReply)] == ["c", "", ""]


def test_a_template_falls_back_to_its_text_where_templates_do_not_exist() -> None:
    reply = TemplateReply(template="alert", variables={"1": "x"}, fallback_text="Notfall!",
                          kind="alert")
    assert degrade(reply, TEMPLATES) == [reply]
    (fallback,) = degrade(reply, SMS)
    assert isinstance(fallback, TextReply)
    assert (fallback.text, fallback.kind) == ("Notfall!", "alert")
