"""Issue 21 (test gap): no personal data and no secret in the logs, with the real adapters.

`tests/consent/test_logs.py` runs the handlers on recording stand-ins; here the real
Twilio and Telegram adapters log too (signatures, sends, media downloads, Bot API calls).
Every logger runs at DEBUG and each record passes `RedactingFilter`, as `setup_logging`
wires it in production.
"""

from __future__ import annotations

import logging

import pytest

from tests.scenarios.conftest import (
    ANNA_TG,
    LUDWIG_PHONE,
    LUDWIG_TG,
    SATURDAY_NIGHT,
    SMS_CUSTOMER,
    WA_CUSTOMER,
    WorldFactory,
    tg_message,
)
from tests.telegram.conftest import SECRET, TOKEN
from tests.twilio.fake_twilio import AUTH_TOKEN
from werkbot.bot.logs import RedactingFilter

TEXTS = ("Bei Familie Mustermann tropft es im Bad", "Notfall Wasserrohrbruch im Keller",
         "Rückruf bitte unter 0171 2345678")


def variants(number: str) -> set[str]:
    digits = "".join(c for c in number if c.isdigit())
    return {number, digits, digits[2:], "0" + digits[2:]}


async def test_logs_hold_no_number_text_name_or_secret(world_at: WorldFactory,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    w = await world_at(SATURDAY_NIGHT)
    await w.whatsapp(TEXTS[0], ProfileName="Erika Mustermann")
    await w.whatsapp("ja")
    await w.sms(TEXTS[1])
    await w.sms("ja")
    await w.sms(TEXTS[2])
    await w.telegram(tg_message("ok", chat_id=LUDWIG_TG, user_id=LUDWIG_TG, name="Ludwig"))
    await w.telegram(tg_message("/hilfe", chat_id=ANNA_TG, user_id=ANNA_TG, name="Anna"))
    redact = RedactingFilter()
    for record in caplog.records:
        redact.filter(record)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) > 20  # the adapters and handlers did log
    secrets = {*TEXTS, "Erika", "Mustermann", "Ludwig Maier", "Anna Huber", "2345678",
               TOKEN, TOKEN.split(":")[1], SECRET, AUTH_TOKEN, str(LUDWIG_TG), str(ANNA_TG)}
    for number in (WA_CUSTOMER, SMS_CUSTOMER, LUDWIG_PHONE):
        secrets |= variants(number)
    leaked = sorted(s for s in secrets if s in logged)
    assert leaked == [], f"in the logs: {leaked}"
