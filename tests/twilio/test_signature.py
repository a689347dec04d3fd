"""Webhook signatures: Twilio's published vector and what must be refused (issue 3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import MultiDict
from twilio.request_validator import HMAC_SHA256, RequestValidator

from tests.twilio import payloads
from tests.twilio.conftest import App
from werkbot.adapters.twilio.signature import SignatureChecker, signed_url

# twilio-python tests/unit/test_request_validator.py
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                 "From": "+14158675309", "To": "+18005551212"}
VECTOR_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
HEADERS = {"X-Twilio-Signature": VECTOR_SIGNATURE}


@pytest.fixture
def checker() -> SignatureChecker:
    return SignatureChecker(VECTOR_TOKEN)


def test_published_vector_is_accepted(checker: SignatureChecker) -> None:
    assert checker.sign(VECTOR_URL, VECTOR_PARAMS) == VECTOR_SIGNATURE
    assert checker.valid(VECTOR_URL, VECTOR_PARAMS, HEADERS)


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(["Body", "From", "To", "MediaUrl0", "b", "B",
                                                 "Body0", ""]) | _text, _text), max_size=8),
       token=_text, sha256=st.booleans())
def test_signatures_are_twilios_for_any_form(pairs: list[tuple[str, str]], token: str,
                                             sha256: bool) -> None:
    """Repeated names, repeated pairs, empty and non-ASCII values: what werkbot computes is
    what twilio's own validator computes, so a real Twilio webhook is never refused."""
    form: MultiDict[str] = MultiDict(pairs)
    url = "https://bot.example.de/webhooks/whatsapp?x=1"
    algorithm = HMAC_SHA256 if sha256 else None
    theirs = RequestValidator(token).compute_signature(url, form, algorithm)
    checker = SignatureChecker(token)
    assert checker.compute(url, form, "sha256" if sha256 else "sha1") == theirs
    headers = {"X-Twilio-Signature": theirs}
    if sha256:
        headers["X-Twilio-Webhooks-Signature-Settings"] = f"algorithm={HMAC_SHA256}"
    assert checker.valid(url, form, headers)


def test_wrong_url_is_refused(checker: SignatureChecker) -> None:
    assert not checker.valid("https://mycompany.com/myapp.php?foo=1&bar=3", VECTOR_PARAMS,
                             HEADERS)
    assert not checker.valid("http://mycompany.com/myapp.php?foo=1&bar=2", VECTOR_PARAMS,
                             HEADERS)


def test_explicit_default_port_variant_is_accepted(checker: SignatureChecker) -> None:
    # Twilio signs sometimes with, sometimes without the port; both must verify.
    assert checker.valid("https://mycompany.com:443/myapp.php?foo=1&bar=2", VECTOR_PARAMS,
                         HEADERS)
    with_port = checker.sign("https://mycompany.com:443/myapp.php?foo=1&bar=2", VECTOR_PARAMS)
    assert checker.valid(VECTOR_URL, VECTOR_PARAMS, {"X-Twilio-Signature": with_port})


@pytest.mark.parametrize("name", sorted(VECTOR_PARAMS))
def test_one_tampered_parameter_is_refused(checker: SignatureChecker, name: str) -> None:
    tampered = {**VECTOR_PARAMS, name: VECTOR_PARAMS[name] + "0"}
    assert not checker.valid(VECTOR_URL, tampered, HEADERS)


def test_added_parameter_is_refused(checker: SignatureChecker) -> None:
    assert not checker.valid(VECTOR_URL, {**VECTOR_PARAMS, "Body": "x"}, HEADERS)


def test_missing_or_empty_header_is_refused(checker: SignatureChecker) -> None:
    assert not checker.valid(VECTOR_URL, VECTOR_PARAMS, {})
    assert not checker.valid(VECTOR_URL, VECTOR_PARAMS, {"X-Twilio-Signature": ""})


def test_wrong_token_is_refused() -> None:
    assert not SignatureChecker("54321").valid(VECTOR_URL, VECTOR_PARAMS, HEADERS)


def test_signed_url_keeps_a_path_prefix_of_the_public_url() -> None:
    assert (signed_url("https://bot.example.de/werkbot/", "/webhooks/sms?x=1")
            == "https://bot.example.de/werkbot/webhooks/sms?x=1")


async def test_webhook_signed_for_the_public_url_is_stored(app: App) -> None:
    resp = await app.post("/webhooks/whatsapp", payloads.whatsapp("hallo"))
    assert resp.status == 200
    assert len(await app.inbox()) == 1


async def test_webhook_signed_for_the_local_url_is_refused(app: App) -> None:
    """Behind a proxy request.url is not what Twilio called: it must not count."""
    form = payloads.whatsapp("hallo")
    local = app.fake.sign(app.base_url + "/webhooks/whatsapp", form)
    resp = await app.post("/webhooks/whatsapp", form, signature=local)
    assert resp.status == 403
    assert await app.inbox() == []


async def test_webhook_with_query_string_is_signed_with_it(app: App) -> None:
    resp = await app.post("/webhooks/sms?attempt=2", payloads.sms("hallo"))
    assert resp.status == 200
    form = payloads.sms("hallo")
    unsigned_query = app.fake.sign(app.h.settings.server.public_url + "/webhooks/sms", form)
    resp = await app.post("/webhooks/sms?attempt=2", form, signature=unsigned_query)
    assert resp.status == 403
    assert len(await app.inbox()) == 1


@pytest.mark.parametrize("path", ["/webhooks/whatsapp", "/webhooks/sms",
                                  "/webhooks/whatsapp/status", "/webhooks/sms/status"])
async def test_missing_signature_gets_403_and_nothing_is_stored(app: App, path: str) -> None:
    resp = await app.post(path, payloads.whatsapp("hallo"), signature="")
    assert resp.status == 403
    assert await app.inbox() == []


async def test_tampered_body_gets_403_and_nothing_is_stored(app: App) -> None:
    form = payloads.whatsapp("hallo")
    signature = app.fake.sign(app.h.settings.server.public_url + "/webhooks/whatsapp", form)
    resp = await app.post("/webhooks/whatsapp", {**form, "Body": "hallo!"},
                          signature=signature)
    assert resp.status == 403
    assert await app.inbox() == []
