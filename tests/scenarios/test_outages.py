"""Provider outages (issue 9) with the full handler bundle on the real adapters.

The Twilio and Telegram stand-ins answer 500, 429 and time out (or drop the connection)
for a while, then recover. Every queued message must then be delivered once, in order
per recipient; a message that can never be delivered ends `failed` and the office is told
without the message's content, and the recipient's later messages still go out.

Time moves only on the harness's FrozenClock (`advance`); the only real waits are the
tiny send time-outs of the time-out scenario (`SEND_TIMEOUT` is patched down to 0.2 s,
the real 30 s would make the test slow).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from tests.scenarios.conftest import (
    ANNA_TG,
    CHEF_TG,
    GROUP,
    LUDWIG_TG,
    SATURDAY_NIGHT,
    SMS_CUSTOMER,
    SMS_CUSTOMER_2,
    TUESDAY_10,
    WA_CUSTOMER,
    WA_CUSTOMER_2,
    World,
    WorldFactory,
    tg_message,
)
from tests.telegram.conftest import TOKEN
from tests.telegram.fake_bot_api import FakeBotAPI, _error
from tests.twilio.fake_twilio import FakeTwilio
from werkbot.bot import outbox as outbox_module
from werkbot.bot.addresses import Address
from werkbot.bot.storage.models import OutboxRow

UNFINISHED = ("queued", "sending")
DELIVERED = ("accepted", "sent", "delivered", "read")
POISON = "UNZUSTELLBAR"


# -- stand-ins that can be down for a while --------------------------------------------


def _twilio_error(status: int, code: int | None) -> web.Response:
    body: dict[str, Any] = {"status": status, "message": f"error {status}"}
    if code is not None:
        body["code"] = code
        body["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
    return web.json_response(body, status=status)


@dataclass
class OutageTwilio(FakeTwilio):
    """The fake Twilio, plus an outage switch and poisoned bodies.

    `outage`: answers given in turn to every send while it is non-empty;
    `mode`: "error" (answer from `outage`), "hang" (never answers in time), "drop"
    (close the connection without an answer) or "accept-then-hang" (accepts the message
    but answers too late); in the last three modes the message list (werkbot's look for
    a send whose outcome is unknown) is just as slow or dropped; `poison`: a send whose
    Body contains the key always gets that answer (a message that can never be delivered).
    """

    outage: list[tuple[int, int | None]] = field(default_factory=list)
    mode: str = "error"
    hang_seconds: float = 0.6
    poison: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # the To of every refused send
    _turn: int = 0

    def recover(self) -> None:
        self.outage = []

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        for marker, (status, code) in self.poison.items():
            if marker in body:
                self.refused.append(to)
                return _twilio_error(status, code)
        if self.outage:
            self.refused.append(to)
            if self.mode == "hang":
                await asyncio.sleep(self.hang_seconds)
                return _twilio_error(504, None)  # never accepted
            if self.mode == "accept-then-hang":  # accepted, but the answer comes too late
                response = await super()._create(request)
                await asyncio.sleep(self.hang_seconds)
                return response
            if self.mode == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response(status=503)  # nobody reads it
            status, code = self.outage[self._turn % len(self.outage)]
            self._turn += 1
            return _twilio_error(status, code)
        return await super()._create(request)

    async def _list(self, request: web.Request) -> web.Response:
        if self.outage and self.mode in ("hang", "accept-then-hang"):
            await asyncio.sleep(self.hang_seconds)  # answers, but too late
        elif self.outage and self.mode == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=503)  # nobody reads it
        return await super()._list(request)


class OutageBotAPI(FakeBotAPI):
    """The fake Bot API, plus an outage of every `send*` method.

    Refused calls are not recorded in `calls` (so `calls` is what reached the chats);
    `delivered` is the provider id (`chat:message_id`) of every accepted send, in order.
    """

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.outage: list[tuple[int, int | None]] = []  # (status, retry_after) in turn
        self.refused: list[str] = []
        self.delivered: list[str] = []
        self._turn = 0

    def recover(self) -> None:
        self.outage = []

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self.outage and method.startswith("send"):
            status, retry_after = self.outage[self._turn % len(self.outage)]
            self._turn += 1
            self.refused.append(method)
            params = {"retry_after": retry_after} if retry_after is not None else None
            text = (f"Too Many Requests: retry after {retry_after}" if status == 429
                    else "Internal Server Error")
            return _error(status, text, params)
        response = await super()._method(request)
        if method.startswith("send") and response.status == 200:
            assert isinstance(response.body, bytes)
            result = json.loads(response.body)["result"]
            first = result[0] if isinstance(result, list) else result
            self.delivered.append(f"{first['chat']['id']}:{first['message_id']}")
        return response


@pytest.fixture
async def fake_twilio() -> AsyncIterator[OutageTwilio]:
    twilio = await OutageTwilio().start()
    assert isinstance(twilio, OutageTwilio)
    yield twilio
    await twilio.close()


@pytest.fixture
async def fake_api() -> AsyncIterator[OutageBotAPI]:
    api = OutageBotAPI(TOKEN)
    await api.start()
    yield api
    await api.close()


def twilio_of(w: World) -> OutageTwilio:
    assert isinstance(w.twilio, OutageTwilio)
    return w.twilio


def api_of(w: World) -> OutageBotAPI:
    assert isinstance(w.api, OutageBotAPI)
    return w.api


# -- reading the outbox -------------------------------------------------------------------


async def outbox(w: World) -> list[OutboxRow]:
    async with w.h.services.db.session() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


async def unfinished(w: World) -> list[OutboxRow]:
    return [row for row in await outbox(w) if row.status in UNFINISHED]


async def settle(w: World, step: timedelta, max_steps: int) -> None:
    """Move the clock in steps until no outbox row is queued or sending."""
    for _ in range(max_steps):
        if not await unfinished(w):
            return
        await w.h.advance(step)
    left = await unfinished(w)
    assert not left, [(r.id, r.address, r.status, r.attempts, r.error_code) for r in left]


async def assert_each_sent_once_in_order(w: World) -> None:
    """What the fakes accepted is exactly the outbox's delivered rows: each once, and per
    recipient in the order the rows were queued; nothing is left queued or sending."""
    rows = await outbox(w)
    assert [r.id for r in rows if r.status in UNFINISHED] == []
    twilio_sids = [s.sid for s in w.twilio.sent]
    telegram_ids = api_of(w).delivered
    for wire, channels in ((twilio_sids, ("whatsapp", "sms")), (telegram_ids, ("telegram",))):
        assert len(wire) == len(set(wire)), "a provider accepted the same message twice"
        ours = [r for r in rows if r.provider_id and r.address.split(":", 1)[0] in channels]
        assert sorted(wire) == sorted(r.provider_id or "" for r in ours), \
            "what the provider accepted differs from the outbox's delivered rows"
        position = {pid: i for i, pid in enumerate(wire)}
        per_address: dict[str, list[int]] = defaultdict(list)
        for row in ours:
            per_address[row.address].append(position[row.provider_id or ""])
        for address, positions in per_address.items():
            assert positions == sorted(positions), f"out of order to {address}"


async def recover_and_check_each_sent_once_in_order(
        w: World, twilio: OutageTwilio, expected: dict[str, list[str]]) -> None:
    """Twilio is back: every queued answer arrives, once, in order, and nothing failed."""
    twilio.recover()
    await settle(w, timedelta(minutes=1), 15)
    for customer, texts in expected.items():
        assert received(w, customer, texts) == texts
    assert not [r for r in await outbox(w) if r.status == "failed"]
    await assert_each_sent_once_in_order(w)


# -- set-up helpers ---------------------------------------------------------------------


async def open_topic(w: World, customer: str, text: str) -> int:
    """A consented WhatsApp customer writes in opening hours; returns the office topic."""
    await w.consented(Address("whatsapp", customer))
    await w.whatsapp(text, sender=customer)
    posted = [c for c in w.telegram_calls(GROUP) if text in str(c.params["text"])]
    assert len(posted) == 1, w.telegram_texts(GROUP)
    return int(posted[0].params["message_thread_id"])


async def office_answers(w: World, topic: int, text: str) -> None:
    """Anna answers in the customer's topic: werkbot queues a WhatsApp to the customer."""
    await w.telegram(tg_message(text, chat_id=GROUP, user_id=ANNA_TG, thread=topic,
                                reply_to=topic))


def answers(customer: str) -> list[str]:
    return [f"Antwort {i} an {customer[-4:]}" for i in (1, 2, 3)]


async def queue_three_answers_each(w: World) -> dict[str, list[str]]:
    """Two customers get three office answers each (queued while Twilio may be down)."""
    topics = {WA_CUSTOMER: await open_topic(w, WA_CUSTOMER, "Heizung warten?"),
              WA_CUSTOMER_2: await open_topic(w, WA_CUSTOMER_2, "Boiler macht Geräusche.")}
    for i in range(3):
        for customer, topic in topics.items():
            await office_answers(w, topic, answers(customer)[i])
    return {customer: answers(customer) for customer in topics}


def received(w: World, customer: str, texts: list[str]) -> list[str]:
    """Of `texts`, those the fake Twilio accepted for `customer`, in arrival order."""
    return [body for body in w.whatsapp_to(customer) for t in texts if t in body]


# -- 1. Twilio answers 500 and 429 (20429) for a while ---------------------------------------


async def test_twilio_500_and_429_then_recovery(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    twilio = twilio_of(w)
    twilio.outage = [(500, None), (500, None), (429, 20429)]
    expected = await queue_three_answers_each(w)
    for customer, texts in expected.items():
        assert received(w, customer, texts) == []

    for _ in range(5):  # 2.5 minutes of outage: several attempts, fewer than MAX_ATTEMPTS
        await w.h.advance(timedelta(seconds=30))
    assert {"whatsapp:" + c for c in expected} <= set(twilio.refused)
    waiting = await unfinished(w)
    assert len(waiting) >= 6
    assert all(r.attempts < outbox_module.MAX_ATTEMPTS for r in waiting)
    assert {r.error_code for r in waiting if r.attempts} <= {"500", "http-500", "20429"}
    assert max(r.attempts for r in waiting) >= 3  # retried during the outage

    await recover_and_check_each_sent_once_in_order(w, twilio, expected)


# -- 2. Twilio times out, or drops the connection ---------------------------------------------


@pytest.mark.parametrize("mode", ["hang", "drop", "accept-then-hang"])
async def test_twilio_time_outs_then_recovery(world_at: WorldFactory,
                                             monkeypatch: pytest.MonkeyPatch,
                                             mode: str) -> None:
    # "hang": the fake answers later than the outbox waits; the outbox's 30 s
    # SEND_TIMEOUT is patched to 0.2 s so the test stays fast (real time, tiny).
    # "drop": the fake closes the connection without answering.
    # "accept-then-hang": the fake accepts the message, then answers too late.
    monkeypatch.setattr(outbox_module, "SEND_TIMEOUT", 0.2)
    w = await world_at(TUESDAY_10)
    twilio = twilio_of(w)
    twilio.mode = mode
    twilio.outage = [(504, None)]
    expected = await queue_three_answers_each(w)

    for _ in range(3):
        await w.h.advance(timedelta(seconds=30))
    waiting = await unfinished(w)
    assert len(waiting) >= 6 and twilio.refused
    assert {r.error_code for r in waiting if r.attempts} <= {"timeout", "network"}
    for customer, texts in expected.items():
        assert received(w, customer, texts) == []

    await recover_and_check_each_sent_once_in_order(w, twilio, expected)


# -- 3. Telegram answers 429 with retry_after and 500 -------------------------------------------


async def test_telegram_429_and_500_then_alerts_arrive_in_order(
        world_at: WorldFactory) -> None:
    w = await world_at(SATURDAY_NIGHT)  # closed: emergencies alert the on-call fitter
    api = api_of(w)
    api.outage = [(429, 7), (500, None), (429, 3)]
    for customer in (SMS_CUSTOMER, SMS_CUSTOMER_2):
        await w.sms("Notfall Wasserrohrbruch", sender=customer)
    await w.whatsapp("Notfall: Heizung ausgefallen, kein Warmwasser", sender=WA_CUSTOMER)
    assert w.telegram_texts(LUDWIG_TG) == []
    queued_for_ludwig = [r for r in await unfinished(w) if r.address == f"telegram:{LUDWIG_TG}"]
    assert len(queued_for_ludwig) >= 3, await outbox(w)

    for _ in range(4):  # 80 s of outage, before the 10-minute escalation
        await w.h.advance(timedelta(seconds=20))
    assert len(api.refused) >= 4
    assert w.telegram_texts(LUDWIG_TG) == []
    waiting = await unfinished(w)
    assert {r.error_code for r in waiting if r.attempts} <= {"429", "5xx"}
    assert all(r.attempts < outbox_module.MAX_ATTEMPTS for r in waiting)

    api.recover()
    await settle(w, timedelta(seconds=30), 10)
    alerts = w.telegram_texts(LUDWIG_TG)
    assert len(alerts) == len(queued_for_ludwig), alerts
    async with w.h.services.db.session() as session:
        ludwig_rows = (await session.scalars(select(OutboxRow).where(
            OutboxRow.id.in_([r.id for r in queued_for_ludwig])).order_by(OutboxRow.id))).all()
    assert [r.status for r in ludwig_rows] == ["sent"] * len(ludwig_rows)
    ids = api.delivered
    assert [ids.index(r.provider_id or "") for r in ludwig_rows] == sorted(
        ids.index(r.provider_id or "") for r in ludwig_rows)
    await assert_each_sent_once_in_order(w)


# -- 4. A message that can never be delivered ------------------------------------------------


@pytest.mark.parametrize(("status", "code", "error_code"), [
    (400, 21617, "21617"),  # permanent: body refused, no retry
    (500, None, "500"),  # 500 for this message on every one of MAX_ATTEMPTS
])
async def test_undeliverable_message_fails_office_told_rest_delivered(
        world_at: WorldFactory, status: int, code: int | None, error_code: str) -> None:
    w = await world_at(TUESDAY_10)
    twilio = twilio_of(w)
    twilio.poison = {POISON: (status, code)}
    topic = await open_topic(w, WA_CUSTOMER, "Heizung warten?")
    office_before = {chat: len(w.telegram_texts(chat)) for chat in (ANNA_TG, CHEF_TG)}
    texts = ["Antwort 1", f"{POISON}: Termin am Montag, Schlüssel unter der Matte",
             "Antwort 3"]
    for text in texts:
        await office_answers(w, topic, text)

    await settle(w, timedelta(minutes=2), 30)
    rows = [r for r in await outbox(w) if POISON in r.payload]
    assert rows, "the poisoned answer was never queued"
    first = rows[0]
    assert first.status == "failed" and first.error_code == error_code
    if status >= 500:
        assert first.attempts == outbox_module.MAX_ATTEMPTS
    assert all(r.status == "failed" for r in rows)  # a fallback (if any) failed as well

    # The customer's other answers were not held back behind the failed one.
    assert received(w, WA_CUSTOMER, texts) == [texts[0], texts[2]]

    # The office (Anna, office; the chef, admin) is told, without the message's content.
    notices = [t for chat in (ANNA_TG, CHEF_TG) for t in w.telegram_texts(chat)[
        office_before[chat]:]]
    assert any(f"Ausgang {first.id}" in t or f"outbox {first.id}" in t for t in notices), \
        notices
    assert len([t for t in w.telegram_texts(ANNA_TG)[office_before[ANNA_TG]:]
                if str(first.id) in t]) == 1  # told once
    assert not [t for t in notices if "Schlüssel" in t or POISON in t or WA_CUSTOMER in t]
    await assert_each_sent_once_in_order(w)
