"""Issue 20: export and erasure by number cover every address of the person. A customer
writes on WhatsApp (with a photo) and by SMS from one number; staff file a job typed with
her name and street. `/consent` and the export show both channels; after `löschen` by
SMS, neither the number, nor the name, nor the texts, nor the photo are left in any
table's text, in the SQLite files or in the media directory, and werkbot's copies in the
office group and the fitter's chat are deleted on Telegram. Through the real adapters."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.types import String

from tests.scenarios.conftest import CHEF_TG, GROUP, LUDWIG_TG, TUESDAY_10, World, WorldFactory
from tests.scenarios.conftest import tg_message as telegram_text
from tests.scenarios.test_on_real_adapters import jpeg
from werkbot.bot.storage.models import AddressRow, OutboxRow
from werkbot.handlers.rights import wait_for_checkpoints

NUMBER = "+491705552468"
PROFILE_NAME = "Erika M."  # her WhatsApp profile name, in every WhatsApp webhook
WA_TEXT = "Das Waschbecken im Gäste-WC läuft über (Erika-Q7Z)."
SMS_TEXT = "Per SMS: der Schlüssel liegt beim Nachbarn (Erika-K2W)."
STAFF_NAME = "Sommerfeld-Erika"  # typed by staff into the job's title
STREET = "Sonnenweg-17a"  # typed by staff as the job's site
PHOTO_MARK = (250, 10, 130)


async def _text_columns(w: World) -> str:
    """Every text column of every table, as one text (what searching the database finds)."""
    parts: list[str] = []
    async with w.h.services.db.engine.connect() as conn:
        def columns(sync_conn: object) -> dict[str, list[str]]:
            insp = inspect(sync_conn)
            return {t: [c["name"] for c in insp.get_columns(t)
                        if isinstance(c["type"], String) or "BLOB" in str(c["type"])]
                    for t in insp.get_table_names()}

        for table, names in (await conn.run_sync(columns)).items():
            if not names:
                continue
            listed = ", ".join(f'"{n}"' for n in names)
            query = f'SELECT {listed} FROM "{table}"'  # noqa: S608 - names from the schema
            for row in (await conn.execute(text(query))).all():
                parts.append(f"{table}: " + " | ".join(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                    for v in row))
    return "\n".join(parts)


async def _export(w: World) -> dict[str, object]:
    await w.telegram(telegram_text(f"/export {NUMBER}", chat_id=CHEF_TG, user_id=CHEF_TG,
                                   name="Josef"))
    link = next(word for word in w.telegram_texts(CHEF_TG)[-1].split()
                if "/export/" in word)
    assert w.h.client is not None
    resp = await w.h.client.get(urlsplit(link).path)
    assert resp.status == 200
    archive = zipfile.ZipFile(io.BytesIO(await resp.read()))
    return {name: (json.loads(archive.read(name)) if name.endswith(".json")
                   else archive.read(name)) for name in archive.namelist()}


async def test_issue20_export_and_erasure_by_number_cover_both_channels(
        world_at: WorldFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="werkbot")
    w = await world_at(TUESDAY_10)
    await w.whatsapp(WA_TEXT, sender=NUMBER)
    await w.whatsapp("ja", sender=NUMBER)
    await w.whatsapp_photo(jpeg(PHOTO_MARK), sender=NUMBER)
    await w.h.advance(timedelta(seconds=30))  # the photo batch's quiet window
    await w.sms(SMS_TEXT, sender=NUMBER)
    await w.sms("ja", sender=NUMBER)
    assert any("Erika-K2W" in t for t in w.telegram_texts(GROUP))  # reached the office
    await w.telegram(telegram_text(
        f"/job new Bad {STAFF_NAME} @ludwig kunde:{NUMBER} ort:{STREET}", chat_id=CHEF_TG,
        user_id=CHEF_TG, name="Josef"))
    assert any(STREET in t for t in w.telegram_texts(LUDWIG_TG))  # the fitter was told

    await w.telegram(telegram_text(f"/consent {NUMBER}", chat_id=CHEF_TG, user_id=CHEF_TG,
                                   name="Josef"))
    shown = w.telegram_texts(CHEF_TG)[-1].splitlines()
    assert [line.split(":")[0] for line in shown[1:]] == ["whatsapp", "sms"], shown

    exported = await _export(w)
    addresses = {a["address"] for a in exported["addresses.json"]}  # type: ignore[union-attr]
    assert addresses == {f"whatsapp:{NUMBER}", f"sms:{NUMBER}"}
    said = json.dumps(exported["messages.json"], ensure_ascii=False)
    assert "Erika-Q7Z" in said and "Erika-K2W" in said
    assert STAFF_NAME in json.dumps(exported["jobs.json"], ensure_ascii=False)
    assert any(name.startswith("media/") for name in exported)
    photos = [p.read_bytes() for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert photos, "the photo was stored"

    async with w.h.services.db.session() as session:  # werkbot's copies in staff's chats
        copies = {str(p).split(":", 1)[-1] if str(p).count(":") > 1 else str(p)
                  for p in (await session.scalars(select(OutboxRow.provider_id).where(
                      OutboxRow.address.in_((f"telegram:{GROUP}", f"telegram:{LUDWIG_TG}")),
                      OutboxRow.payload.contains("Erika-") | OutboxRow.payload.contains(
                          STREET)))).all()}
    assert len(copies) >= 3, copies  # her two texts in the office group, the job to Ludwig

    await w.sms("löschen", sender=NUMBER)
    await w.sms("ja", sender=NUMBER)
    assert "gelöscht" in w.sms_to(NUMBER)[-1]
    await w.h.advance(timedelta(seconds=5))  # the scrub after the confirmation's delivery
    await wait_for_checkpoints()

    deleted = {f"{c.params['chat_id']}:{c.params['message_id']}"
               for c in w.api.calls_of("deleteMessage")}
    assert copies <= deleted, (copies, deleted)  # gone from the office's and Ludwig's chats
    rows = await _text_columns(w)
    needles = [NUMBER, NUMBER[1:], PROFILE_NAME, "Erika-Q7Z", "Erika-K2W", STAFF_NAME, STREET,
               WA_TEXT, SMS_TEXT]
    assert [n for n in needles if n in rows] == []
    db_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("werkbot.db*"))
    assert [n for n in needles if n.encode() in db_bytes] == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "erased a person" in logged  # the log was captured
    assert [n for n in needles if n in logged] == []  # nor in werkbot's own log lines
    left = [p.read_bytes() for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert [b for b in left if b in photos] == []
    async with w.h.services.db.session() as session:
        assert (await session.scalars(select(AddressRow.address))).all() == [
            a for a in (await session.scalars(select(AddressRow.address))).all()
            if NUMBER not in a]


async def test_issue20_staff_erasure_also_deletes_the_telegram_copies(
        world_at: WorldFactory) -> None:
    w = await world_at(TUESDAY_10)
    await w.sms(SMS_TEXT, sender=NUMBER)
    await w.sms("ja", sender=NUMBER)
    await w.whatsapp(WA_TEXT, sender=NUMBER)
    await w.whatsapp("ja", sender=NUMBER)
    async with w.h.services.db.session() as session:
        copies = {str(p) for p in (await session.scalars(select(OutboxRow.provider_id).where(
            OutboxRow.address == f"telegram:{GROUP}"))).all()}
    assert len(copies) >= 3, copies  # her topic's header and both her texts
    await w.telegram(telegram_text(f"/erase {NUMBER}", chat_id=CHEF_TG, user_id=CHEF_TG,
                                   name="Josef"))
    await w.telegram(telegram_text("ja", chat_id=CHEF_TG, user_id=CHEF_TG, name="Josef"))
    await w.h.advance(timedelta(seconds=5))
    deleted = {f"{c.params['chat_id']}:{c.params['message_id']}"
               for c in w.api.calls_of("deleteMessage")}
    assert {c.split(":", 1)[-1] if c.count(":") > 1 else c for c in copies} <= deleted
    async with w.h.services.db.session() as session:
        left = (await session.scalars(select(AddressRow.address))).all()
    assert [a for a in left if NUMBER in a] == []
