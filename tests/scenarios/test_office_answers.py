"""Issue 21: the office answers and calls back, on the real adapters.

The office works in its own chats here (no forum group): Anna (office) on Telegram and
the boss on WhatsApp get each consented customer's message with the customer's number
as a tap-to-call link, and answer by replying to it (a Telegram reply, a WhatsApp quoted
reply with `OriginalRepliedMessageSid`) or with `/reply <n> <text>`. The answer reaches
the customer on their channel through the consent gate and the WhatsApp window; a job
can be created by replying `/job neu ...` to the forward. Every assertion reads what
werkbot put on the wire (fake Twilio, fake Bot API).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.scenarios.conftest import (
    ANNA_TG,
    LUDWIG_PHONE,
    LUDWIG_TG,
    SMS_CUSTOMER,
    STAFF,
    TUESDAY_10,
    WA_CUSTOMER,
    World,
    WorldFactory,
    tg_message,
)
from tests.twilio.payloads import BUSINESS_SMS, BUSINESS_WA
from werkbot.bot.addresses import Address
from werkbot.bot.storage.models import OutboxRow
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.handlers.consent.ledger import PURPOSES, ConsentLedger
from werkbot.handlers.jobs.models import Job, JobStaff

BOSS_WA = "+4917100000001"
OFFICE_STAFF: list[dict[str, Any]] = [  # the boss on WhatsApp only
    {"id": "chef", "name": "Josef Maier", "roles": ["admin"], "whatsapp": BOSS_WA},
    *(s for s in STAFF if s["id"] != "chef")]
REPLY_TEMPLATE = "HX" + "c" * 32


async def open_office(world_at: WorldFactory, **options: Any) -> World:
    return await world_at(TUESDAY_10, group=0, staff=OFFICE_STAFF, **options)


async def telegram_id_of_forward(w: World, chat: int, text: str) -> int:
    """The Telegram message id of the forward of `text` to `chat` (from its receipt)."""
    async with w.h.services.db.session() as session:
        rows = (await session.scalars(select(OutboxRow).where(
            OutboxRow.address == f"telegram:{chat}").order_by(OutboxRow.id))).all()
    ids = [r.provider_id for r in rows if text in r.payload and r.provider_id]
    assert ids, [r.payload for r in rows]
    return int(str(ids[-1]).rsplit(":", 1)[1])


async def sms_address_with_consent(w: World, person: int, address: Address) -> None:
    """The person's SMS address (the same number), consented in an SMS chat."""
    async with w.h.services.db.session() as session:
        await PeopleRepo(session).add_address(person, address, w.h.clock.now())
        await ConsentLedger(session, w.h.services.signer).record(
            person_id=person, address=address, purposes=PURPOSES, granted=True,
            text="Einwilligung", text_version="test", method="chat", evidence="test",
            recorded_by="customer", now=w.h.clock.now())


async def test_forward_carries_the_number_to_call_and_a_telegram_reply_answers(
        world_at: WorldFactory) -> None:
    w = await open_office(world_at)
    erika = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Können Sie morgen die Heizung warten?")
    (forward,) = w.telegram_texts(ANNA_TG)
    assert "+49 170 5550001" in forward and "tel:+491705550001" in forward
    assert "***" not in forward  # no masked number for the office
    assert f"/reply {erika}" in forward and "Heizung warten" in forward

    message_id = await telegram_id_of_forward(w, ANNA_TG, "Heizung warten")
    before = len(w.whatsapp_to())
    await w.telegram(tg_message("Ja, morgen um 9 Uhr passt.", chat_id=ANNA_TG,
                                user_id=ANNA_TG, reply_to=message_id))
    (answer,) = w.twilio_to(f"whatsapp:{WA_CUSTOMER}")[before:]
    assert answer["Body"] == "Ja, morgen um 9 Uhr passt." and answer["From"] == BUSINESS_WA
    assert w.telegram_texts(ANNA_TG)[-1] == f"✓ An #{erika} gesendet (WhatsApp)."


async def test_the_boss_answers_with_a_whatsapp_quoted_reply(world_at: WorldFactory) -> None:
    w = await open_office(world_at)
    await w.whatsapp("/hilfe", sender=BOSS_WA)  # the boss wrote today: his window is open
    await w.consented(Address("sms", SMS_CUSTOMER))
    await w.sms("Der Wasserhahn in der Küche tropft.")
    to_boss = [s for s in w.twilio_to(f"whatsapp:{BOSS_WA}") if "tropft" in s["Body"]]
    assert len(to_boss) == 1 and "tel:+491705550002" in to_boss[0]["Body"]

    before = len(w.sms_to())
    await w.whatsapp("Wir kommen morgen früh vorbei.", sender=BOSS_WA,
                     OriginalRepliedMessageSid=to_boss[0].sid)
    (answer,) = w.twilio_to(SMS_CUSTOMER)[before:]
    assert answer["Body"] == "Wir kommen morgen früh vorbei." and answer["From"] == BUSINESS_SMS


async def test_reply_n_answers_an_office_forward(world_at: WorldFactory) -> None:
    w = await open_office(world_at)
    erika = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Was kostet eine Wartung?")
    before = len(w.whatsapp_to())
    await w.telegram(tg_message(f"/reply {erika} Eine Wartung kostet 129 Euro.",
                                chat_id=ANNA_TG, user_id=ANNA_TG))
    assert w.whatsapp_to()[before:] == ["Eine Wartung kostet 129 Euro."]
    assert w.telegram_texts(ANNA_TG)[-1] == f"✓ An #{erika} gesendet (WhatsApp)."
    # a number that is neither a customer nor an emergency is answered plainly
    await w.telegram(tg_message("/reply 999 Hallo", chat_id=ANNA_TG, user_id=ANNA_TG))
    assert "weder einen Kunden noch einen Notfall #999" in w.telegram_texts(ANNA_TG)[-1]


async def test_closed_whatsapp_window_takes_the_template_or_the_next_channel(
        world_at: WorldFactory) -> None:
    # Erika wrote on WhatsApp, then 25 hours passed.
    w = await open_office(world_at)
    erika = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Frage per WhatsApp")
    await w.h.advance(timedelta(hours=25))
    await w.telegram(tg_message(f"/reply {erika} Antwort nach einem Tag", chat_id=ANNA_TG,
                                user_id=ANNA_TG))
    # no template for office answers, no consent on SMS: not delivered, and Anna knows
    assert "Antwort nach einem Tag" not in " ".join(w.whatsapp_to())
    assert "NICHT zugestellt" in w.telegram_texts(ANNA_TG)[-1]

    await sms_address_with_consent(w, erika, Address("sms", WA_CUSTOMER))
    await w.telegram(tg_message(f"/reply {erika} Zweiter Versuch", chat_id=ANNA_TG,
                                user_id=ANNA_TG))
    assert w.sms_to(WA_CUSTOMER)[-1] == "Zweiter Versuch"  # the next channel with consent
    assert w.telegram_texts(ANNA_TG)[-1] == f"✓ An #{erika} gesendet (SMS)."


async def test_closed_whatsapp_window_with_an_approved_template(
        world_at: WorldFactory) -> None:
    w = await open_office(world_at, templates={"office_reply": REPLY_TEMPLATE})
    erika = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Frage per WhatsApp")
    await w.h.advance(timedelta(hours=25))
    before = len(w.twilio_to(f"whatsapp:{WA_CUSTOMER}"))
    await w.telegram(tg_message(f"/reply {erika} Antwort nach einem Tag", chat_id=ANNA_TG,
                                user_id=ANNA_TG))
    (sent,) = w.twilio_to(f"whatsapp:{WA_CUSTOMER}")[before:]
    assert sent["ContentSid"] == REPLY_TEMPLATE and "Body" not in sent.form
    assert "Antwort nach einem Tag" in sent["ContentVariables"]


async def test_a_job_created_by_replying_to_a_forward(world_at: WorldFactory) -> None:
    w = await open_office(world_at)
    erika = await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Bitte die Therme warten, Lindenstraße 3.")
    message_id = await telegram_id_of_forward(w, ANNA_TG, "Therme warten")
    await w.telegram(tg_message("/job neu Therme warten @ludwig", chat_id=ANNA_TG,
                                user_id=ANNA_TG, reply_to=message_id))
    created = w.telegram_texts(ANNA_TG)[-1]
    assert "angelegt: Therme warten" in created, created
    async with w.h.services.db.session() as session:
        job = await session.scalar(select(Job))
        staff = (await session.scalars(select(JobStaff.staff_id))).all()
    assert job is not None and job.customer_id == erika and list(staff) == ["ludwig"]
    assert any(job.code in text for text in w.telegram_texts(LUDWIG_TG))
    assert w.whatsapp_to()[-1] != "/job neu Therme warten @ludwig"  # not sent to Erika


async def test_staff_free_text_gets_a_hint_not_the_customer_menu(
        world_at: WorldFactory) -> None:
    w = await open_office(world_at)
    await w.telegram(tg_message("Guten Morgen!", chat_id=ANNA_TG, user_id=ANNA_TG))
    (hint,) = w.telegram_texts(ANNA_TG)
    assert "weder ein Befehl noch eine Antwort" in hint and "/reply" in hint
    assert "Willkommen" not in hint and "AUSKUNFT" not in hint
    assert w.api.calls_of("sendMessage")[0].params.get("reply_markup") is None  # no menu buttons
    await w.telegram(tg_message("Guten Morgen!", chat_id=LUDWIG_TG, user_id=LUDWIG_TG,
                                name="Ludwig"))
    assert "weder ein Befehl" in w.telegram_texts(LUDWIG_TG)[-1]
    assert LUDWIG_PHONE not in w.telegram_texts(LUDWIG_TG)[-1]
