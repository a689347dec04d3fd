"""Issue 5: emergencies come first. Safety advice and the on-call number go out before
consent; the fitter is alerted without details; the details follow once the person agrees
(the emergency handler here is a stand-in that uses `hold` and `ask_consent`)."""

from __future__ import annotations

import pytest

from tests.consent.conftest import CHANNELS, CUSTOMERS, FITTER, OFFICE, got, tell
from werkbot.bot.testing import Harness
from werkbot.handlers.consent import kinds

EMERGENCY = "Notfall! Bei uns läuft Wasser aus der Decke, Hauptstraße 5"


@pytest.mark.parametrize("channel", CHANNELS)
async def test_emergency_before_consent(h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    replies = await tell(h, customer, EMERGENCY)
    assert [r.reply.kind for r in replies] == [kinds.SAFETY, kinds.ONCALL_NUMBER,
                                               kinds.CONSENT_REQUEST]
    assert "+4917111111111" in replies[1].text
    fitter = got(h, FITTER)
    assert len(fitter) == 1 and "Notfall gemeldet" in fitter[0]
    assert not any("Wasser" in t or "Hauptstraße" in t for t in fitter)  # no details yet
    assert got(h, OFFICE) == []
    confirmed = await tell(h, customer, "ja")
    assert [r.reply.kind for r in confirmed] == [kinds.CONSENT_CONFIRMATION]
    assert got(h, FITTER)[-1] == f"Notfall-Details: {EMERGENCY}"


@pytest.mark.parametrize("channel", CHANNELS)
async def test_ask_consent_does_not_repeat_a_pending_request(h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await tell(h, customer, "Guten Tag")
    replies = await tell(h, customer, EMERGENCY)
    assert [r.reply.kind for r in replies] == [kinds.SAFETY, kinds.ONCALL_NUMBER]


@pytest.mark.parametrize("channel", CHANNELS)
async def test_emergency_after_declining_asks_again(h: Harness, channel: str) -> None:
    customer = CUSTOMERS[channel]
    await tell(h, customer, "Guten Tag")
    await tell(h, customer, "nein")
    replies = await tell(h, customer, EMERGENCY)
    assert [r.reply.kind for r in replies] == [kinds.SAFETY, kinds.ONCALL_NUMBER,
                                               kinds.CONSENT_REQUEST]
    await tell(h, customer, "ja")
    assert got(h, FITTER)[-1] == f"Notfall-Details: {EMERGENCY}"
