"""Issue 20: one person across channels. A WhatsApp and an SMS address with the same
number are one person from the first message; withdrawal everywhere, export and erasure
cover both. Driven through the real Twilio adapter (signed webhooks, the fake Twilio)."""

from __future__ import annotations

from sqlalchemy import select

from tests.scenarios.conftest import GROUP, TUESDAY_10, World, WorldFactory
from werkbot.bot.storage.models import AddressRow

NUMBER = "+491705550777"


async def _addresses_by_person(w: World) -> dict[int, set[str]]:
    async with w.h.services.db.session() as session:
        rows = (await session.execute(select(AddressRow.person_id, AddressRow.address)
                                      .where(AddressRow.address.contains(NUMBER)))).all()
    found: dict[int, set[str]] = {}
    for person_id, address in rows:
        found.setdefault(person_id, set()).add(address)
    return found


def _office_texts(w: World) -> list[str]:
    return w.telegram_texts(GROUP)


async def test_issue20_whatsapp_and_sms_of_one_number_are_one_person(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.whatsapp("Guten Tag, die Heizung im Keller ist kalt.", sender=NUMBER)
    await w.sms("Hallo, hier nochmal per SMS wegen der Heizung.", sender=NUMBER)
    assert list((await _addresses_by_person(w)).values()) == [
        {f"whatsapp:{NUMBER}", f"sms:{NUMBER}"}]
    # consent stays per channel: the SMS side is asked on its own
    (wa_request,) = w.whatsapp_to(NUMBER)
    (sms_request,) = w.sms_to(NUMBER)
    assert "STOP" in wa_request and "STOP" in sms_request


async def test_issue20_stop_alles_on_whatsapp_also_silences_sms(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.whatsapp("Guten Tag, die Heizung im Keller ist kalt.", sender=NUMBER)
    await w.whatsapp("ja", sender=NUMBER)
    await w.sms("Hallo, hier nochmal per SMS wegen der Heizung.", sender=NUMBER)
    await w.sms("ja", sender=NUMBER)
    assert any("per SMS wegen der Heizung" in t for t in _office_texts(w))

    office_before, sms_before = len(_office_texts(w)), len(w.sms_to(NUMBER))
    wa_before = len(w.whatsapp_to(NUMBER))
    await w.whatsapp("STOP ALLES", sender=NUMBER)
    confirmation = w.whatsapp_to(NUMBER)[wa_before:]
    assert len(confirmation) == 1 and "widerrufen" in confirmation[0], confirmation

    await w.sms("Ist da noch jemand? Bitte zurückrufen.", sender=NUMBER)
    await w.whatsapp("Und hier auch noch eine Nachricht.", sender=NUMBER)
    assert len(_office_texts(w)) == office_before  # nothing reaches staff on either channel
    assert not any("zurückrufen" in t for t in _office_texts(w))
    assert len(w.sms_to(NUMBER)) == sms_before  # silence on SMS too
    assert len(w.whatsapp_to(NUMBER)) == wa_before + 1
