"""A plug-in's config section is validated like werkbot's own: unknown keys, bad values
and environment overrides name `<section>.<key>`; a table no plug-in claims is refused;
werkbot's own channels and handlers are plug-ins of the same entry-point group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from werkbot.bot.plugins import Plugin, declared_plugins
from werkbot.bot.settings import Settings, SettingsError, settings_from_dict


@dataclass(frozen=True)
class PagerSettings:
    token: str = ""
    retries: int = 3
    wait: timedelta = timedelta(seconds=30)
    numbers: list[str] = field(default_factory=list)


SECTIONS = {"pager": PagerSettings}


def problems_of(data: dict[str, object], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        settings_from_dict(data, env, SECTIONS)
    return [f"{key}: {problem}" for key, problem in caught.value.problems]


def test_the_section_is_read_typed_with_environment_overrides() -> None:
    settings = settings_from_dict(
        {"pager": {"token": "file", "numbers": ["+4989123"]}},
        {"WERKBOT_PAGER__TOKEN": "from-env", "WERKBOT_PAGER__RETRIES": "5",
         "WERKBOT_PAGER__WAIT": "2m"}, SECTIONS)
    assert settings.section(PagerSettings) == PagerSettings(
        token="from-env", retries=5, wait=timedelta(minutes=2), numbers=["+4989123"])
    assert settings.plugins == {"pager": settings.section(PagerSettings)}


def test_an_absent_section_stands_at_its_defaults() -> None:
    assert settings_from_dict({}, {}, SECTIONS).section(PagerSettings) == PagerSettings()


def test_bad_keys_and_values_name_the_key_and_are_listed_together() -> None:
    assert problems_of({"pager": {"tokn": "x", "retries": "three"}, "server": {"port": 0}},
                       {"WERKBOT_PAGER__WAIT": "soon"}) == [
        "pager.tokn: unknown key",
        "pager.retries: expected an integer, got 'three'",
        "pager.wait: expected a duration such as '30s', '10m', '2h' or '3d', got 'soon'",
        "server.port: expected a port between 1 and 65535",
    ]


def test_a_section_that_is_not_a_table_is_refused() -> None:
    assert problems_of({"pager": "on"}) == ["pager: expected a table"]


def test_a_table_no_plug_in_claims_is_an_unknown_key() -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_dict({"pager": {"token": "x"}}, {}, {})
    assert caught.value.problems == [("pager", "unknown key")]
    with pytest.raises(SettingsError) as caught:
        settings_from_dict({}, {"WERKBOT_PAGER__TOKEN": "x"}, {})
    assert caught.value.problems == [("pager", "unknown key")]


def test_the_plug_in_field_is_no_config_key() -> None:
    assert problems_of({"plugins": {"pager": {}}}) == ["plugins: unknown key"]


def test_a_section_nobody_declared_cannot_be_read() -> None:
    with pytest.raises(LookupError, match="PagerSettings"):
        Settings().section(PagerSettings)


def test_werkbot_declares_its_own_channels_and_handlers_as_plug_ins() -> None:
    own = {p.name: p for p in declared_plugins() if p.distribution.startswith("werkbot ")}
    assert sorted(own) == ["handlers", "sandbox", "telegram", "twilio"]
    assert own["handlers"].handlers is not None and own["handlers"].cli is not None
    assert all(own[name].adapters is not None for name in ("sandbox", "telegram", "twilio"))


def test_a_plug_in_section_must_be_a_dataclass() -> None:
    with pytest.raises(TypeError, match="dataclass"):
        Plugin(name="pager", section=dict)


@dataclass(frozen=True)
class NeedsToken:
    token: str


def test_a_plug_in_section_needs_defaults_everywhere() -> None:
    with pytest.raises(TypeError, match="without a default: token"):
        Plugin(name="pager", section=NeedsToken)
