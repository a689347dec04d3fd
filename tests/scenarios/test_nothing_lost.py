"""Issue 20, part 2: no customer message is lost; groups are not customers; hostile input.

The full handler bundle on the real adapters (Twilio against the recording fake Twilio,
Telegram against the fake Bot API), driven through signed webhooks and secret-checked
updates. Assertions read what reached the office (the forum group on the fake Bot API),
the customer, or the metrics endpoint."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.scenarios.conftest import (
    GROUP,
    LUDWIG_TG,
    SATURDAY_NIGHT,
    TUESDAY_10,
    WA_CUSTOMER,
    World,
    WorldFactory,
)
from tests.scenarios.test_on_real_adapters import jpeg
from tests.telegram.conftest import SECRET
from tests.twilio import payloads
from werkbot.adapters.telegram.adapter import SECRET_HEADER, WEBHOOK_PATH
from werkbot.bot.addresses import Address
from werkbot.bot.storage.models import AddressRow, InboxRow, OutboxRow, Person
from werkbot.handlers.jobs.repo import JobsRepo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TG_CUSTOMER = 7002  # the private chat of the shapes in telegram-more-updates.json
OTHER_GROUP = -4012345678
FORUM = -1009876543210


def shapes() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads(
        (FIXTURES / "telegram" / "telegram-more-updates.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def office(w: World) -> list[str]:
    """Every text and caption werkbot put into the office's forum group, in order."""
    out = []
    for call in w.api.calls:
        if str(call.params.get("chat_id")) != str(GROUP) or not call.method.startswith("send"):
            continue
        if call.method == "sendMediaGroup":
            out.extend(str(item.get("caption", "")) for item in call.params["media"])
        else:
            out.append(str(call.params.get("text") or call.params.get("caption") or ""))
    return out


def office_files(w: World) -> list[str]:
    return [c.method for c in w.api.calls if str(c.params.get("chat_id")) == str(GROUP)
            and c.method in ("sendPhoto", "sendMediaGroup", "sendDocument")]


def photo_update(update_id: int, file_id: str, caption: str) -> dict[str, Any]:
    chat = {"id": TG_CUSTOMER, "type": "private", "first_name": "Bernd"}
    return {"update_id": update_id, "message": {
        "message_id": update_id % 1000, "date": 1764666000, "chat": chat, "caption": caption,
        "from": {"id": TG_CUSTOMER, "is_bot": False, "first_name": "Bernd"},
        "photo": [{"file_id": file_id + "-s", "file_unique_id": "s", "width": 90,
                   "height": 60, "file_size": 900},
                  {"file_id": file_id, "file_unique_id": "l", "width": 800, "height": 600,
                   "file_size": 90000}]}}


async def metric(w: World, name: str, labels: str) -> float:
    assert w.h.client is not None
    text = await (await w.h.client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(f"{name}{{{labels}}}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- an attachment that cannot be fetched ------------------------------------------------

async def test_whatsapp_media_404_the_office_gets_the_text_and_later_the_photo(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    url = w.twilio.add_media(jpeg((10, 120, 200)), "image/jpeg")
    me = url.rsplit("/", 1)[-1]
    kept = w.twilio.media.pop(me)  # Twilio answers 404 for now
    await w.whatsapp("Hier das Leck unter der Spüle", run=True, message_type="image",
                     NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg")
    (forward,) = [t for t in office(w) if "Spüle" in t]
    assert "Foto konnte nicht geladen werden" in forward
    assert office_files(w) == []
    async with w.h.services.db.session() as session:
        statuses = (await session.scalars(select(InboxRow.status).where(
            InboxRow.sender == f"whatsapp:{WA_CUSTOMER}"))).all()
    assert set(statuses) == {"done"}  # handled once, never failed

    w.twilio.media[me] = kept  # the copy is there now: the background retry fetches it
    await w.h.advance(timedelta(minutes=1))
    assert office_files(w) == ["sendPhoto"]
    assert any("Nachgeladen zur Nachricht von" in t for t in office(w)), office(w)


async def test_a_job_photo_that_cannot_be_fetched_still_brings_its_caption_to_the_office(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    person = await w.consented(Address("whatsapp", WA_CUSTOMER))
    async with w.h.services.db.session() as session:
        await JobsRepo(session).create_job(w.h.settings, title="Leck im Bad",
                                           now=w.h.clock.now(), customer_id=person,
                                           staff_ids=("ludwig",))
    url = w.twilio.add_media(jpeg((1, 2, 3)), "image/jpeg")
    w.twilio.media.pop(url.rsplit("/", 1)[-1])
    await w.whatsapp("Das Rohr hinter der Wanne", message_type="image", NumMedia="1",
                     MediaUrl0=url, MediaContentType0="image/jpeg")
    (forward,) = [t for t in office(w) if "hinter der Wanne" in t]
    assert "Foto konnte nicht geladen werden" in forward
    async with w.h.services.db.session() as session:
        failed = await session.scalar(select(func.count()).select_from(InboxRow).where(
            InboxRow.status == "failed"))
    assert failed == 0


async def test_telegram_getfile_400_the_office_gets_the_caption_and_a_final_note(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("telegram", str(TG_CUSTOMER)))
    await w.telegram(photo_update(930001, "gone-file", "Zählerstand wie besprochen"))
    assert w.api.calls_of("getFile")  # werkbot tried; the fake answered 400 invalid file_id
    (forward,) = [t for t in office(w) if "Zählerstand" in t]
    assert "Foto konnte nicht geladen werden" in forward
    for minutes in (1, 5, 15, 60, 180):
        await w.h.advance(timedelta(minutes=minutes))
    assert len(w.api.calls_of("getFile")) == 6  # the first try and five more
    assert any("endgültig nicht ladbar" in t for t in office(w))
    told = w.telegram_texts(TG_CUSTOMER)
    assert any("Bitte senden Sie ihn noch einmal" in t for t in told), told


async def test_a_media_url_on_a_foreign_host_is_refused_and_the_text_still_arrives(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    for bad in ("https://evil.example/x.jpg", "/2010-04-01/relative.jpg",
                w.twilio.base_url.replace("://", "://AC1:token@") + "/x.jpg"):
        await w.whatsapp(f"Foto {bad[-6:]}", message_type="image", NumMedia="1",
                         MediaUrl0=bad, MediaContentType0="image/jpeg")
    forwards = [t for t in office(w) if "Foto konnte nicht geladen werden" in t]
    assert len(forwards) == 3 and all(t.startswith("Foto ") for t in forwards)
    assert not any("im Hintergrund" in t for t in forwards)  # refused for good: no retries
    assert w.twilio.api_hits == [] and w.twilio.cdn_hits == []  # nothing fetched


# -- flood protection holds back replies, never messages ---------------------------------

async def test_a_flood_reaches_the_office_whole_and_in_order(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    limit = w.h.settings.server.flood_per_minute
    texts = [f"Nachricht Nummer {i:02d}" for i in range(limit + 5)]
    for text in texts:
        await w.whatsapp(text)
    assert sum("Wir lesen alles" in b for b in w.whatsapp_to()) == 1  # told once
    held = texts[limit:]
    assert not any(t in " ".join(office(w)) for t in held)  # held back, for now
    await w.h.advance(timedelta(minutes=1))
    joined = "\n".join(office(w))
    positions = [joined.find(t) for t in texts]
    assert -1 not in positions and positions == sorted(positions)  # every one, in order
    (batch,) = [t for t in office(w) if held[0] in t]
    assert all(t in batch for t in held) and "5 Nachrichten" in batch  # one forward
    async with w.h.services.db.session() as session:
        left = await session.scalar(select(func.count()).select_from(InboxRow).where(
            InboxRow.status == "throttled"))
    assert left == 0


async def test_a_flood_before_consent_is_held_and_reaches_the_office_after_yes(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    texts = [f"Erstkontakt {i:02d}" for i in range(w.h.settings.server.flood_per_minute + 4)]
    for text in texts:
        await w.whatsapp(text, run=False)
    await w.h.run()
    await w.h.advance(timedelta(minutes=1))
    assert office(w) == []  # nothing reaches staff before consent
    async with w.h.services.db.session() as session:
        rows = (await session.scalars(select(InboxRow).where(
            InboxRow.sender == f"whatsapp:{WA_CUSTOMER}"))).all()
    assert "throttled" not in {r.status for r in rows}  # held like the gate holds them:
    assert not any(texts[-1] in r.payload for r in rows)  # not in the inbox in clear
    await w.whatsapp("ja")
    await w.h.advance(timedelta(minutes=1))
    joined = "\n".join(office(w))
    assert all(t in joined for t in texts), [t for t in texts if t not in joined]


async def test_held_back_messages_reach_the_office_before_a_later_one(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10 - timedelta(seconds=10))
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    for i in range(w.h.settings.server.flood_per_minute):
        await w.whatsapp(f"Frage {i:02d}", run=False)
    await w.h.run()
    w.h.clock.advance(timedelta(seconds=20))
    await w.whatsapp("zurückgehalten")  # over the limit: held until 10:01
    w.h.clock.advance(timedelta(seconds=45))  # 10:00:55: a minute after the first ones
    await w.whatsapp("wieder frei")  # handled at once, the release timer not due yet
    texts = office(w)
    held = next(i for i, t in enumerate(texts) if "zurückgehalten" in t)
    fresh = next(i for i, t in enumerate(texts) if "wieder frei" in t)
    assert held < fresh


async def test_an_emergency_in_a_flood_is_never_held_back(world_at: WorldFactory) -> None:
    w = await world_at(SATURDAY_NIGHT)
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    for i in range(w.h.settings.server.flood_per_minute + 1):
        await w.whatsapp(f"Frage {i}", run=False)
    await w.h.run()
    assert w.telegram_texts(LUDWIG_TG) == []
    await w.whatsapp("Notfall: Wasserrohrbruch im Keller")
    alerts = w.telegram_texts(LUDWIG_TG)
    assert alerts and any("Wasserrohrbruch" in t for t in alerts), alerts


# -- groups are not customers -------------------------------------------------------------

async def test_a_group_is_told_once_and_nothing_of_it_is_kept(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    updates = shapes()
    first = updates["group_message"]
    await w.telegram(first)
    again = copy.deepcopy(first)
    again["update_id"] += 100
    again["message"]["text"] = "ja"
    await w.telegram(again)
    notices = w.telegram_texts(OTHER_GROUP)
    assert len(notices) == 1 and "privaten Chats" in notices[0]
    assert "t.me/fitter_test_bot" in notices[0]
    assert office(w) == []  # nothing forwarded, and no consent request anywhere
    async with w.h.services.db.session() as session:
        members = await session.scalar(select(func.count()).select_from(AddressRow).where(
            AddressRow.address.in_(("telegram:7002", f"telegram:{OTHER_GROUP}"))))
        payloads_kept = (await session.scalars(select(InboxRow.payload).where(
            InboxRow.sender == f"telegram:{OTHER_GROUP}"))).all()
    assert members == 0
    assert payloads_kept and not any("Klempner" in p or "Bernd" in p for p in payloads_kept)


async def test_a_forum_topic_of_another_supergroup_gets_one_notice_in_its_topic(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.telegram(shapes()["forum_topic_message"])  # a member writes "ja" in a topic
    (notice,) = w.telegram_calls(FORUM)
    assert str(notice.params.get("message_thread_id")) == "17"
    async with w.h.services.db.session() as session:
        people = await session.scalar(select(func.count()).select_from(Person).where(
            Person.kind != "staff"))
    assert people == 0


# -- hostile input -----------------------------------------------------------------------

async def test_an_update_nested_3000_levels_deep_gets_400_and_nothing_is_stored(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    assert w.h.client is not None
    for depth in (3000, 100):
        body = ('{"update_id": 940001, "message": ' + '{"a": ' * depth + "1" + "}" * depth
                + "}")
        resp = await w.h.client.post(WEBHOOK_PATH, data=body.encode(),
                                     headers={SECRET_HEADER: SECRET,
                                              "Content-Type": "application/json"})
        assert resp.status == 400, depth
        assert "nested" in await resp.text()
    async with w.h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(InboxRow).where(
            InboxRow.kind != "TimerEvent")) == 0


async def test_a_twilio_form_with_thousands_of_fields_gets_400(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    assert w.h.client is not None
    form = payloads.whatsapp("hallo") | {f"X{i}": "1" for i in range(1500)}
    resp = await w.twilio.post(str(w.h.client.make_url("")).rstrip("/"), "/webhooks/whatsapp",
                               form, public_url=w.h.settings.server.public_url)
    assert resp.status == 400
    await w.h.run()
    assert w.whatsapp_to() == []


async def test_ids_that_are_not_twilio_sids_or_addresses_get_400(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    assert w.h.client is not None
    base, public = str(w.h.client.make_url("")).rstrip("/"), w.h.settings.server.public_url
    long_sid = payloads.whatsapp("hallo", message_sid="SM" + "a" * 400)
    long_sender = payloads.whatsapp("hallo", sender="x" * 300)
    status = payloads.status("'; DROP TABLE inbox; --", "delivered")
    for path, form in (("/webhooks/whatsapp", long_sid), ("/webhooks/whatsapp", long_sender),
                       ("/webhooks/whatsapp/status", status)):
        resp = await w.twilio.post(base, path, form, public_url=public)
        assert resp.status == 400, path
    async with w.h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(InboxRow).where(
            InboxRow.kind != "TimerEvent")) == 0


async def test_a_legacy_mexican_whatsapp_number_is_one_person_with_its_plus52_form(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.whatsapp("Hola", sender="+5215512345678")
    (request,) = w.whatsapp_to("+525512345678")
    assert "Sanitär Maier GmbH" in request
    await w.whatsapp("ja", sender="+525512345678")
    async with w.h.services.db.session() as session:
        rows = (await session.scalars(select(AddressRow.address).where(
            AddressRow.address.like("whatsapp:+52%")))).all()
    assert rows == ["whatsapp:+525512345678"]


async def test_control_and_bidi_override_characters_never_reach_staff(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.whatsapp("Rechnung\u202e fdp.exe\x00 bitte\u2066 prüfen")
    (forward,) = [t for t in office(w) if "Rechnung" in t]
    assert "Rechnung fdp.exe bitte prüfen" in forward
    assert not any(c in forward for c in "\u202e\x00\u2066")


async def test_a_status_that_moves_backwards_is_ignored_once(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.whatsapp("Guten Tag")  # the consent request goes out
    (sent,) = w.twilio_to(f"whatsapp:{WA_CUSTOMER}")
    for status in ("delivered", "sent"):
        form = payloads.status(sent.sid, status, to=f"whatsapp:{WA_CUSTOMER}")
        await w.post_twilio("/webhooks/whatsapp/status", form)
    await w.h.run()
    async with w.h.services.db.session() as session:
        late = await session.scalar(select(InboxRow).where(
            InboxRow.dedup_key == f"whatsapp:status:{sent.sid}:sent"))
    assert late is not None
    assert (late.status, late.attempts, late.error) == ("done", 0, "stale status")


async def test_every_caught_duplicate_is_counted(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    assert w.h.client is not None
    base = str(w.h.client.make_url("")).rstrip("/")
    form = payloads.whatsapp("hilfe", sender=WA_CUSTOMER)
    token = {"I-Twilio-Idempotency-Token": "tok-" + form["MessageSid"]}
    for _ in range(3):
        resp = await w.twilio.post(base, "/webhooks/whatsapp", form,
                                   public_url=w.h.settings.server.public_url, headers=token)
        assert resp.status == 200
    update = shapes()["edited_message"]
    for _ in range(2):
        resp = await w.h.client.post(WEBHOOK_PATH, json=update,
                                     headers={SECRET_HEADER: SECRET})
        assert resp.status == 200
    assert await metric(w, "werkbot_events_duplicate_total", 'channel="whatsapp"') == 2
    assert await metric(w, "werkbot_events_duplicate_total", 'channel="telegram"') == 1


# -- contacts, edits, stickers -------------------------------------------------------------

async def test_a_whatsapp_vcard_reaches_the_office_as_a_contact(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    card = (FIXTURES / "twilio" / "whatsapp-contact.vcf").read_bytes()
    url = w.twilio.add_media(card, "text/vcard")
    await w.whatsapp("", message_type="contacts", NumMedia="1", MediaUrl0=url,
                     MediaContentType0="text/vcard")
    (forward,) = [t for t in office(w) if "Kontakt" in t]
    assert "Max Muster" in forward and "+4915112345678" in forward
    assert "max@example.de" in forward
    assert not any("Dateityp" in b or "nicht annehmen" in b for b in w.whatsapp_to())


async def test_a_vcard_fetched_late_still_arrives_as_a_contact_not_a_file(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    url = w.twilio.add_media((FIXTURES / "twilio" / "whatsapp-contact.vcf").read_bytes(),
                             "text/x-vcard")
    me = url.rsplit("/", 1)[-1]
    kept = w.twilio.media.pop(me)
    await w.whatsapp("Das ist mein Vermieter", message_type="contacts", NumMedia="1",
                     MediaUrl0=url, MediaContentType0="text/x-vcard")
    assert any("Vermieter" in t and "Kontakt konnte nicht geladen" in t for t in office(w))
    w.twilio.media[me] = kept
    await w.h.advance(timedelta(minutes=1))
    assert any("Nachgeladen" in t and "Kontakt: Max Muster" in t for t in office(w))
    assert office_files(w) == []


async def test_telegram_contact_edit_and_sticker_reach_the_office_as_what_they_are(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("telegram", str(TG_CUSTOMER)))
    updates = shapes()
    for name in ("contact_other", "edited_message", "sticker", "animation"):
        await w.telegram(updates[name])
    texts = office(w)
    assert any("Kontakt: Max Muster" in t and "+4915112345678" in t for t in texts)
    assert any("Nachricht geändert: Der Boiler tropft im Keller" in t for t in texts)
    assert any("(Sticker)" in t for t in texts)
    assert any("(GIF/Animation)" in t for t in texts)
    assert w.api.calls_of("getFile") == []  # a sticker or animation is no job photo
    told = " ".join(w.telegram_texts(TG_CUSTOMER))
    assert "Fotos" not in told  # nobody asked about job photos


# -- a send whose answer cannot be read ----------------------------------------------------

async def test_twilio_accepting_with_an_unreadable_answer_is_looked_up_not_sent_twice(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    w.twilio.garbled = 1
    await w.whatsapp("Guten Tag")  # the consent request: Twilio takes it, the answer is cut
    await w.h.advance(timedelta(minutes=1))
    (only,) = w.twilio_to(f"whatsapp:{WA_CUSTOMER}")
    assert w.twilio.list_queries  # werkbot asked Twilio's message list before any resend
    async with w.h.services.db.session() as session:
        row = await session.scalar(select(OutboxRow).where(
            OutboxRow.address == f"whatsapp:{WA_CUSTOMER}"))
    assert row is not None and row.provider_id == only.sid and row.status != "failed"


async def test_telegram_accepting_with_an_unreadable_answer_counts_as_sent(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    w.api.garbled["sendMessage"] = 1
    message = shapes()["edited_message"]["edited_message"]
    await w.telegram({"update_id": 950001, "message": message | {"text": "Hallo"}})
    await w.h.advance(timedelta(minutes=5))
    assert len(w.telegram_calls(TG_CUSTOMER)) == 1  # the consent request, once
    async with w.h.services.db.session() as session:
        row = await session.scalar(select(OutboxRow).where(
            OutboxRow.address == f"telegram:{TG_CUSTOMER}"))
    assert row is not None and row.status == "sent"


async def test_what_werkbot_cannot_show_is_named_to_the_office(world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.consented(Address("whatsapp", WA_CUSTOMER))
    await w.consented(Address("telegram", str(TG_CUSTOMER)))
    await w.whatsapp("", message_type="order")  # a WhatsApp type werkbot does not read
    dice = copy.deepcopy(shapes()["sticker"])
    dice["update_id"] += 500
    dice["message"].pop("sticker")
    dice["message"]["dice"] = {"emoji": "🎲", "value": 4}
    await w.telegram(dice)
    notes = [t for t in office(w) if "nicht anzeigen" in t]
    assert any("(order)" in t for t in notes) and any("(dice)" in t for t in notes), notes
