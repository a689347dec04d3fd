"""Issue 20: every figure of `/stats` against a known history, driven through the real
adapters. Consent and decline rates come from customers only (the three staff members'
confidentiality commitments are in the ledger too), withdrawals are counted (also a
re-consent after one, and an erased customer's answers), and only real channels appear
(an erasure's blanked inbox row is no channel "system")."""

from __future__ import annotations

from datetime import timedelta

from tests.scenarios.conftest import ANNA_TG, CHEF_TG, GROUP, TUESDAY_10, World, WorldFactory
from tests.scenarios.conftest import tg_message as telegram_text
from werkbot.handlers.rights import wait_for_checkpoints

ERIKA = "+491705551001"  # WhatsApp yes, then the same number by SMS: no
BERND = "+491705551002"  # SMS: yes, stop, start, yes
CARLA = "+491705551003"  # WhatsApp: no
DORIS = "+491705551004"  # WhatsApp: yes, then erased


def _wire_counts(w: World, erased: str, erased_said: str) -> dict[str, int]:
    """What reached the providers, per channel, but what went to or about an erased
    customer (its outbox rows are gone with her: to her, and forwarded to the office)."""
    counts = {"sms": 0, "telegram": 0, "whatsapp": 0}
    for sent in w.twilio.sent:
        if erased not in sent["To"]:
            counts["whatsapp" if sent["To"].startswith("whatsapp:") else "sms"] += 1
    # the forward's header names her (masked, or her number in full with a call link)
    masked = f"{erased[:3]}***{erased[-2:]}"
    counts["telegram"] = len([c for c in w.api.calls if c.method.startswith("send")
                              and masked not in str(c.params.get("text"))
                              and erased not in str(c.params.get("text")).replace(" ", "")
                              and erased_said != c.params.get("text")])
    return counts


async def test_issue20_every_stats_figure_matches_a_known_history(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.whatsapp("Guten Tag, die Heizung im Keller ist kalt.", sender=ERIKA)
    await w.whatsapp("ja", sender=ERIKA)
    (topic_call,) = w.api.calls_of("createForumTopic")
    topic = int(topic_call.params.get("message_thread_id") or next(
        c for c in w.telegram_calls(GROUP) if "Heizung" in str(c.params["text"])
    ).params["message_thread_id"])
    await w.sms("Und per SMS: bitte auch einen Rückruf.", sender=ERIKA)
    await w.sms("nein", sender=ERIKA)
    for said in ("Wartungstermin bitte.", "ja", "stop", "start", "ja"):
        await w.sms(said, sender=BERND)
    await w.whatsapp("Hallo, wer ist da?", sender=CARLA)
    await w.whatsapp("nein", sender=CARLA)
    for said in ("Rohr tropft im Bad.", "ja", "löschen", "ja"):
        await w.whatsapp(said, sender=DORIS)
    await w.h.advance(timedelta(seconds=5))  # the erasure's scrub after delivery
    await wait_for_checkpoints()

    await w.h.advance(timedelta(minutes=12))
    await w.telegram(telegram_text("Wir kommen morgen um 9.", chat_id=GROUP, user_id=ANNA_TG,
                                   thread=topic, reply_to=topic))
    out = _wire_counts(w, DORIS, "Rohr tropft im Bad.")
    await w.telegram(telegram_text("/stats heute csv", chat_id=CHEF_TG, user_id=CHEF_TG,
                                   name="Josef"))
    csv = w.telegram_texts(CHEF_TG)[-1].splitlines()
    assert csv == [
        "section,key,value",
        "period,start,2026-12-01", "period,end,2026-12-01",
        # Erika 2 + 2, Bernd 5, Carla 2; of Doris only the blanked `ja` that erased her
        "in,sms,7", "in,telegram,2", "in,whatsapp,5",
        f"out,sms,{out['sms']}", f"out,telegram,{out['telegram']}",
        f"out,whatsapp,{out['whatsapp']}",
        "staff,anna,1",
        "conversations,opened,2", "conversations,closed,0",  # Erika's and Bernd's
        # Anna answers Erika 12 min and 5 s (the scrub's wait) after her message came in
        "first_response,count,1", "first_response,median_s,725", "first_response,p90_s,725",
        "emergencies,count,0", "emergencies,acknowledged,0",
        "ack_time,count,0", "ack_time,median_s,", "ack_time,p90_s,",
        # yes: Erika (WhatsApp), Bernd twice, Doris; no: Erika (SMS), Carla; Bernd's stop
        "consent,granted,4", "consent,declined,2", "consent,withdrawn,1",
        "consent,rate,0.67", "consent,decline_rate,0.33",
    ]
    assert out == {"sms": 8, "telegram": 4, "whatsapp": 6}  # the reading of the wire itself
