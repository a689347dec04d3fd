"""The rules a configuration must pass before werkbot starts: errors, each naming its key.

`config_errors` runs after every field has its type; it returns every problem it finds
(not only the first), so `werkbot check` and `werkbot serve` list them all at once. What
is well-formed but will fail at run time (an unreachable URL, a fitter nobody can alert)
is a warning instead: see `bot/config_warnings.py`.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from werkbot.bot.event_loop import uvloop_installed
from werkbot.bot.settings import ROLES, WEEKDAYS, Problem, Settings, parse_span

# A country (ISO 3166 alpha-2/3), optionally a subdivision (a code, or an alias some
# countries accept): never control characters, which no command line may carry.
_HOLIDAY_CODE = re.compile(r"[A-Za-z]{2,3}(-[^\x00-\x1f\x7f]{1,60})?")
_TOKEN_SHAPE = re.compile(r"\d+:[^\s/]+")
STAFF_PHONE_FIELDS = ("phone", "whatsapp", "sms")


def config_errors(s: Settings) -> list[Problem]:
    """Every cross-field problem of `s`, in the order of the file's sections."""
    found: list[Problem] = []
    found += _server(s)
    if not s.database.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        found.append(("database.url",
                      "expected sqlite+aiosqlite://... or postgresql+asyncpg://..."))
    found += _business(s)
    found += _channels(s)
    found += _staff(s)
    found += _oncall(s)
    return found


def _server(s: Settings) -> list[Problem]:
    found: list[Problem] = []
    if not re.match(r"^https?://[^/\s]+", s.server.public_url):
        found.append(("server.public_url", "expected an http(s) URL"))
    if s.server.role not in {"all", "web", "worker"}:
        found.append(("server.role", "expected 'all', 'web' or 'worker'"))
    if s.server.event_loop not in {"auto", "uvloop", "asyncio"}:
        found.append(("server.event_loop", "expected 'auto', 'uvloop' or 'asyncio'"))
    elif s.server.event_loop == "uvloop" and not uvloop_installed():
        found.append(("server.event_loop", "uvloop is not installed"))
    if not 0 < s.server.port < 65536:
        found.append(("server.port", "expected a port between 1 and 65535"))
    return found


def _business(s: Settings) -> list[Problem]:
    found: list[Problem] = []
    try:
        ZoneInfo(s.business.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        found.append(("business.timezone", f"unknown time zone {s.business.timezone!r}"))
    found += _holidays(s.business.holidays)
    for day, spans in s.business.hours.items():
        if day not in WEEKDAYS:
            found.append((f"business.hours.{day}", f"expected one of {', '.join(WEEKDAYS)}"))
        for i, span in enumerate(spans):
            try:
                parse_span(span)
            except ValueError as exc:
                found.append((f"business.hours.{day}[{i}]", str(exc)))
    if s.business.language not in {"de", "en"}:
        found.append(("business.language", "expected 'de' or 'en'"))
    if s.business.phone and phone_problem(s.business.phone) is not None:
        found.append(("business.phone", str(phone_problem(s.business.phone))))
    return found


def _holidays(code: str) -> list[Problem]:
    if not code:
        return []
    if not _HOLIDAY_CODE.fullmatch(code):
        return [("business.holidays",
                 f"expected a country or state code like 'DE-BY', got {code!r}")]
    from werkbot.bot.holiday_dates import (  # a child process computes them
        UnknownHolidays,
        validate,
    )

    try:
        validate(code, date.today().year)
    except UnknownHolidays:
        return [("business.holidays", f"unknown country or state {code!r}")]
    return []


def _channels(s: Settings) -> list[Problem]:
    found: list[Problem] = []
    if s.telegram.mode not in {"webhook", "polling", "embedded"}:
        found.append(("telegram.mode", "expected 'webhook', 'polling' or 'embedded'"))
    if s.telegram.token and s.telegram.mode == "webhook" and not s.telegram.webhook_secret:
        found.append(("telegram.webhook_secret", "required in webhook mode"))
    if s.telegram.token and not _TOKEN_SHAPE.fullmatch(s.telegram.token):
        # aiogram refuses such a token at start-up, and the Bot API's URLs carry it as one
        # path segment: it cannot work. (Finer shape checks are warnings.)
        found.append(("telegram.token", "not a bot token: expected the bot's numeric id, a "
                      "colon and the secret, without spaces (123456789:AA...; from "
                      "@BotFather)"))
    if s.twilio.whatsapp_from or s.twilio.sms_from:
        for key in ("account_sid", "auth_token"):
            if not getattr(s.twilio, key):
                found.append((f"twilio.{key}", "required when WhatsApp or SMS is on"))
    numbers = [(f"twilio.{key}", getattr(s.twilio, key).removeprefix("whatsapp:"))
               for key in ("whatsapp_from", "sms_from")]
    for key, number in [*numbers, ("server.sandbox_sms_from", s.server.sandbox_sms_from)]:
        if number and phone_problem(number) is not None:
            found.append((key, str(phone_problem(number))))
    return found


def _staff(s: Settings) -> list[Problem]:
    found: list[Problem] = []
    seen: set[str] = set()
    for i, staff in enumerate(s.staff):
        key = f"staff[{i}]"
        if not staff.id:
            pass  # reported as a missing value already
        elif not re.match(r"^[a-z0-9_.-]+$", staff.id):
            found.append((f"{key}.id", "expected lower-case letters, digits, '_', '.', '-'"))
        elif staff.id in seen:
            found.append((f"{key}.id", f"duplicate staff id {staff.id!r}"))
        seen.add(staff.id)
        found += [(f"{key}.roles", f"unknown role {role!r}")
                  for role in staff.roles if role not in ROLES]
        if staff.language not in {"de", "en"}:
            found.append((f"{key}.language", "expected 'de' or 'en'"))
        for name in STAFF_PHONE_FIELDS:
            value = getattr(staff, name)
            problem = phone_problem(value) if value else None
            if problem is not None:
                found.append((f"{key}.{name}", problem))
        if staff.telegram < 0:
            found.append((f"{key}.telegram", "expected a Telegram user id (a positive number; "
                          "negative ids are groups)"))
    return found


def _oncall(s: Settings) -> list[Problem]:
    found: list[Problem] = []
    ids = {staff.id for staff in s.staff}
    for name in ("rotation", "escalation"):
        found += [(f"oncall.{name}", f"unknown staff id {staff_id!r}")
                  for staff_id in getattr(s.oncall, name) if staff_id not in ids]
    day, _, clock = s.oncall.handover.partition(" ")
    if day not in WEEKDAYS or not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", clock):
        found.append(("oncall.handover", "expected a weekday and a time, e.g. 'mon 07:00'"))
    if s.oncall.rotation_start:
        try:
            date.fromisoformat(s.oncall.rotation_start)
        except ValueError:
            found.append(("oncall.rotation_start", "expected a date YYYY-MM-DD"))
    return found


def phone_problem(text: str, region: str = "DE") -> str | None:
    """Why `text` cannot be dialled or messaged at all, or None when it can be parsed.

    Only the shape is judged here (`phonenumbers`: parseable and a possible length);
    whether the number exists in a numbering plan is a warning (`config_warnings`).
    The number itself is never repeated: it is personal data and this text is printed.
    """
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "not a phone number (expected E.164 such as +4917112345678)"
    if not phonenumbers.is_possible_number(number):
        return "not a possible phone number (too short or too long; expected E.164)"
    return None
