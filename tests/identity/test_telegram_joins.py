"""Issue 20: a Telegram chat joins a person by the person's own contact or by the signed,
expiring link werkbot gave them on WhatsApp or SMS; nothing else links. Consent stays per
channel: the joined chat is asked for its own. Through the real Telegram adapter (fake
Bot API) and the real Twilio adapter (fake Twilio)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.scenarios.conftest import ANNA_TG, TUESDAY_10, World, WorldFactory, tg_message
from werkbot.bot.storage.models import AddressRow

NUMBER = "+491705553001"
CHAT = 144444444  # the customer's Telegram user (and private chat) id
STRANGER = 155555555  # someone else's Telegram chat
_ids = itertools.count(700001)


def tg_contact(phone: str, *, chat_id: int, user_id: int | None) -> dict[str, Any]:
    """A private-chat contact update; `user_id` is whose contact it is (None: not a user)."""
    update_id = next(_ids)
    contact: dict[str, Any] = {"phone_number": phone, "first_name": "Erika"}
    if user_id is not None:
        contact["user_id"] = user_id
    return {"update_id": update_id, "message": {
        "message_id": update_id % 100000, "date": 1764666000,
        "chat": {"id": chat_id, "type": "private", "first_name": "Erika"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Erika", "language_code": "de"},
        "contact": contact}}


async def _owners(w: World) -> dict[str, int]:
    async with w.h.services.db.session() as session:
        return {a: p for a, p in (await session.execute(
            select(AddressRow.address, AddressRow.person_id))).all()}


async def _declined_on_whatsapp(w: World) -> str:
    """The customer writes on WhatsApp and says no; returns the start payload offered."""
    await w.whatsapp("Guten Tag, ich habe eine Frage zur Rechnung.", sender=NUMBER)
    await w.whatsapp("nein", sender=NUMBER)
    declined = w.whatsapp_to(NUMBER)[-1]
    found = re.search(r"https://t\.me/fitter_test_bot\?start=([A-Za-z0-9_-]{1,64})\b", declined)
    assert found, declined
    return found.group(1)


async def test_issue20_personal_link_joins_the_telegram_chat(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    payload = await _declined_on_whatsapp(w)
    whatsapp_before = len(w.whatsapp_to(NUMBER))
    await w.telegram(tg_message(f"/start {payload}", chat_id=CHAT, user_id=CHAT))
    assert len(w.whatsapp_to(NUMBER)) == whatsapp_before  # declined there: silence
    joined, asked = w.telegram_texts(CHAT)
    assert "gehört jetzt zu Ihrer Nummer" in joined and NUMBER not in joined
    assert "Einwilligung" in asked or "JA" in asked  # Telegram's own consent request
    owners = await _owners(w)
    assert owners[f"telegram:{CHAT}"] == owners[f"whatsapp:{NUMBER}"]

    # the same link opened in another chat: one Telegram chat per person, staff decide
    await w.telegram(tg_message(f"/start {payload}", chat_id=STRANGER, user_id=STRANGER))
    assert "Büro prüft" in w.telegram_texts(STRANGER)[0]
    assert any("/person zusammenführen" in t for t in w.telegram_texts(ANNA_TG))
    owners = await _owners(w)
    assert owners[f"telegram:{STRANGER}"] != owners[f"whatsapp:{NUMBER}"]


async def test_issue20_expired_or_forged_link_joins_nothing(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    payload = await _declined_on_whatsapp(w)
    await w.h.advance(timedelta(hours=25))
    await w.telegram(tg_message(f"/start {payload}", chat_id=CHAT, user_id=CHAT))
    assert "abgelaufen oder ungültig" in w.telegram_texts(CHAT)[0]
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    await w.telegram(tg_message(f"/start {forged}", chat_id=STRANGER, user_id=STRANGER))
    assert "abgelaufen oder ungültig" in w.telegram_texts(STRANGER)[0]
    owners = await _owners(w)
    assert len({owners[f"telegram:{CHAT}"], owners[f"telegram:{STRANGER}"],
                owners[f"whatsapp:{NUMBER}"]}) == 3


async def test_issue20_own_contact_joins_and_stop_alles_covers_telegram(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.sms("Hallo, bitte um Rückruf wegen Wartung.", sender=NUMBER)
    await w.sms("ja", sender=NUMBER)
    # someone else's contact card (another user's number) links nothing
    await w.telegram(tg_contact(NUMBER[1:], chat_id=STRANGER, user_id=CHAT))
    owners = await _owners(w)
    assert owners[f"telegram:{STRANGER}"] != owners[f"sms:{NUMBER}"]
    # the customer's own contact, sent without '+' as some clients do
    await w.telegram(tg_contact(NUMBER[1:], chat_id=CHAT, user_id=CHAT))
    owners = await _owners(w)
    assert owners[f"telegram:{CHAT}"] == owners[f"sms:{NUMBER}"]
    await w.telegram(tg_message("ja", chat_id=CHAT, user_id=CHAT))
    assert any("Einwilligung ist gespeichert" in t for t in w.telegram_texts(CHAT))

    sms_before, tg_before = len(w.sms_to(NUMBER)), len(w.telegram_texts(CHAT))
    await w.sms("STOP ALLES", sender=NUMBER)
    assert len(w.sms_to(NUMBER)) == sms_before + 1
    staff_before = len(w.staff_sends())
    await w.telegram(tg_message("Hallo? Noch jemand da?", chat_id=CHAT, user_id=CHAT))
    assert len(w.staff_sends()) == staff_before  # the withdrawal covers Telegram too
    assert len(w.telegram_texts(CHAT)) == tg_before


async def test_issue20_link_on_request_and_a_notice_where_the_person_consented(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.whatsapp("Guten Tag, bitte um einen Termin.", sender=NUMBER)
    await w.whatsapp("ja", sender=NUMBER)
    await w.whatsapp("Telegram", sender=NUMBER)
    offered = w.whatsapp_to(NUMBER)[-1]
    found = re.search(r"\?start=([A-Za-z0-9_-]{1,64})\b", offered)
    assert found and "24 Stunden" in offered, offered
    await w.telegram(tg_message(f"/start {found.group(1)}", chat_id=CHAT, user_id=CHAT))
    assert "über Ihren persönlichen Link" in w.whatsapp_to(NUMBER)[-1]
    owners = await _owners(w)
    assert owners[f"telegram:{CHAT}"] == owners[f"whatsapp:{NUMBER}"]
