"""What a valid configuration will still get wrong at run time: warnings naming the key.

`werkbot check` prints them, `werkbot serve` logs them at start-up and starts anyway (a
warning may be deliberate: a test stand-in, a tunnel the check cannot see). Each names
the key to fix and what will fail; none repeats a secret or a phone number.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from urllib.parse import urlsplit

import phonenumbers

from werkbot.bot.config_rules import STAFF_PHONE_FIELDS
from werkbot.bot.settings import Problem, Settings, StaffSettings

_TELEGRAM_TOKEN = re.compile(r"\d{5,15}:[A-Za-z0-9_-]{30,}")
_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TWILIO_SID = re.compile(r"AC[0-9a-f]{32}")
_TWILIO_TOKEN = re.compile(r"[0-9a-f]{32}")
TELEGRAM_WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})  # the only ports Telegram calls
_LOCAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home", ".test", ".invalid")


def config_warnings(s: Settings, channels: Collection[str]) -> list[Problem]:
    """Warnings for `s`, whose enabled channels (real or sandbox) are `channels`."""
    found: list[Problem] = []
    found += _public_url(s)
    found += _credentials(s)
    found += _phone_numbers(s)
    found += _rota(s, channels)
    found += _whatsapp_only(s)
    return found


def _public_url(s: Settings) -> list[Problem]:
    twilio = bool(s.twilio.whatsapp_from or s.twilio.sms_from)
    telegram = bool(s.telegram.token) and s.telegram.mode == "webhook"
    if not (twilio or telegram):
        return []  # no provider calls werkbot: the sandbox and polling need no public URL
    callers = " and ".join(n for n, on in (("Twilio", twilio), ("Telegram", telegram)) if on)
    url = urlsplit(s.server.public_url)
    host = url.hostname or ""
    found: list[Problem] = []
    if not _publicly_reachable(host):
        found.append(("server.public_url", f"{host!r} is not reachable from the internet: "
                      f"{callers} cannot deliver webhooks to it (set the public https URL "
                      "of your reverse proxy)"))
    if telegram:
        port = url.port or (443 if url.scheme == "https" else 80)
        if url.scheme != "https":
            found.append(("server.public_url", "Telegram delivers webhooks over https only; "
                          "setWebhook will be refused"))
        elif port not in TELEGRAM_WEBHOOK_PORTS:
            found.append(("server.public_url", f"Telegram calls webhooks on ports 443, 80, 88 "
                          f"or 8443 only, not {port}"))
    return found


def _publicly_reachable(host: str) -> bool:
    if not host or host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "." in host  # a single-label name resolves on the local network only
    return ip.is_global


def _credentials(s: Settings) -> list[Problem]:
    found: list[Problem] = []
    token = s.telegram.token
    if token and not _TELEGRAM_TOKEN.fullmatch(token):
        found.append(("telegram.token", "does not look like a Telegram bot token (digits, "
                      "a colon and 35 characters, e.g. 123456789:AA...); the Bot API will "
                      "answer 401 or 404"))
    secret = s.telegram.webhook_secret
    if token and secret and not _TELEGRAM_SECRET.fullmatch(secret):
        found.append(("telegram.webhook_secret", "Telegram accepts only letters, digits, '_' "
                      "and '-' (1-256 characters); setWebhook will be refused"))
    if s.twilio.whatsapp_from or s.twilio.sms_from:
        if not _TWILIO_SID.fullmatch(s.twilio.account_sid):
            found.append(("twilio.account_sid", "does not look like a Twilio Account SID "
                          "('AC' and 32 hexadecimal characters); Twilio will answer 401"))
        if not _TWILIO_TOKEN.fullmatch(s.twilio.auth_token):
            found.append(("twilio.auth_token", "does not look like a Twilio auth token "
                          "(32 hexadecimal characters); sends get 401 and every webhook "
                          "fails its signature check (403)"))
    return found


def _phone_numbers(s: Settings) -> list[Problem]:
    """Numbers that parse but exist in no numbering plan: providers will refuse them."""
    candidates = [("business.phone", s.business.phone),
                  ("twilio.sms_from", s.twilio.sms_from),
                  ("twilio.whatsapp_from", s.twilio.whatsapp_from.removeprefix("whatsapp:"))]
    candidates += [(f"staff[{i}].{name}", getattr(staff, name))
                   for i, staff in enumerate(s.staff) for name in STAFF_PHONE_FIELDS]
    return [(key, "not a valid number in any numbering plan (check the digits); messages "
             "and calls to it will fail") for key, text in candidates
            if text and not _valid_number(text)]


def _valid_number(text: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, "DE"))
    except phonenumbers.NumberParseException:
        return True  # an error already (config_rules), not repeated as a warning


def _rota(s: Settings, channels: Collection[str]) -> list[Problem]:
    found: list[Problem] = []
    if not s.oncall.rotation:
        found.append(("oncall.rotation", "empty: no week has anyone on call, so emergencies "
                      "outside opening hours alert only "
                      + ("the escalation list" if s.oncall.escalation else "the admins")))
    index = {staff.id: i for i, staff in enumerate(s.staff)}
    consequences = {"rotation": "alerts in their rota weeks reach nobody, so those weeks "
                                "are uncovered",
                    "escalation": "an escalation to them reaches nobody"}
    for name, consequence in consequences.items():
        for staff_id in dict.fromkeys(getattr(s.oncall, name)):
            if staff_id not in index:
                continue  # an error already
            staff = s.staff[index[staff_id]]
            if not any(c in channels for c in _channels_of(staff)):
                on = ", ".join(sorted(channels)) or "none"
                found.append((f"oncall.{name}",
                              f"{staff_id!r} (staff[{index[staff_id]}]) has no whatsapp, sms "
                              f"or telegram address on an enabled channel ({on}): "
                              f"{consequence}"))
            if name == "rotation" and not staff.phone:
                found.append((f"staff[{index[staff_id]}].phone",
                              f"{staff_id!r} is on call but has no phone: customers in an "
                              "emergency get no number to call"))
    return found


def _whatsapp_only(s: Settings) -> list[Problem]:
    """Staff werkbot must reach at any hour but can reach on WhatsApp alone: outside the
    24-hour window (since they last wrote to the business number) WhatsApp takes only
    approved templates, so without one such a message is skipped."""
    if not s.twilio.whatsapp_from:
        return []
    found: list[Problem] = []
    on_call = set(s.oncall.rotation) | set(s.oncall.escalation)
    for i, staff in enumerate(s.staff):
        if not staff.whatsapp or staff.telegram or (staff.sms and s.twilio.sms_from):
            continue
        if staff.id in on_call and "alert" not in s.twilio.templates:
            found.append((f"staff[{i}].whatsapp", f"{staff.id!r} is reached on WhatsApp only "
                          "and twilio.templates has no 'alert': an emergency alert outside "
                          "their 24-hour window skips them; add a telegram or sms address "
                          "or the approved template"))
        office = {"office", "admin"} & set(staff.roles)
        if office and not s.office.telegram_group and "forward" not in s.twilio.templates:
            found.append((f"staff[{i}].whatsapp", f"{staff.id!r} is reached on WhatsApp only "
                          "and twilio.templates has no 'forward': customers' messages reach "
                          "them only within 24 hours after they last wrote to the business "
                          "number; add a telegram or sms address or the approved template"))
    return found


def _channels_of(staff: StaffSettings) -> list[str]:
    return [name for name, on in (("telegram", staff.telegram), ("whatsapp", staff.whatsapp),
                                  ("sms", staff.sms)) if on]

