"""Issue 5: no personal data in logs. A full consent scenario runs with every werkbot
logger at DEBUG; no phone number, chat id, name or message text may appear in any record."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.consent.conftest import (
    CHANNELS,
    CUSTOMERS,
    SECOND,
    STAFF,
    link,
    person_of,
    press,
    send_to,
    tell,
)
from werkbot.bot.adapter import SendError
from werkbot.bot.replies import TextReply
from werkbot.bot.testing import Harness

NAME = "Erika Mustermann"
TEXTS = (
    "Bei Familie Mustermann tropft die Heizung im Bad",
    "Notfall: Rohrbruch in der Waschküche",
    "Rückruf bitte unter 0171 2345678",
    "Ihr Termin am Montag um acht",
    "Sind Sie noch erreichbar?",
)


def variants(ident: str) -> set[str]:
    """The ways an id can show up: as is, without '+', without the country code."""
    digits = ident.lstrip("+")
    found = {ident, digits}
    if digits.startswith("49"):
        found |= {digits[2:], "0" + digits[2:]}
    return found


@pytest.mark.parametrize("channel", CHANNELS)
async def test_a_full_consent_scenario_logs_no_personal_data(
        h: Harness, channel: str, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("werkbot",):
        caplog.set_level(logging.DEBUG, logger=name)
    customer, other = CUSTOMERS[channel], SECOND[channel]
    await tell(h, customer, TEXTS[0], name=NAME)
    await tell(h, customer, TEXTS[1], name=NAME)
    await press(h, customer, "andere")
    await tell(h, customer, "ja", name=NAME)
    await tell(h, customer, TEXTS[2], name=NAME)
    person = await person_of(h, customer)
    await link(h, person, other)
    h.adapter(channel).failures.append(SendError("gone", code="403", unreachable=True))
    await send_to(h, person, TextReply(text=TEXTS[3]))  # fails, falls back to `other`
    h.adapter(other.channel).failures.append(SendError("gone", code="403", unreachable=True))
    await send_to(h, person, TextReply(text=TEXTS[3]))  # fails everywhere: office told
    await tell(h, customer, "stop", name=NAME)
    await tell(h, customer, TEXTS[4], name=NAME)
    await tell(h, customer, "start", name=NAME)
    await tell(h, customer, "nein", name=NAME)
    await tell(h, other, "stop alles", name=NAME)
    await h.advance(timedelta(days=200))
    records = caplog.records
    assert len(records) > 20  # the scenario did log
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    secrets = {NAME, *NAME.split(), *TEXTS, "2345678"}
    for address in (customer, other):
        secrets |= variants(address.id)
    for staff in STAFF:
        secrets |= {str(staff["name"]), *variants(str(staff["phone"]))}
        if "telegram" in staff:
            secrets.add(str(staff["telegram"]))
    leaked = sorted(s for s in secrets if s in logged)
    assert leaked == [], f"personal data in the logs: {leaked}"
