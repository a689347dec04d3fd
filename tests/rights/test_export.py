"""Export in chat: the link opens a ZIP with the person's JSON and media, and only theirs."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from tests.rights.helpers import path_of, person_of
from werkbot.bot.addresses import Address
from werkbot.bot.hooks import hooks
from werkbot.bot.testing import Harness
from werkbot.handlers.rights import EXPORTERS, export_link

ALICE = Address("whatsapp", "+491701111111")
BOB = Address("sms", "+491702222222")
ALICE_TEXT = "Der Wasserhahn in der Küche tropft seit Montag (Alice-7Q2)"
BOB_TEXT = "Bitte Heizung prüfen, Keller, Bob-9Z4"
PHOTO = b"\xff\xd8\xff\xe0" + b"alice-photo-bytes" * 20


async def _setup(h: Harness) -> str:
    await h.say(ALICE, ALICE_TEXT)
    await h.say(BOB, BOB_TEXT)
    alice = await person_of(h, ALICE)
    async with h.services.db.session() as session:
        await h.services.media.save(session, PHOTO, filename="kueche.jpg", person_id=alice.id,
                                    now=h.clock.now())
    got = await h.say(ALICE, "Auskunft")
    assert len(got) == 1
    url = next(w for w in got[0].text.split() if "/export/" in w)
    assert url.startswith("https://bot.example.de/export/")
    return url


async def test_export_link_gives_the_persons_zip_and_nobody_elses(h: Harness) -> None:
    url = await _setup(h)
    assert h.client is not None
    response = await h.client.get(path_of(url))
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/zip"
    body = await response.read()
    archive = zipfile.ZipFile(io.BytesIO(body))
    names = set(archive.namelist())
    assert {"person.json", "addresses.json", "consents.json", "messages.json",
            "media.json"} <= names
    addresses = json.loads(archive.read("addresses.json"))
    assert [a["address"] for a in addresses] == [str(ALICE)]
    messages = json.loads(archive.read("messages.json"))
    assert any(m.get("text") == ALICE_TEXT for m in messages)
    media_files = [n for n in names if n.startswith("media/")]
    assert [archive.read(n) for n in media_files] == [PHOTO]
    everything = b"".join(archive.read(n) for n in names).decode("utf-8", "replace")
    assert BOB.id not in everything
    assert BOB_TEXT not in everything


async def test_export_words_in_english_and_with_slash(h: Harness) -> None:
    for said in ("export", "/daten", "EXPORT"):
        got = await h.say(ALICE, said)
        assert "/export/" in got[0].text


async def test_pluggable_exporter_adds_its_file(h: Harness) -> None:
    async def jobs(session: object, person_id: int) -> list[dict[str, object]]:
        return [{"code": "A-1042", "person": person_id}]

    hooks(h.services, EXPORTERS).add("test-jobs", jobs)
    try:
        url = await _setup(h)
        assert h.client is not None
        body = await (await h.client.get(path_of(url))).read()
        data = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("test-jobs.json"))
        assert data[0]["code"] == "A-1042"
    finally:
        hooks(h.services, EXPORTERS).remove("test-jobs")


async def test_forged_expired_and_misused_tokens_are_404_and_reveal_nothing(h: Harness) -> None:
    url = await _setup(h)
    assert h.client is not None
    path = path_of(url)
    token = path.rsplit("/", 1)[1]
    bob = await person_of(h, BOB)
    _, _, mac = token.partition(".")
    forged_for_bob = export_link(h.services, bob.id).rsplit("/", 1)[1].split(".")[0] + "." + mac
    bad = [
        path[:-2] + ("AA" if not path.endswith("AA") else "BB"),  # altered MAC
        f"/export/{forged_for_bob}",  # Bob's payload under Alice's signature
        "/export/not-a-token",
        f"/consent/{token}",  # an export token is no consent token
        f"/sign/{token}",
    ]
    bodies = set()
    for candidate in bad:
        response = await h.client.get(candidate)
        assert response.status == 404, candidate
        bodies.add(await response.text())
    h.clock.advance(timedelta(hours=25))
    expired = await h.client.get(path)
    assert expired.status == 404
    bodies.add(await expired.text())
    assert bodies == {"not found"}


async def test_no_way_to_ask_for_another_persons_export(h: Harness) -> None:
    await _setup(h)
    got = await h.say(BOB, f"export {ALICE}")
    assert [s.reply.kind for s in got] == ["menu"]  # the menu: no link, nobody's data
    got = await h.say(BOB, f"/auskunft {ALICE.id}")
    assert [s.reply.kind for s in got] == ["menu"]  # the menu: no link, nobody's data
    got = await h.say(BOB, "export")
    url = next(w for w in got[0].text.split() if "/export/" in w)
    assert h.client is not None
    body = await (await h.client.get(path_of(url))).read()
    archive = zipfile.ZipFile(io.BytesIO(body))
    text = b"".join(archive.read(n) for n in archive.namelist())
    # Bob typed Alice's number himself, so it is in his own messages; nothing else of hers is
    assert [a["address"] for a in json.loads(archive.read("addresses.json"))] == [str(BOB)]
    assert ALICE_TEXT.encode() not in text
    assert PHOTO not in text
