"""Property-based tests of werkbot's input parsers (issue 9, "Fuzzed input").

No input makes a parser raise anything but its documented error:

- Twilio message and status forms: events, or `InboundError` (answered 400);
- Telegram updates: a `Parsed` (possibly without events); nothing is documented to raise;
- the config loader: a `Settings`, or `SettingsError` whose message starts with its key;
- `bot.events.parse_command` and the staff command parser: never raise;
- the Twilio form body parser: what `urllib.parse.parse_qsl` gives, or its error.

Example counts come from the environment (see `conftest.py`).
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from multidict import MultiDict

from tests.fuzz.conftest import any_text, parser_settings, telegram_updates, twilio_pairs
from werkbot.adapters.telegram.parse import Parsed, parse_update
from werkbot.adapters.twilio.inbound import InboundError, parse_message
from werkbot.adapters.twilio.status import parse_status
from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import CommandEvent, Event, TextEvent, parse_command
from werkbot.bot.settings import Settings, SettingsError, settings_from_dict
from werkbot.handlers.commands import commands

pytestmark = pytest.mark.fuzz

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


# -- Twilio ---------------------------------------------------------------------------------

_FORM_PIECES = st.sampled_from(["&", "=", "+", "%", "%2", "%2B", "%3A", "%C3%BC", "%FF", "%c3",
                                "%e2%82%ac", "%ZZ", "a", "Body", "ü", "€", " ", "&&", "=="])


@parser_settings
@given(body=st.one_of(st.binary(max_size=300),
                      st.lists(_FORM_PIECES, max_size=40).map(lambda p: "".join(p).encode()),
                      st.text(max_size=200).map(lambda t: t.encode("utf-8"))))
def test_the_twilio_form_parser_reads_what_parse_qsl_reads(body: bytes) -> None:
    """`parse_form` (the webhook's fast parser) gives what the standard library gives, or
    raises where it raises (invalid UTF-8, also when percent-escaped: answered 400)."""
    from urllib.parse import parse_qsl

    from werkbot.adapters.twilio.form import parse_form

    try:
        expected = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            parse_form(body)
        return
    assert list(parse_form(body).items()) == expected


@parser_settings
@given(channel=st.sampled_from(["whatsapp", "sms"]), pairs=twilio_pairs(),
       token=any_text)
@example(channel="whatsapp", pairs=[("MessageSid", "SM1"), ("From", "+491701234567"),
                                    ("NumMedia", "²")], token="")
def test_twilio_message_form_gives_an_event_or_inbound_error(
        channel: str, pairs: list[tuple[str, str]], token: str) -> None:
    form: MultiDict[str] = MultiDict(pairs)
    try:
        event = parse_message(channel, form, now=NOW, token=token)
    except InboundError:
        return
    assert isinstance(event, Event)
    assert event.id.startswith(f"{channel}:")
    assert event.sender.channel == channel


@parser_settings
@given(channel=st.sampled_from(["whatsapp", "sms"]), pairs=twilio_pairs(),
       token=any_text)
def test_twilio_status_form_gives_events_or_inbound_error(
        channel: str, pairs: list[tuple[str, str]], token: str) -> None:
    form: MultiDict[str] = MultiDict(pairs)
    try:
        events = parse_status(channel, form, now=NOW, token=token)
    except InboundError:
        return
    assert events and all(isinstance(e, Event) for e in events)


# -- Telegram -------------------------------------------------------------------------------

@parser_settings
@given(update=telegram_updates,
       bot_username=st.sampled_from(["", "fitter_test_bot", "@fitter_test_bot"]))
@example(update={"update_id": 1, "message": {"chat": {"id": 7001},
                                             "location": {"latitude": 51.5}}},
         bot_username="")
@example(update={"update_id": 2, "message": {"chat": {"id": 7001}, "photo": [{}]}},
         bot_username="")
@example(update={"update_id": 3, "message": {"chat": {"id": 7001},
                                             "location": {"latitude": None, "longitude": 1}}},
         bot_username="")
@example(update={"update_id": 4, "message": {"chat": {"id": 7001}, "contact": {}}},
         bot_username="")
@example(update={"update_id": 5, "callback_query": {"data": "wb:x", "message": {
    "message_id": 1, "chat": {}, "reply_markup": {"inline_keyboard": [1]}}}},
         bot_username="")
def test_telegram_update_gives_parsed(update: dict[str, Any], bot_username: str) -> None:
    parsed = parse_update(update, NOW, bot_username)
    assert isinstance(parsed, Parsed)
    assert all(isinstance(e, Event) for e in parsed.events)
    if parsed.update_id is None:
        assert parsed.events == ()


# -- config loader --------------------------------------------------------------------------

toml_scalars = st.one_of(
    st.text(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans(), st.dates(),
    st.times(), st.datetimes(), st.datetimes(timezones=st.just(UTC)))
toml_values: st.SearchStrategy[Any] = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(min_size=1), inner, max_size=3)),
    max_leaves=8)

_GOOD: dict[str, st.SearchStrategy[Any]] = {
    "public_url": st.sampled_from(["https://bot.example.de", "http://x", "ftp://x", "https://"]),
    "url": st.sampled_from(["sqlite+aiosqlite:///x.db", "postgresql+asyncpg://u@h/db"]),
    "timezone": st.sampled_from(["Europe/Berlin", "UTC", "../etc/passwd", "Nowhere/City",
                                 "", "a" * 300, "Europe/\x00"]),
    "holidays": st.sampled_from(["", "DE", "DE-BY", "XX", "DE-XX", "-", "DE-", "de-by"]),
    "language": st.sampled_from(["de", "en", "fr"]),
    "role": st.sampled_from(["all", "web", "worker", "both"]),
    "mode": st.sampled_from(["webhook", "polling", "embedded", "push"]),
    "handover": st.sampled_from(["mon 07:00", "sun 23:59", "xyz 07:00", "mon 7:00"]),
    "rotation_start": st.sampled_from(["", "2026-01-05", "2026-13-01", "yesterday"]),
    "id": st.sampled_from(["anna", "bob", "Anna", "", "a b"]),
    "roles": st.lists(st.sampled_from(["fitter", "office", "admin", "boss"]), max_size=3),
    "hours": st.dictionaries(
        st.sampled_from(["mon", "tue", "sun", "xyz"]),
        st.lists(st.sampled_from(["07:30-12:00", "13:00-24:00", "12:00-07:00", "25:00-26:00",
                                  "7:30-12:00", "07:30-24:30"]), max_size=2), max_size=3),
}


def _good_value(name: str, hint: Any) -> st.SearchStrategy[Any]:
    if name in _GOOD:
        return _GOOD[name]
    if dataclasses.is_dataclass(hint):
        return _section(cast(type[Any], hint))
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return st.lists(_good_value("", item), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(min_size=1, max_size=8), _good_value("", str), max_size=2)
    if hint is timedelta:
        return st.sampled_from(["30s", "10m", "2h", "3d", "0s", "3 d", "-1d", "1w",
                                "9" * 30 + "d"])
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers()
    return st.text(max_size=20)


def _value(name: str, hint: Any) -> st.SearchStrategy[Any]:
    return st.one_of(_good_value(name, hint), _good_value(name, hint), toml_values)


def _section(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    optional = {f.name: _value(f.name, hints[f.name]) for f in dataclasses.fields(cls)}
    return st.fixed_dictionaries({}, optional=optional).flatmap(
        lambda d: st.dictionaries(st.text(min_size=1, max_size=6), toml_values, max_size=1).map(
            lambda extra: {**d, **extra}))


def _names(cls: type[Any]) -> list[str]:
    out: list[str] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        out.append(f.name)
        hint = hints[f.name]
        if typing.get_origin(hint) is list:
            hint = typing.get_args(hint)[0]
        if dataclasses.is_dataclass(hint):
            out.extend(_names(cast(type[Any], hint)))
    return sorted(set(out))


_ENV_PARTS = st.one_of(st.sampled_from(_names(Settings)), st.sampled_from(["0", "1", "9", "²"]),
                       st.text(max_size=6))
env_names = st.lists(_ENV_PARTS, min_size=1, max_size=3).map(
    lambda parts: "WERKBOT_" + "__".join(p.upper() for p in parts))
env_values = st.one_of(st.sampled_from(["", "1", "true", "off", "[]", "[1]", '["a"]', "{}",
                                        '{"mon": ["07:00-12:00"]}', "a,b", "30s", "8080",
                                        "{", "[", "null"]), st.text())
envs = st.dictionaries(st.one_of(env_names, st.just("WERKBOT_CONFIG"), st.text(max_size=10)),
                       env_values, max_size=4)

_TOP = {f.name for f in dataclasses.fields(Settings)}


@parser_settings
@given(data=st.one_of(_section(Settings), st.dictionaries(st.text(min_size=1), toml_values)),
       env=envs)
@example(data={"staff": [{"id": "anna"}]}, env={"WERKBOT_STAFF__²__NAME": "x"})
def test_config_gives_settings_or_settings_error(data: dict[str, Any],
                                                  env: dict[str, str]) -> None:
    try:
        loaded = settings_from_dict(data, env)
    except SettingsError:
        return
    assert isinstance(loaded, Settings)


@parser_settings
@given(data=st.one_of(_section(Settings), st.dictionaries(st.text(min_size=1), toml_values)),
       env=envs)
@example(data={}, env={"WERKBOT___X": "1"})
def test_config_error_names_its_key(data: dict[str, Any], env: dict[str, str]) -> None:
    error: SettingsError | None = None
    try:
        settings_from_dict(data, env)
    except SettingsError as exc:
        error = exc
    _assert_names_key(error)


def _assert_names_key(error: SettingsError | None) -> None:
    if error is not None:
        assert error.key, f"SettingsError without a key: {error}"
        assert str(error).startswith(f"{error.key}: ")


# -- command parsers ------------------------------------------------------------------------

@parser_settings
@given(text=any_text)
@example(text="/")
@example(text="/ \u00a0x")
@example(text="/@bot")
def test_parse_command_never_raises(text: str) -> None:
    result = parse_command(text)
    if result is not None:
        name, args = result
        assert name and all(isinstance(a, str) for a in args)


_SENDER = Address("whatsapp", "+491701234567")
_CTX = cast(Context, None)  # `Commands.parse` reads only the event


@parser_settings
@given(text=st.one_of(any_text, st.sampled_from(["", "/", '"', "'", "job 'a b", "/job \"x",
                                                  "\\", "help", "/help", "JOB", "\x00"])),
       as_command=st.booleans())
def test_staff_command_parser_never_raises(text: str, as_command: bool) -> None:
    event: Event
    command = parse_command(text)
    if as_command and command is not None:
        event = CommandEvent(id="t:1", sender=_SENDER, received_at=NOW, name=command[0],
                             args=command[1], text=text)
    else:
        event = TextEvent(id="t:1", sender=_SENDER, received_at=NOW, text=text)
    match = commands.parse(event, _CTX)
    assert match is None or set(match) == {"command", "args", "typed"}

