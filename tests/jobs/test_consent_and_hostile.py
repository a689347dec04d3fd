"""Photo consent before anything reaches a fitter, and hostile files refused cleanly."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.jobs.conftest import KARL, WINDOW, customer, job, jpeg
from werkbot.bot.addresses import Address
from werkbot.bot.events import MediaEvent, MediaRef
from werkbot.bot.replies import MediaReply
from werkbot.bot.storage.models import MediaRow
from werkbot.bot.testing import Harness, choice, media, offered
from werkbot.handlers.consent.ledger import PHOTOS, ConsentLedger
from werkbot.handlers.jobs.models import JobBatch, JobMedia

WA_CUSTOMER = Address("whatsapp", "+491709999999")


def fitter_media(h: Harness) -> list[MediaReply]:
    return [s.reply for s in h.adapter("telegram").to(KARL) if isinstance(s.reply, MediaReply)]


async def counts(h: Harness) -> tuple[int, int, int]:
    async with h.services.db.session() as session:
        return (
            await session.scalar(select(func.count()).select_from(MediaRow)) or 0,
            await session.scalar(select(func.count()).select_from(JobMedia)) or 0,
            await session.scalar(select(func.count()).select_from(JobBatch)) or 0,
        )


async def test_customer_without_photo_consent_is_asked_and_nothing_reaches_the_fitter(
        h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER, photos=False)
    await job(h, "Bad", customer_id=person)
    h.adapter("whatsapp").media["p1"] = jpeg((1, 100, 1))
    await h.feed(media(WA_CUSTOMER, "p1"))
    await h.run()
    asked = h.adapter("whatsapp").to(WA_CUSTOMER)
    assert [s.reply.kind for s in asked] == ["photo_consent"]
    assert offered(asked[0].reply) == ["Ja, weitergeben", "Nein"]
    await h.advance(WINDOW * 3)
    assert fitter_media(h) == []
    await h.feed(choice(WA_CUSTOMER, "jobs:photos:yes"))
    await h.run()
    assert [len(r.media_ids) for r in fitter_media(h)] == [1]
    async with h.services.db.session() as session:
        assert await ConsentLedger(session, h.services.signer).has(person, PHOTOS, "whatsapp")


async def test_no_to_photo_consent_deletes_the_held_photos(h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER, photos=False)
    await job(h, "Bad", customer_id=person)
    h.adapter("whatsapp").media["p1"] = jpeg((1, 100, 1))
    await h.feed(media(WA_CUSTOMER, "p1"))
    await h.run()
    got = await h.say(WA_CUSTOMER, "nein")
    assert "gelöscht" in got[-1].text
    await h.advance(WINDOW)
    assert fitter_media(h) == []
    media_rows, filed, _ = await counts(h)
    assert (media_rows, filed) == (0, 0)


def bomb_png() -> bytes:
    """A tiny PNG whose header declares 100000 x 100000 pixels."""
    out = io.BytesIO()
    Image.new("L", (8, 8)).save(out, format="PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">II", 100_000, 100_000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def event_with(ref: MediaRef) -> MediaEvent:
    return MediaEvent(id=f"hostile:{ref.ref}", sender=WA_CUSTOMER,
                      received_at=datetime.now().astimezone(), media=(ref,))


@pytest.mark.parametrize(("name", "data", "ref", "expected"), [
    ("fake-jpeg", b"MZ\x90\x00 definitely not a photo" * 20,
     MediaRef(kind="image", content_type="image/jpeg", ref="fake"), "kein lesbares Bild"),
    ("broken-jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 200,
     MediaRef(kind="image", content_type="image/jpeg", ref="broken"), "kein lesbares Bild"),
    ("bomb", bomb_png(), MediaRef(kind="image", content_type="image/png", ref="bomb"),
     "zu viele Bildpunkte"),
    ("200MB", b"\xff\xd8\xff" + bytes(200 * 1024 * 1024),
     MediaRef(kind="document", content_type="image/jpeg", ref="huge"), "zu groß"),
    ("declared-200MB", b"",
     MediaRef(kind="document", content_type="application/pdf", ref="declared",
              size=200 * 1024 * 1024), "zu groß"),
    ("path", jpeg((1, 2, 3)),
     MediaRef(kind="document", content_type="image/jpeg", ref="path",
              filename="../../etc/passwd.jpg"), "Pfadangaben"),
    ("exe", b"MZ\x90\x00" + bytes(100),
     MediaRef(kind="document", content_type="application/octet-stream", ref="exe",
              filename="rechnung.exe"), "Dateiart"),
])
async def test_hostile_files_are_refused_and_nothing_is_stored(
        h: Harness, name: str, data: bytes, ref: MediaRef, expected: str) -> None:
    person = await customer(h, WA_CUSTOMER)
    await job(h, "Bad", customer_id=person)
    h.adapter("whatsapp").media[ref.ref] = data
    await h.feed(event_with(ref))
    await h.run()
    got = h.adapter("whatsapp").to(WA_CUSTOMER)
    assert len(got) == 1 and expected in got[0].text, name
    await h.advance(WINDOW)
    assert fitter_media(h) == []
    assert await counts(h) == (0, 0, 0)
    assert not any(p.is_file() for p in h.services.media.directory.rglob("*"))


async def test_a_refused_file_does_not_stop_the_good_ones(h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER)
    await job(h, "Bad", customer_id=person)
    adapter = h.adapter("whatsapp")
    adapter.media.update({"good": jpeg((3, 3, 3)), "bad": b"not an image at all"})
    await h.feed(MediaEvent(id="mms:1", sender=WA_CUSTOMER,
                            received_at=datetime.now().astimezone(),
                            media=(MediaRef(kind="image", content_type="image/jpeg", ref="bad"),
                                   MediaRef(kind="image", content_type="image/jpeg",
                                            ref="good"))))
    await h.run()
    await h.advance(timedelta(seconds=9))
    assert [len(r.media_ids) for r in fitter_media(h)] == [1]


async def test_unanswered_photo_consent_expires_and_deletes_the_files(h: Harness) -> None:
    person = await customer(h, WA_CUSTOMER, photos=False)
    await job(h, "Bad", customer_id=person)
    h.adapter("whatsapp").media["p1"] = jpeg((1, 100, 1))
    await h.feed(media(WA_CUSTOMER, "p1"))
    await h.run()
    assert (await counts(h))[0] > 0
    await h.advance(h.settings.consent.hold_for + timedelta(minutes=1))
    assert (await counts(h))[:2] == (0, 0)
    assert fitter_media(h) == []
