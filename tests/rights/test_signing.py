"""The signing pages without a browser: hostile input, the ledger, the receipt, the hooks."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import select

from tests.rights.helpers import path_of, person_of, signature_png
from werkbot.bot.addresses import Address
from werkbot.bot.hooks import hooks
from werkbot.bot.testing import Harness
from werkbot.handlers.consent.ledger import ConsentEntry, ConsentLedger
from werkbot.handlers.rights import SIGNING_HOOKS, create_consent_link, create_signing_request
from werkbot.handlers.rights.models import SigningRequest
from werkbot.handlers.rights.pages import MAX_SIGNATURE_BYTES

ALICE = Address("whatsapp", "+491701111111")
OFFICE = Address("telegram", "133333333")


async def _link(h: Harness) -> tuple[int, str]:
    await h.say(ALICE, "Hallo")
    alice = await person_of(h, ALICE)
    url = await create_consent_link(h.services, alice.id, ["whatsapp", "sms"],
                                    ["requests", "photos"])
    return alice.id, path_of(url)


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


async def test_page_shows_text_and_a_checkbox_per_channel_and_purpose(h: Harness) -> None:
    _, path = await _link(h)
    assert h.client is not None
    response = await h.client.get(path)
    assert response.status == 200
    page = await response.text()
    assert "Sanitär Maier GmbH" in page and "2026-11" in page
    for name in ("c:whatsapp:requests", "c:whatsapp:photos", "c:sms:requests", "c:sms:photos"):
        assert f'name="{name}"' in page
    assert '<canvas id="pad"' in page
    assert "script-src 'nonce-" in response.headers["Content-Security-Policy"]


async def test_submit_records_ledger_receipt_and_tells_person_and_office(h: Harness) -> None:
    person_id, path = await _link(h)
    assert h.client is not None
    png = signature_png()
    response = await h.client.post(path, data={"c:whatsapp:requests": "1",
                                                "c:sms:photos": "1",
                                                "c:telegram:emergency": "1",  # not offered
                                                "signature": _data_url(png)})
    assert response.status == 200
    assert 'id="link"' in await response.text()
    async with h.services.db.session() as session:
        ledger = ConsentLedger(session, h.services.signer)
        entries = (await session.scalars(select(ConsentEntry))).all()
        request = (await session.scalars(select(SigningRequest))).one()
        assert await ledger.has(person_id, "requests", "whatsapp")
    assert {(e.channel, e.purpose, e.method) for e in entries} == {
        ("whatsapp", "requests", "web-signature"), ("sms", "photos", "web-signature")}
    assert all(e.evidence == f"media:{request.signature_media_id}" for e in entries)
    assert request.receipt_media_id is not None
    receipt = await h.services.media.read(request.receipt_media_id)
    reader = PdfReader(io.BytesIO(receipt.data))
    lines = "\n".join(page.extract_text() for page in reader.pages).splitlines()
    from werkbot.handlers.consent.ledger import text_hash

    for line in ("Bestätigung Ihrer Einwilligung", "Verantwortlich: Sanitär Maier GmbH",
                 f"Vorgang: Einwilligung Nr. {request.id}", "Textfassung: 2026-11",
                 f"SHA-256 des Textes: {text_hash(request.text)}",
                 "[x] Nachrichten zu Anfragen und Aufträgen - über WhatsApp",
                 "[x] Fotos zu Aufträgen an die zuständigen Monteure - über SMS"):
        assert line in lines, (line, lines)
    assert not any("Notdienst-Benachrichtigungen" in line for line in lines)  # not offered
    assert sum(len(page.images) for page in reader.pages) == 1
    await h.run()
    to_alice = h.adapter("whatsapp").to(ALICE)
    assert "/media/" in to_alice[-1].text
    assert any("/media/" in s.text for s in h.adapter("telegram").to(OFFICE))
    again = await h.client.post(path, data={"c:whatsapp:requests": "1",
                                            "signature": _data_url(png)})
    assert again.status == 409


async def test_hostile_submissions_are_refused_with_a_message(h: Harness) -> None:
    _, path = await _link(h)
    assert h.client is not None
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_SIGNATURE_BYTES + 10)
    cases = [
        ({"c:whatsapp:requests": "1", "signature": _data_url(huge)}, 413, "zu groß"),
        ({"c:whatsapp:requests": "1", "signature": "data:image/png;base64,@@@"}, 400,
         "nicht gelesen"),
        ({"c:whatsapp:requests": "1", "signature": _data_url(b"GIF89a" + b"0" * 50)}, 400,
         "nicht gelesen"),
        ({"c:whatsapp:requests": "1", "signature": _data_url(signature_png(ink=False))}, 400,
         "unterschreiben Sie"),
        ({"signature": _data_url(signature_png())}, 400, "mindestens einen"),
    ]
    for form, status, words in cases:
        response = await h.client.post(path, data=form)
        assert response.status == status, form.keys()
        assert words in await response.text()
    body = "signature=" + "A" * (2 * 1024 * 1024)
    response = await h.client.post(path, data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 413
    cross = await h.client.post(path, data={"signature": _data_url(signature_png())},
                                headers={"Origin": "https://evil.example"})
    assert cross.status == 403
    async with h.services.db.session() as session:
        assert (await session.scalars(select(ConsentEntry))).all() == []


async def test_forged_and_expired_consent_tokens_are_404(h: Harness) -> None:
    _, path = await _link(h)
    assert h.client is not None
    token = path.rsplit("/", 1)[1]
    for bad in (path[:-3] + "xyz", "/consent/x.y", f"/export/{token}", f"/sign/{token}",
                f"/consent/qr/{token}"):
        response = await h.client.get(bad)
        assert response.status == 404, bad
        assert await response.text() == "not found"
        post = await h.client.post(bad, data={"signature": "x"})
        assert post.status in (404, 405)
    h.clock.advance(timedelta(days=8))
    assert (await h.client.get(path)).status == 404


async def test_job_signatures_use_sign_path_and_run_their_hook(h: Harness) -> None:
    await h.say(ALICE, "Hallo")
    alice = await person_of(h, ALICE)
    called: list[str] = []

    async def on_job(ctx: object, request: SigningRequest) -> None:
        called.append(str(request.option("ref")))

    hooks(h.services, SIGNING_HOOKS).add("test-job", on_job)
    try:
        async with h.services.db.session() as session:
            _, url = await create_signing_request(
                session, h.services, kind="test-job", person_id=alice.id, title="Abnahme A-1042",
                text="Arbeiten ordnungsgemäß ausgeführt.", ref="A-1042")
        assert "/sign/" in url
        assert h.client is not None
        response = await h.client.post(path_of(url),
                                        data={"signature": _data_url(signature_png())})
        assert response.status == 200
        await h.run()
    finally:
        hooks(h.services, SIGNING_HOOKS).remove("test-job")
    assert called == ["A-1042"]
    async with h.services.db.session() as session:
        assert (await session.scalars(select(ConsentEntry))).all() == []
