"""Issue 20: `/person merge <a> <b>` (`/person zusammenführen`): admin and office only,
checked before it asks, confirmed with `ja`, audited, listed in `/help`; afterwards one
person whose export and erasure cover both. Through the real Telegram adapter (staff)
and the real Twilio adapter (the customer's WhatsApp)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from tests.scenarios.conftest import (
    CHEF_TG,
    GROUP,
    LUDWIG_TG,
    TUESDAY_10,
    World,
    WorldFactory,
    tg_message,
)
from werkbot.bot.storage.models import AddressRow, AuditRow, Person

NUMBER = "+491705554001"
OTHER = "+491705554002"
CHAT = 166666666


async def _person(w: World, address: str) -> int:
    async with w.h.services.db.session() as session:
        found = await session.scalar(select(AddressRow.person_id)
                                     .where(AddressRow.address == address))
    assert found is not None
    return int(found)


async def _chef(w: World, text: str) -> str:
    await w.telegram(tg_message(text, chat_id=CHEF_TG, user_id=CHEF_TG, name="Josef"))
    return w.telegram_texts(CHEF_TG)[-1]


async def test_issue20_person_merge_is_confirmed_audited_and_joins_everything(
        world_at: WorldFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="werkbot")
    w = await world_at(TUESDAY_10)
    await w.whatsapp("Guten Tag, Termin für die Wartung bitte.", sender=NUMBER)
    await w.telegram(tg_message("Hallo, ich bin es, per Telegram.", chat_id=CHAT,
                                user_id=CHAT))
    keep, gone = await _person(w, f"whatsapp:{NUMBER}"), await _person(w, f"telegram:{CHAT}")
    assert keep != gone

    assert "/person" in await _chef(w, "/hilfe")
    await w.telegram(tg_message(f"/person merge #{keep} #{gone}", chat_id=LUDWIG_TG,
                                user_id=LUDWIG_TG, name="Ludwig"))
    assert "Berechtigung" in w.telegram_texts(LUDWIG_TG)[-1]  # a fitter may not

    asked = await _chef(w, f"/person zusammenführen {NUMBER} telegram:{CHAT}")
    assert f"#{gone}" in asked and f"#{keep}" in asked and NUMBER not in asked
    assert await _person(w, f"telegram:{CHAT}") == gone  # nothing happens before `ja`
    done = await _chef(w, "ja")
    assert f"#{gone}" in done and "whatsapp" in done and "telegram" in done
    assert await _person(w, f"telegram:{CHAT}") == keep
    async with w.h.services.db.session() as session:
        assert await session.get(Person, gone) is None
        audit = (await session.scalars(select(AuditRow).where(
            AuditRow.action == "identity.merged"))).all()
    assert [(a.actor, a.subject, a.detail) for a in audit] == [
        ("staff:chef", f"person:{keep}", f"#{gone} -> #{keep}")]

    # the held Telegram message went with the chat: consent there releases it to the office
    await w.telegram(tg_message("ja", chat_id=CHAT, user_id=CHAT))
    assert any("per Telegram" in t for t in w.telegram_texts(GROUP))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "merged into person" in logged  # the log was captured
    assert NUMBER not in logged and NUMBER[1:] not in logged and str(CHAT) not in logged


async def test_issue20_person_merge_refuses_what_must_not_merge(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.whatsapp("Erste Nummer, bitte Rückruf.", sender=NUMBER)
    await w.whatsapp("Zweite Nummer, bitte Rückruf.", sender=OTHER)
    first, second = (await _person(w, f"whatsapp:{NUMBER}"),
                     await _person(w, f"whatsapp:{OTHER}"))
    clash = await _chef(w, f"/person merge #{first} #{second}")
    assert "whatsapp" in clash and "nur eine Adresse" in clash
    staff = await _chef(w, f"/person merge #{first} telegram:{LUDWIG_TG}")
    assert "Mitarbeiter" in staff
    same = await _chef(w, f"/person merge #{first} {NUMBER}")
    assert "dieselbe Person" in same
    assert await _person(w, f"whatsapp:{OTHER}") == second
