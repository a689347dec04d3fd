"""Settings: the TOML file plus `WERKBOT_<SECTION>__<KEY>` environment overrides.

Every value is checked at load time. Every problem found is collected and one
`SettingsError` lists them all, each naming its key (`twilio.auth_token: ...`), so an
operator fixes the file in one round and werkbot never starts half-configured. Sections
and keys are typed dataclasses; unknown keys are errors too (a typo must not pass
silently). The cross-field rules live in `bot/config_rules.py`.

A plug-in (`bot/plugins.py`) may declare a section of its own, a dataclass like the ones
here: its table is checked by the same rules and lands in `Settings.plugins`, read with
`settings.section(kind)`. A top-level table no plug-in claims is an unknown key.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass, replace
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

DEFAULT_CONFIG = Path("config/werkbot.toml")  # relative to the working directory
# The configuration that ships inside the package: default texts, the demo, a sample.
PACKAGED_CONFIG = Path(__file__).resolve().parents[1] / "config"
PACKAGED_TEXTS = PACKAGED_CONFIG / "texts"
ENV_PREFIX = "WERKBOT_"
CONFIG_ENV = "WERKBOT_CONFIG"  # names the config file; not an override
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROLES = frozenset({"fitter", "office", "admin"})
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


Problem = tuple[str, str]  # (key, what is wrong with it)
T = TypeVar("T")
_NOT_A_KEY = {"config_key": False}  # metadata of a Settings field no file may set


def _is_key(f: Field[Any]) -> bool:
    return bool(f.metadata.get("config_key", True))


class SettingsError(ValueError):
    """One or more configuration problems, each naming the key it is about.

    `key` is the first problem's key; `problems` holds all of them in the order found.
    """

    def __init__(self, key: str, problem: str, *more: Problem) -> None:
        self.problems: list[Problem] = [(key, problem), *more]
        super().__init__("\n".join(f"{k}: {p}" for k, p in self.problems))
        self.key = key

    @classmethod
    def of(cls, problems: list[Problem]) -> SettingsError:
        (key, problem), *more = problems
        return cls(key, problem, *more)


def parse_duration(text: str) -> timedelta:
    """'30s', '10m', '2h', '3d' -> timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration such as '30s', '10m', '2h' or '3d', got {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    try:
        return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
    except OverflowError:
        raise ValueError(f"duration too long: {text!r}") from None


def parse_span(text: str) -> tuple[time, time | None]:
    """'07:30-12:00' -> (07:30, 12:00); an end of 24:00 is returned as None (end of day)."""
    match = _SPAN.match(text.strip())
    if not match:
        raise ValueError(f"expected 'HH:MM-HH:MM', got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"not a time span: {text!r}")
    start, end = time(h1, m1), None if h2 == 24 else time(h2, m2)
    if end is not None and end <= start:
        raise ValueError(f"span ends before it starts: {text!r}")
    return start, end


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    secret: str = ""  # signs media, consent and export links; generated under var/ if empty
    max_body_bytes: int = 1_048_576
    sandbox: bool = False
    # The number the sandbox's simulated SMS channel stands for (the demo names it as the
    # SMS alternative when someone declines); a real `twilio.sms_from` wins.
    sandbox_sms_from: str = ""
    role: str = "all"  # all | web (store and acknowledge only) | worker (handle and send only)
    flood_per_minute: int = 30  # messages one sender may have handled a minute; 0: no limit
    log_file: str = ""
    log_level: str = "INFO"
    event_loop: str = "auto"  # auto (uvloop when installed) | uvloop | asyncio


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///var/werkbot.db"
    workers: int = 0  # dispatch workers; 0 picks 1 on SQLite and 2 on PostgreSQL
    pool_size: int = 5


@dataclass(frozen=True)
class BusinessSettings:
    name: str = "Sanitär Maier GmbH"
    timezone: str = "Europe/Berlin"
    holidays: str = "DE-BY"
    phone: str = ""
    email: str = ""
    privacy_url: str = ""
    language: str = "de"
    hours: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaSettings:
    dir: str = "var/media"
    link_ttl: timedelta = timedelta(days=7)
    max_upload_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""
    auth_token: str = ""
    api_base: str = "https://api.twilio.com"
    whatsapp_from: str = ""
    sms_from: str = ""
    mms: bool = False
    templates: dict[str, str] = field(default_factory=dict)  # message kind -> ContentSid


@dataclass(frozen=True)
class TelegramSettings:
    token: str = ""
    api_base: str = "https://api.telegram.org"
    mode: str = "webhook"  # or "polling"; "embedded" inside a host bot (see the plug-ins)
    webhook_secret: str = ""
    bot_username: str = ""
    office_chat: int = 0


@dataclass(frozen=True)
class OncallSettings:
    rotation: list[str] = field(default_factory=list)
    handover: str = "mon 07:00"
    rotation_start: str = ""
    ack_timeout: timedelta = timedelta(minutes=3)  # an emergency: minutes, not ten
    escalation: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConsentSettings:
    hold_for: timedelta = timedelta(hours=72)
    text_version: str = "2026-11"


@dataclass(frozen=True)
class RetentionSettings:
    messages: timedelta = timedelta(days=180)
    media: timedelta = timedelta(days=365)
    held: timedelta = timedelta(hours=72)
    consent_evidence: timedelta = timedelta(days=3 * 365)


@dataclass(frozen=True)
class JobsSettings:
    code_prefix: str = "A"
    batch_window: timedelta = timedelta(seconds=8)  # photos arriving one by one form a batch
    keep_gps: bool = False  # strip GPS from customers' photos unless the business needs it
    max_photo_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class OfficeSettings:
    telegram_group: int = 0  # a forum group with one topic per customer; 0: staff's own chats


@dataclass(frozen=True)
class StaffSettings:
    id: str
    name: str = ""
    roles: list[str] = field(default_factory=list)
    phone: str = ""
    whatsapp: str = ""
    sms: str = ""
    telegram: int = 0
    language: str = "de"


@dataclass(frozen=True)
class Settings:
    """The whole, validated configuration."""

    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    business: BusinessSettings = field(default_factory=BusinessSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    oncall: OncallSettings = field(default_factory=OncallSettings)
    consent: ConsentSettings = field(default_factory=ConsentSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    office: OfficeSettings = field(default_factory=OfficeSettings)
    staff: list[StaffSettings] = field(default_factory=list)
    texts_dir: str = str(PACKAGED_TEXTS)  # the texts that ship; point at a copy to edit
    # The sections plug-ins declare, validated, by table name.
    plugins: dict[str, Any] = field(default_factory=dict, metadata=_NOT_A_KEY)

    def staff_by_id(self, staff_id: str) -> StaffSettings | None:
        return next((s for s in self.staff if s.id == staff_id), None)

    def section(self, kind: type[T]) -> T:
        """The validated section of the plug-in that declared the dataclass `kind`."""
        for value in self.plugins.values():
            if type(value) is kind:
                return value
        raise LookupError(f"no installed plug-in declares the section {kind.__name__}")


BUILT_IN_SECTIONS = frozenset(f.name for f in fields(Settings) if _is_key(f))


def config_path(path: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The config file: `--config`, else `$WERKBOT_CONFIG`, else `config/werkbot.toml`."""
    env = os.environ if env is None else env
    return path or Path(env.get(CONFIG_ENV, "") or DEFAULT_CONFIG)


def load_settings(
    path: Path | None = None, env: Mapping[str, str] | None = None,
    sections: Mapping[str, type[Any]] | None = None,
) -> Settings:
    """Read the config file (`config_path`) and validate it (`settings_from_dict`)."""
    env = os.environ if env is None else env
    chosen = config_path(path, env)
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SettingsError("config", f"file not found: {chosen}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError("config", f"{chosen} is not valid TOML: {exc}") from exc
    return settings_from_dict(data, env, sections)


def settings_from_dict(data: Mapping[str, Any], env: Mapping[str, str] | None = None,
                       sections: Mapping[str, type[Any]] | None = None) -> Settings:
    """Build and validate; raise one `SettingsError` listing every problem found.

    `sections`: the plug-ins' sections by table name; by default the installed ones."""
    from werkbot.bot.config_rules import config_errors  # the rules import these types

    if sections is None:
        from werkbot.bot.plugins import plugin_sections  # plug-ins import these types

        sections = plugin_sections()
    problems: list[Problem] = []
    merged = _apply_env(dict(data), env or {}, problems)
    plugins = {name: _section(kind, merged.pop(name, {}), name, problems)
               for name, kind in sections.items()}
    settings: Settings = replace(_build(Settings, merged, "", problems), plugins=plugins)
    # Fields refused above stand at their defaults, so the rules still check the rest.
    problems += config_errors(settings)
    if problems:
        raise SettingsError.of(problems)
    return settings


def _section(kind: type[Any], data: Any, name: str, problems: list[Problem]) -> Any:
    try:
        return _build(kind, data, name, problems)
    except SettingsError as exc:  # not a table: the section stands at its defaults
        problems += exc.problems
        return _build(kind, {}, name, problems)


def _apply_env(data: dict[str, Any], env: Mapping[str, str],
               problems: list[Problem]) -> dict[str, Any]:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if not all(path):
            problems.append((name, "environment variable names an empty key (check '__')"))
            continue
        node: Any = data
        for i, part in enumerate(path[:-1]):
            key = ".".join(path[: i + 1])
            if isinstance(node, list):
                if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                    problems.append((key, f"environment variable {name} names no entry"))
                    node = None
                    break
                node = node[int(part)]
                continue
            node = node.setdefault(part, {})
            if not isinstance(node, dict | list):
                problems.append((key, f"environment variable {name} names no section"))
                node = None
                break
        if isinstance(node, dict):
            node[path[-1]] = _EnvText(value)
    return data


class _EnvText(str):
    """A value that came from the environment: a string to be coerced to the field type."""


def _build(cls: type[Any], data: Any, prefix: str, problems: list[Problem]) -> Any:
    """An instance of the dataclass `cls` from `data`; each bad field is recorded in
    `problems` and left at its default, so the rest is still checked."""
    if not isinstance(data, Mapping):
        raise SettingsError(prefix or "config", "expected a table")
    hints = typing.get_type_hints(cls)
    keys = [f for f in fields(cls) if _is_key(f)]
    known = {f.name for f in keys}
    problems += [(_join(prefix, key), "unknown key") for key in data if key not in known]
    values: dict[str, Any] = {}
    for f in keys:
        key = _join(prefix, f.name)
        if f.name in data:
            try:
                values[f.name] = _coerce(hints[f.name], data[f.name], key, problems)
            except SettingsError as exc:
                problems += exc.problems
        if f.name not in values and f.default is MISSING and f.default_factory is MISSING:
            if f.name not in data:
                problems.append((key, "missing value"))
            values[f.name] = hints[f.name]()  # a blank stand-in; the problem is recorded
    return cls(**values)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _coerce(hint: Any, value: Any, key: str, problems: list[Problem]) -> Any:
    origin = typing.get_origin(hint)
    if is_dataclass(hint):
        return _build(hint, value, key, problems)  # type: ignore[arg-type]
    if origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, _EnvText):
            value = _env_list(value, key)
        if not isinstance(value, list):
            raise SettingsError(key, f"expected a list, got {type(value).__name__}")
        return [_coerce(item, v, f"{key}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(hint)
        if isinstance(value, _EnvText):
            value = _env_json(value, key)
        if not isinstance(value, Mapping):
            raise SettingsError(key, "expected a table")
        return {str(k): _coerce(item, v, f"{key}.{k}", problems) for k, v in value.items()}
    if hint is timedelta:
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            raise SettingsError(key, str(exc)) from exc
    if hint is bool:
        return _to_bool(value, key)
    if hint is int:
        return _to_int(value, key)
    if hint is str:
        if isinstance(value, _EnvText | str):
            return str(value)
        if isinstance(value, int | float | date) and not isinstance(value, bool):
            return str(value)
        raise SettingsError(key, f"expected text, got {type(value).__name__}")
    if isinstance(hint, types.UnionType):  # pragma: no cover - no such field today
        raise SettingsError(key, "unsupported type")
    raise SettingsError(key, f"unsupported type {hint!r}")


def _env_list(value: str, key: str) -> Any:
    text = value.strip()
    if text.startswith("["):
        return _env_json(value, key)
    return [part.strip() for part in text.split(",") if part.strip()]


def _env_json(value: str, key: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise SettingsError(key, f"expected JSON in the environment variable: {exc.msg}") from exc


def _to_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if isinstance(value, _EnvText) and text in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, _EnvText) and text in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(key, f"expected true or false, got {value!r}")


def _to_int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise SettingsError(key, f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, _EnvText):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise SettingsError(key, f"expected an integer, got {value!r}")


