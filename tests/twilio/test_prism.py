"""Every outbound shape, sent by the real twilio-python client to Prism serving Twilio's
own OpenAPI file, is accepted; forced 429 and 400/21610 answers take the retry and
opt-out paths (issue 3)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import menu_bundle
from tests.twilio import payloads
from tests.twilio.conftest import (
    MENU_TEMPLATE,
    App,
    HeaderHttpClient,
    NoMedia,
    ignore_events,
    twilio_section,
)
from tests.twilio.fake_twilio import FakeTwilio
from werkbot.adapters.twilio.adapter import TwilioAdapter
from werkbot.adapters.twilio.client import TwilioApi
from werkbot.bot.adapter import SendError
from werkbot.bot.addresses import Address
from werkbot.bot.replies import MediaReply, Reply, TemplateReply, TextReply
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import AddressRow, OutboxRow
from werkbot.bot.testing import Harness, make_settings

pytestmark = pytest.mark.prism

WA = Address("whatsapp", payloads.CUSTOMER)
SMS = Address("sms", payloads.CUSTOMER)


class PrismChannels:
    """Both Twilio adapters pointed at Prism, with a header-injecting http client."""

    def __init__(self, settings: Settings) -> None:
        self.http: HeaderHttpClient | None = None
        self.api = TwilioApi(settings.twilio, http_factory=self._make_http)
        self.adapters = {c: TwilioAdapter(c, settings.twilio, settings.server.public_url,
                                          self.api) for c in ("whatsapp", "sms")}

    def _make_http(self) -> HeaderHttpClient:
        self.http = HeaderHttpClient()
        return self.http

    def prefer(self, value: str) -> None:
        assert self.http is not None
        self.http.extra_headers["Prefer"] = value

    def last_form(self) -> dict[str, Any]:
        assert self.http is not None
        url, data = self.http.requests[-1]
        assert url.endswith("/Messages.json")
        return dict(data)


def prism_settings(tmp_path: Path, prism: str, **twilio: Any) -> Settings:
    return make_settings(tmp_path, twilio=twilio_section(prism, **twilio))


@pytest.fixture
async def channels(tmp_path: Path, prism: str) -> AsyncIterator[PrismChannels]:
    made = PrismChannels(prism_settings(tmp_path, prism, mms=True))
    for adapter in made.adapters.values():
        await adapter.start(ignore_events, NoMedia())
    yield made
    for adapter in made.adapters.values():
        await adapter.stop()


SHAPES: list[tuple[str, str, Reply]] = [
    ("whatsapp-text", "whatsapp", TextReply(text="Wir kommen morgen um 8 Uhr. 👍")),
    ("whatsapp-media", "whatsapp", MediaReply(media_ids=(3,), caption="Ihr Angebot",
                                              media_kinds=("document",))),
    ("whatsapp-template", "whatsapp", TemplateReply(kind="menu", template="menu",
                                                    variables={"1": "Grüß Gott"})),
    ("sms-text", "sms", TextReply(text="Termin bestätigt: Do 8:00")),
    ("sms-mms", "sms", MediaReply(media_ids=(4, 5), caption="Fotos",
                                  media_kinds=("image", "image"))),
]


@pytest.mark.parametrize(("shape", "channel", "reply"), SHAPES, ids=[s[0] for s in SHAPES])
async def test_every_outbound_shape_is_accepted_by_twilios_contract(
        channels: PrismChannels, shape: str, channel: str, reply: Reply) -> None:
    address = WA if channel == "whatsapp" else SMS
    receipt = await channels.adapters[channel].send(address, reply)
    assert receipt.provider_id.startswith("SM")
    form = channels.last_form()
    assert form["StatusCallback"] == f"https://bot.example.de/webhooks/{channel}/status"
    assert form["From"] == (payloads.BUSINESS_WA if channel == "whatsapp"
                            else payloads.BUSINESS_SMS)
    if shape == "whatsapp-template":
        assert form["ContentSid"] == MENU_TEMPLATE and "Body" not in form
        assert json.loads(form["ContentVariables"]) == {"1": "Grüß Gott"}
    if shape == "sms-mms":
        assert form["MediaUrl"] == ["https://bot.example.de/media/t4",
                                    "https://bot.example.de/media/t5"]


async def test_prism_rejects_what_twilio_would_reject(tmp_path: Path, prism: str) -> None:
    """The contract check has teeth: a malformed ContentSid is refused, not a silent 201,
    and such a refusal is final (no retry, the address stays reachable)."""
    made = PrismChannels(prism_settings(tmp_path, prism, templates={"menu": "HX-bad"}))
    adapter = made.adapters["whatsapp"]
    await adapter.start(ignore_events, NoMedia())
    try:
        with pytest.raises(SendError) as caught:
            await adapter.send(WA, TemplateReply(kind="menu", template="menu",
                                                 variables={"1": "x"}))
    finally:
        await adapter.stop()
    assert not caught.value.retryable and not caught.value.unreachable


async def test_forced_429_is_retryable(channels: PrismChannels) -> None:
    channels.prefer("code=429")
    with pytest.raises(SendError) as caught:
        await channels.adapters["sms"].send(SMS, TextReply(text="hallo"))
    assert caught.value.retryable and caught.value.code == "20429"


async def test_forced_unsubscribed_is_unreachable(channels: PrismChannels) -> None:
    channels.prefer("code=400, example=unsubscribed")
    with pytest.raises(SendError) as caught:
        await channels.adapters["sms"].send(SMS, TextReply(text="hallo"))
    assert caught.value.unreachable and caught.value.code == "21610"


@pytest.fixture
async def prism_app(tmp_path: Path, prism: str) -> AsyncIterator[tuple[App, PrismChannels]]:
    settings = prism_settings(tmp_path, prism)
    made = PrismChannels(settings)
    fake = await FakeTwilio().start()  # only to sign and post webhooks
    try:
        async with Harness(settings, menu_bundle(), channels=(),
                           adapters=list(made.adapters.values())) as harness:
            yield App(harness, fake), made
    finally:
        await fake.close()


async def _rows(app: App) -> list[OutboxRow]:
    async with app.h.services.db.session() as session:
        return list((await session.scalars(select(OutboxRow))).all())


async def test_pipeline_retries_after_prisms_429(prism_app: tuple[App, PrismChannels]) -> None:
    app, made = prism_app
    made.prefer("code=429")
    await app.post("/webhooks/sms", payloads.sms("hilfe"))
    await app.h.run()
    (row,) = await _rows(app)
    assert (row.status, row.error_code, row.attempts) == ("queued", "20429", 1)
    made.prefer("code=201")
    await app.h.advance(timedelta(seconds=5))
    (row,) = await _rows(app)
    assert row.status == "accepted" and row.provider_id is not None


async def test_pipeline_marks_opt_out_from_prisms_21610(
        prism_app: tuple[App, PrismChannels]) -> None:
    app, made = prism_app
    made.prefer("code=400, example=unsubscribed")
    await app.post("/webhooks/sms", payloads.sms("hilfe"))
    await app.h.run()
    (row,) = await _rows(app)
    assert (row.status, row.error_code) == ("failed", "21610")
    async with app.h.services.db.session() as session:
        address = await session.scalar(select(AddressRow).where(
            AddressRow.address == f"sms:{payloads.CUSTOMER}"))
    assert address is not None and address.unreachable_at is not None


async def test_erasure_deletes_twilios_copies_through_its_contract(
        channels: PrismChannels) -> None:
    """Erasure (Art. 17) also deletes Twilio's own copies: DELETE .../Messages/{Sid}.json."""
    sid = "SM" + "a" * 32
    remaining = await channels.adapters["whatsapp"].erase_messages([sid])
    assert remaining == []
    assert channels.http is not None
    url, _ = channels.http.requests[-1]
    assert url.endswith(f"/Messages/{sid}.json")



@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
async def test_looking_for_an_uncertain_send_lists_messages_through_its_contract(
        channels: PrismChannels, channel: str) -> None:
    """`find_sent` reads `GET .../Messages.json?To=...&From=...&DateSent>=...&PageSize=...`:
    Prism refuses (422) what the spec does not allow, so an answer means the request is
    Twilio's; the spec's example list holds none of our messages."""
    address = WA if channel == "whatsapp" else SMS
    since = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    found = await channels.adapters[channel].find_sent(address, TextReply(text="hallo"), since)
    assert found is None
    assert channels.http is not None
    method, url, params = channels.http.sent[-1]
    assert (method, url.endswith("/Messages.json")) == ("GET", True)
    assert params["DateSent>"] == "2026-12-01T00:00:00Z" and params["PageSize"] == 50
    assert params["To"] == channels.adapters[channel].outbound.recipient(address)
