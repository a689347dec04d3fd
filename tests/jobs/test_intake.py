"""Photo intake: batches from WhatsApp and Telegram, the job question, duplicates, GPS."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from tests.jobs.conftest import KARL, STAFF, WINDOW, bundle, customer, job, jpeg
from werkbot.bot.addresses import Address
from werkbot.bot.replies import MediaReply
from werkbot.bot.storage.models import MediaRow
from werkbot.bot.testing import Harness, choice, make_settings, media, offered
from werkbot.handlers.jobs.models import Job, JobMedia

WA_CUSTOMER = Address("whatsapp", "+491709999999")
TG_CUSTOMER = Address("telegram", "555000111")


def media_replies(h: Harness, address: Address) -> list[MediaReply]:
    return [s.reply for s in h.adapter(address.channel).to(address)
            if isinstance(s.reply, MediaReply)]


async def send_photos(h: Harness, sender: Address, photos: list[bytes], *, caption: str = "",
                      group: str = "") -> None:
    adapter = h.adapter(sender.channel)
    for i, data in enumerate(photos):
        ref = f"ref-{sender.id}-{len(adapter.media)}"
        adapter.media[ref] = data
        await h.feed(media(sender, ref, caption=caption if i == 0 else "", group=group))
        await h.run()
        await h.advance(timedelta(seconds=1))  # WhatsApp: one webhook per photo, 1-2 s apart


async def test_whatsapp_batch_of_three_reaches_the_fitter_as_one(h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER)
    code = await job(h, "Leck unter der Spüle", customer_id=person)
    photos = [jpeg((200, 0, 0)), jpeg((0, 200, 0)), jpeg((0, 0, 200))]
    await send_photos(h, WA_CUSTOMER, photos, caption="Hier tropft es")
    assert media_replies(h, KARL) == []  # still inside the quiet window
    await h.advance(WINDOW)
    got = media_replies(h, KARL)
    assert len(got) == 1 and len(got[0].media_ids) == 3
    assert f"#{code}" in got[0].caption and "Kunde" in got[0].caption
    assert "Hier tropft es" in got[0].caption
    stored = [(await h.services.media.read(m)).data for m in got[0].media_ids]
    assert stored == photos  # what the fitter fetches is exactly what was stored
    receipt = h.adapter("whatsapp").to(WA_CUSTOMER)[-1].text
    assert f"3 Fotos zu {code} gespeichert" in receipt


async def test_telegram_album_arrives_as_one_batch(h: Harness) -> None:
    person = await customer(h, TG_CUSTOMER)
    code = await job(h, "Heizung", customer_id=person)
    await send_photos(h, TG_CUSTOMER, [jpeg((10, 10, 10)), jpeg((20, 20, 20)),
                                       jpeg((30, 30, 30))], caption=f"#{code}", group="album-1")
    await h.advance(WINDOW)
    got = media_replies(h, KARL)
    assert [len(r.media_ids) for r in got] == [3]


async def test_photo_without_code_and_two_open_jobs_asks_which(h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER)
    first = await job(h, "Bad", customer_id=person)
    second = await job(h, "Küche", customer_id=person)
    await send_photos(h, WA_CUSTOMER, [jpeg((1, 2, 3))])
    await h.advance(WINDOW)
    asked = [s.reply for s in h.adapter("whatsapp").to(WA_CUSTOMER)
             if s.reply.kind == "job_which"]
    assert len(asked) == 1
    assert sorted(offered(asked[0])) == sorted([f"{first} Bad", f"{second} Küche"])
    assert media_replies(h, KARL) == []
    await h.feed(choice(WA_CUSTOMER, f"jobs:file:{second}"))
    await h.run()
    got = media_replies(h, KARL)
    assert len(got) == 1 and f"#{second}" in got[0].caption
    async with h.services.db.session() as session:
        filed = (await session.scalars(select(JobMedia.job_id))).all()
    assert len(filed) == 1


async def test_typed_number_answers_the_question_on_sms(h: Harness) -> None:
    sms = Address("sms", "+491701234567")
    person = await customer(h, sms)
    await job(h, "Bad", customer_id=person)
    await job(h, "Küche", customer_id=person)
    await send_photos(h, sms, [jpeg((9, 9, 9))])
    await h.advance(WINDOW)
    assert "1) " in h.adapter("sms").to(sms)[-1].text
    got = await h.say(sms, "2")
    assert any("gespeichert" in s.text for s in got)
    assert len(media_replies(h, KARL)) == 1


async def test_duplicate_photo_is_stored_once(h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER)
    await job(h, "Bad", customer_id=person)
    same = jpeg((50, 60, 70))
    await send_photos(h, WA_CUSTOMER, [same, same])
    await h.advance(WINDOW)
    await send_photos(h, WA_CUSTOMER, [same])  # and once more, in a later batch
    await h.advance(WINDOW)
    async with h.services.db.session() as session:
        rows = await session.scalar(select(func.count()).select_from(MediaRow)
                                    .where(MediaRow.kind == "image", MediaRow.size == len(same)))
        filed = await session.scalar(select(func.count()).select_from(JobMedia))
    assert rows == 1 and filed == 1
    assert [len(r.media_ids) for r in media_replies(h, KARL)] == [1]
    assert "doppelt" in h.adapter("whatsapp").to(WA_CUSTOMER)[-1].text


async def test_gps_is_removed_from_customer_photos(h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER)
    await job(h, "Bad", customer_id=person)
    original = jpeg((120, 130, 140), gps=True, taken="2026:11:30 08:15:00")
    assert 0x8825 in Image.open(io.BytesIO(original)).getexif()
    await send_photos(h, WA_CUSTOMER, [original])
    await h.advance(WINDOW)
    (reply,) = media_replies(h, KARL)
    stored = (await h.services.media.read(reply.media_ids[0])).data
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert 0x8825 not in exif and not exif.get_ifd(0x8825)
    async with h.services.db.session() as session:
        item = await session.scalar(select(JobMedia))
    assert item is not None and item.captured_at.isoformat() == "2026-11-30T07:15:00+00:00"
    assert item.thumb_id is not None


async def test_staff_photos_keep_gps_and_reach_the_customer_only_on_command(
        h: Harness) -> None:
    # Telegram: a WhatsApp customer outside the 24-hour window would get a template instead
    person = await customer(h, TG_CUSTOMER)
    code = await job(h, "Bad", customer_id=person)
    site_photo = jpeg((1, 1, 1), gps=True)
    await send_photos(h, KARL, [site_photo], caption=f"#{code} fertig")
    await h.advance(WINDOW)
    assert media_replies(h, TG_CUSTOMER) == []
    assert "1 Foto zu" in h.adapter("telegram").to(KARL)[-1].text
    await h.say(KARL, f"/job send {code}")
    (sent,) = media_replies(h, TG_CUSTOMER)
    # Issue 21: the business keeps the position, the customer's copy loses it.
    async with h.services.db.session() as session:
        kept = await session.scalar(select(JobMedia.media_id))
    assert kept is not None and (await h.services.media.read(kept)).data == site_photo
    sent_data = (await h.services.media.read(sent.media_ids[0])).data
    with Image.open(io.BytesIO(sent_data)) as customer_copy:
        assert customer_copy.size == (80, 60)
        assert 0x8825 not in customer_copy.getexif()
    got = await h.say(KARL, f"/job send {code}")
    assert "keine neuen" in got[-1].text


async def test_a_photo_without_a_job_is_not_made_into_one(h: Harness) -> None:
    # Issue 21: it used to create a job titled after the caption ("Bild"). Now the jobs
    # feature leaves it to the office inbox (tests/scenarios/test_texts_and_pages.py).
    await customer(h, WA_CUSTOMER)
    await send_photos(h, WA_CUSTOMER, [jpeg((5, 5, 5))], caption="Bild")
    await h.advance(WINDOW)
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Job)) == 0
        assert await session.scalar(select(func.count()).select_from(JobMedia)) == 0
    assert not any("gespeichert" in s.text for s in h.adapter("whatsapp").to(WA_CUSTOMER))


async def test_a_wrong_code_is_answered_once_and_nothing_is_filed_behind_it(
        h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER)
    code = await job(h, "Bad", customer_id=person)
    await send_photos(h, WA_CUSTOMER, [jpeg((5, 6, 7))], caption="#A-9999 Bad")
    await h.advance(WINDOW)
    said = [s.text for s in h.adapter("whatsapp").to(WA_CUSTOMER)]
    assert said[0].startswith("Einen offenen Auftrag #A-9999 finde ich nicht.")
    assert not any("gespeichert" in text for text in said), said  # no contradiction
    (question,) = [s.reply for s in h.adapter("whatsapp").to(WA_CUSTOMER) if offered(s.reply)]
    assert any(code in label for label in offered(question))


async def test_a_caption_naming_another_job_starts_a_new_batch(h: Harness) -> None:
    first = await job(h, "Bad", staff=("karl",))
    second = await job(h, "Küche", staff=("karl",))
    await send_photos(h, KARL, [jpeg((1, 1, 9))], caption=f"#{first}")
    await send_photos(h, KARL, [jpeg((1, 9, 1))], caption=f"#{second}")
    await h.advance(WINDOW)
    receipts = [s.text for s in h.adapter("telegram").to(KARL) if "gespeichert" in s.text]
    assert any(first in r for r in receipts) and any(second in r for r in receipts)


async def test_batch_and_question_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """The same flow on PostgreSQL, where batch rows are locked against the timer."""
    settings = make_settings(tmp_path, staff=STAFF, database={"url": pg_url})
    async with Harness(settings, bundle()) as h:
        person = await customer(h, WA_CUSTOMER)
        await job(h, "Bad", customer_id=person)
        second = await job(h, "Küche", customer_id=person)
        await send_photos(h, WA_CUSTOMER, [jpeg((1, 2, 3)), jpeg((3, 2, 1))])
        await h.advance(WINDOW)
        await h.feed(choice(WA_CUSTOMER, f"jobs:file:{second}"))
        await h.run()
        assert [len(r.media_ids) for r in media_replies(h, KARL)] == [2]
