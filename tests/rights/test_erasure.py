"""Erasure in chat: asked once, confirmed with `ja`, then no trace of the person remains in
any table, in the SQLite file or in the media directory; the ledger keeps pseudonyms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.rights.helpers import count, dump_all_rows, person_of
from werkbot.bot.addresses import Address
from werkbot.bot.codec import dumps_reply
from werkbot.bot.hooks import hooks
from werkbot.bot.replies import TextReply
from werkbot.bot.storage.models import MediaRow, OutboxRow, Person
from werkbot.bot.testing import Harness, offered
from werkbot.handlers.consent.ledger import ConsentEntry, ConsentLedger
from werkbot.handlers.rights import ERASERS, wait_for_checkpoints
from werkbot.handlers.rights.registry import PROVIDER_ERASERS

ALICE = Address("whatsapp", "+491701111111")
BOB = Address("telegram", "555666777")
ALICE_TEXT = 'Rohrbruch im Bad, "Musterstraße 12" (Alice-K8P3)'
BOB_TEXT = "Bitte Termin für Wartung, Bob-X1Y2"
PHOTO = b"\xff\xd8\xff\xe0" + b"ALICE-PHOTO-UNIQUE" * 30
SHARED = b"\xff\xd8\xff\xe0" + b"shared-photo" * 30
OFFICE = Address("telegram", "133333333")


class RecordingEraser:
    def __init__(self, busy_first: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.busy_first = busy_first

    async def erase_messages(self, provider_ids: Sequence[str]) -> list[str]:
        self.calls.append(list(provider_ids))
        if self.busy_first and len(self.calls) == 1:
            return list(provider_ids[-1:])  # still in flight
        return []


async def _alice_with_history(h: Harness) -> Person:
    await h.say(ALICE, ALICE_TEXT)
    alice = await person_of(h, ALICE)
    async with h.services.db.session() as session:
        ledger = ConsentLedger(session, h.services.signer)
        await ledger.record(person_id=alice.id, address=ALICE, purposes=["requests", "photos"],
                            granted=True, text="consent text", text_version="2026-11",
                            method="chat", evidence="whatsapp:SM0001", recorded_by="self",
                            now=h.clock.now())
        await h.services.media.save(session, PHOTO, filename="bad.jpg", person_id=alice.id,
                                    now=h.clock.now())
        await h.services.media.save(session, SHARED, person_id=alice.id, now=h.clock.now())
        person = await session.get(Person, alice.id)
        assert person is not None
        person.display_name = "Alice Sommer"
        # what was forwarded to the office about her, as the office inbox would do it: as
        # payloads are written now, and as they were written before orjson (ASCII escapes)
        for payload in (dumps_reply(TextReply(text=ALICE_TEXT)),
                        json.dumps({"$type": "TextReply", "text": ALICE_TEXT})):
            session.add(OutboxRow(address=str(OFFICE), person_id=None, kind="forward",
                                  payload=payload, status="sent",
                                  next_attempt_at=h.clock.now(), created_at=h.clock.now(),
                                  updated_at=h.clock.now()))
    await h.say(BOB, BOB_TEXT)
    bob = await person_of(h, BOB)
    async with h.services.db.session() as session:
        await h.services.media.save(session, SHARED, person_id=bob.id, now=h.clock.now())
    return alice


async def _erase(h: Harness, who: Address) -> list[str]:
    asked = await h.say(who, "löschen")
    assert len(asked) == 1 and offered(asked[0].reply) == ["Ja, alles löschen",
                                                            "Nein, abbrechen"]
    assert "JA" in asked[0].text
    done = await h.say(who, "ja")
    await h.advance(timedelta(seconds=5))  # the scrub timer after delivery
    await wait_for_checkpoints()
    return [s.text for s in done]


async def test_erasure_leaves_no_trace_anywhere(h: Harness, tmp_path: Path) -> None:
    alice = await _alice_with_history(h)
    done = await _erase(h, ALICE)
    assert len(done) == 1 and "gelöscht" in done[0]
    assert "?" not in done[0]  # the final confirmation asks nothing further
    rows = await dump_all_rows(h)
    escaped = json.dumps(ALICE_TEXT)[1:-1]
    for needle in (ALICE.id, ALICE.id[1:], ALICE_TEXT, escaped, "Alice Sommer", "Alice-K8P3"):
        assert needle not in rows, needle
    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("werkbot.db*"))
    for needle in (ALICE.id, ALICE_TEXT, escaped, "Alice-K8P3", "Alice Sommer"):
        assert needle.encode() not in db_bytes, needle
    media = [p.read_bytes() for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert PHOTO not in media
    assert SHARED in media  # Bob still has the same picture
    assert "Bob-X1Y2" in rows and BOB.id in rows
    async with h.services.db.session() as session:
        ledger = (await session.scalars(select(ConsentEntry))).all()
        person = await session.get(Person, alice.id)
        left = (await session.scalars(select(MediaRow))).all()
    assert len(ledger) == 2
    assert all(e.person_id is None and e.address == "" and e.evidence == "" for e in ledger)
    assert {e.subject for e in ledger} == {h.services.signer.pseudonym(f"person:{alice.id}")}
    assert {(e.channel, e.purpose, e.granted) for e in ledger} == {
        ("whatsapp", "requests", True), ("whatsapp", "photos", True)}
    assert person is not None and person.erased_at is not None and person.display_name == ""
    assert [m.person_id for m in left] == [(await person_of(h, BOB)).id]


async def test_nein_cancels_and_keeps_everything(h: Harness) -> None:
    await _alice_with_history(h)
    await h.say(ALICE, "delete")
    got = await h.say(ALICE, "nein")
    assert "nichts" in got[0].text
    assert "Alice-K8P3" in await dump_all_rows(h)
    await h.say(ALICE, "ja")  # a late yes no longer erases
    assert "Alice-K8P3" in await dump_all_rows(h)


async def test_one_person_cannot_erase_another(h: Harness) -> None:
    await _alice_with_history(h)
    await h.say(BOB, f"löschen {ALICE}")
    await h.say(BOB, f"/delete {ALICE.id}")
    await h.say(BOB, "ja")
    assert "Alice-K8P3" in await dump_all_rows(h)
    await _erase(h, BOB)
    rows = await dump_all_rows(h)
    assert "Alice-K8P3" in rows and ALICE.id in rows
    assert "Bob-X1Y2" not in rows and BOB.id not in rows


async def test_staff_words_do_not_erase_staff(h: Harness) -> None:
    boss = Address("whatsapp", "+4917100000001")
    await h.say(boss, "löschen")
    await h.say(boss, "ja")
    assert await count(h, "SELECT count(*) FROM addresses WHERE address = "
                          "'whatsapp:+4917100000001'") == 1


async def test_registered_erasers_run_and_provider_copies_are_deleted(h: Harness) -> None:
    seen: list[int] = []

    async def jobs(session: object, services: object, person_id: int) -> None:
        seen.append(person_id)

    eraser = RecordingEraser(busy_first=True)
    hooks(h.services, PROVIDER_ERASERS).add("whatsapp", eraser)
    hooks(h.services, ERASERS).add("test-jobs", jobs)
    try:
        alice = await _alice_with_history(h)
        async with h.services.db.session() as session:  # an inbound SID as Twilio gives it
            row = (await session.scalars(select(OutboxRow).where(
                OutboxRow.address == str(ALICE)))).first()
            assert row is not None
            row.provider_id = "SM" + "a" * 32
        await _erase(h, ALICE)
        await h.advance(timedelta(seconds=5))
    finally:
        hooks(h.services, ERASERS).remove("test-jobs")
        hooks(h.services, PROVIDER_ERASERS).remove("whatsapp")
    assert seen == [alice.id]
    flat = [sid for call in eraser.calls for sid in call]
    assert "SM" + "a" * 32 in flat
    assert len(eraser.calls) >= 2  # the busy one was tried again
    assert "SM" + "a" * 32 not in await dump_all_rows(h)


async def test_final_confirmation_reaches_a_person_who_declined(h: Harness) -> None:
    """Rights answers go out even where the delivery policy refuses other messages."""

    class RefuseAll:
        async def allows(self, ctx: object, address: object, reply: object) -> bool:
            return False

        async def choose(self, ctx: object, person_id: int, reply: object) -> None:
            return None

    await _alice_with_history(h)
    h.services.policy = RefuseAll()
    got = await h.say(ALICE, "export")
    assert "/export/" in got[0].text
    done = await _erase(h, ALICE)
    assert "gelöscht" in done[0]
    assert ALICE.id not in await dump_all_rows(h)
