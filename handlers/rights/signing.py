"""Signing requests: signed, expiring links to a page that shows a text and takes a signature.

`create_signing_request` makes one (consent, or any other feature's kind such as "job")
and returns its link; `complete_request` records what the person signed: the signature
as media, ledger entries for consent, a receipt PDF, and a timer that tells the person
and the office and runs the kind's completion hook (`registry.SIGNING_HOOKS`).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.services import Services
from werkbot.bot.storage.models import AddressRow, Person
from werkbot.bot.storage.repos import AuditRepo, TimerRepo
from werkbot.handlers.consent.ledger import PURPOSES, ConsentLedger
from werkbot.handlers.rights.models import SigningRequest
from werkbot.handlers.rights.receipt import receipt_pdf

log = logging.getLogger(__name__)

CONSENT = "consent"
SIGNED_TIMER = "rights.signed"
DEFAULT_TTL = timedelta(days=7)


def path_kind(kind: str) -> str:
    """The URL path (and token purpose) of a kind: /consent/... or /sign/..."""
    return "consent" if kind == CONSENT else "sign"


def consent_text(services: Services, lang: str) -> str:
    """The consent text the web page shows (and the ledger hashes), from `config/texts`."""
    business = services.settings.business
    return services.texts.get("rights.consent_page.text", lang, business=business.name,
                              privacy_url=business.privacy_url or "-",
                              phone=business.phone or "-")


async def create_signing_request(
    session: AsyncSession, services: Services, *, kind: str, person_id: int | None, text: str,
    title: str = "", text_version: str | None = None, channels: Sequence[str] = (),
    purposes: Sequence[str] = (), ttl: timedelta = DEFAULT_TTL, created_by: str = "",
    language: str | None = None, ref: str = "",
) -> tuple[SigningRequest, str]:
    """Store a signing request and return it with its public link.

    `ref` is free for the calling feature (e.g. a job code), kept in the options.
    For `kind="consent"`, `channels` x `purposes` are the checkboxes the page offers.
    """
    bad = [p for p in purposes if p not in PURPOSES]
    if bad:
        raise ValueError(f"unknown purposes: {bad}")
    now = services.clock.now()
    lang = language
    if lang is None and person_id is not None:
        person = await session.get(Person, person_id)
        lang = person.language if person else None
    request = SigningRequest(
        token_id=secrets.token_urlsafe(12), person_id=person_id, kind=kind, title=title,
        text=text, text_version=text_version or services.settings.consent.text_version,
        options=json.dumps({"channels": list(channels), "purposes": list(purposes),
                            "ref": ref}),
        language=lang or services.settings.business.language, created_by=created_by,
        created_at=now, expires_at=now + ttl, result="{}")
    session.add(request)
    await session.flush()
    return request, signing_link(services, request, ttl)


def signing_link(services: Services, request: SigningRequest, ttl: timedelta) -> str:
    kind = path_kind(request.kind)
    token = services.signer.sign(kind, {"r": request.id, "t": request.token_id}, ttl,
                                 services.clock.now())
    return f"{services.settings.server.public_url.rstrip('/')}/{kind}/{token}"


async def create_consent_link(source: Context | Services, person_id: int,
                              channels: Sequence[str], purposes: Sequence[str] = PURPOSES,
                              *, created_by: str = "", ttl: timedelta = DEFAULT_TTL) -> str:
    """A consent page link for a person. Inside a handler pass `ctx` (its transaction);
    outside one (scripts, pages) pass `services` and a transaction of its own is used."""
    if isinstance(source, Context):
        return await source.repo(ConsentLinks).create(
            source.services, person_id, channels, purposes, created_by, ttl)
    async with source.db.session() as session:
        return await ConsentLinks(session).create(source, person_id, channels, purposes,
                                                  created_by, ttl)


class ConsentLinks:
    """Consent page links made in one transaction (a handler's: `ctx.repo(ConsentLinks)`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, services: Services, person_id: int, channels: Sequence[str],
                     purposes: Sequence[str], created_by: str, ttl: timedelta) -> str:
        """A new consent signing request for the person; its link. `LookupError` if the
        person is unknown or erased."""
        person = await self.session.get(Person, person_id)
        if person is None or person.erased_at is not None:
            raise LookupError("no such person")
        _, url = await create_signing_request(
            self.session, services, kind=CONSENT, person_id=person_id,
            text=consent_text(services, person.language), channels=channels,
            purposes=purposes, ttl=ttl, created_by=created_by, language=person.language)
        return url


async def load_request(session: AsyncSession, services: Services, kind: str,
                       token: str) -> SigningRequest | None:
    """The request a token opens, or None (forged, expired, wrong path, gone)."""
    data = services.signer.verify(kind, token, services.clock.now())
    if data is None or not isinstance(data.get("r"), int):
        return None
    request = await session.get(SigningRequest, data["r"])
    if request is None or request.token_id != data.get("t"):
        return None
    if path_kind(request.kind) != kind or request.expires_at < services.clock.now():
        return None
    if request.person_id is not None:
        person = await session.get(Person, request.person_id)
        if person is None or person.erased_at is not None:
            return None
    return request


async def complete_request(session: AsyncSession, services: Services,
                           request: SigningRequest, ticked: Iterable[tuple[str, str]],
                           signature_png: bytes,
                           withdrawn: Iterable[tuple[str, str]] = ()) -> None:
    """Record a signed request: signature media, ledger entries (grants for what is ticked,
    withdrawals for given consents the person unticked), receipt, follow-up timer."""
    now = services.clock.now()
    chosen, dropped = sorted(set(ticked)), sorted(set(withdrawn))
    signature = await services.media.save(session, signature_png, filename="signature.png",
                                          person_id=request.person_id, now=now)
    if request.kind == CONSENT and request.person_id is not None:
        await _record_consent(session, services, request, chosen, signature.id, now)
        await _record_consent(session, services, request, dropped, signature.id, now,
                              granted=False)
    pdf = receipt_pdf(services, request, chosen, signature_png, now, withdrawn=dropped)
    receipt = await services.media.save(session, pdf, filename=f"receipt-{request.id}.pdf",
                                        person_id=request.person_id, now=now)
    request.completed_at = now
    request.signature_media_id, request.receipt_media_id = signature.id, receipt.id
    request.result = json.dumps({"ticked": [list(c) for c in chosen],
                                 "withdrawn": [list(c) for c in dropped]})
    await AuditRepo(session).record("self:web", "rights.signed", now,
                                    subject=f"signing:{request.id}", detail=request.kind)
    await TimerRepo(session).schedule(f"{SIGNED_TIMER}:{request.id}", SIGNED_TIMER, now, now,
                                      {"request": request.id})
    await session.flush()


async def _record_consent(session: AsyncSession, services: Services, request: SigningRequest,
                          chosen: Sequence[tuple[str, str]], signature_id: int,
                          now: datetime, *, granted: bool = True) -> None:
    assert request.person_id is not None
    ledger = ConsentLedger(session, services.signer)
    rows = (await session.scalars(select(AddressRow).where(
        AddressRow.person_id == request.person_id))).all()
    by_channel = {row.channel: Address.parse(row.address) for row in rows}
    for channel in sorted({c for c, _ in chosen}):
        await ledger.record(
            person_id=request.person_id, address=by_channel.get(channel), channel=channel,
            purposes=[p for c, p in chosen if c == channel], granted=granted, text=request.text,
            text_version=request.text_version, method="web-signature",
            evidence=f"media:{signature_id}", recorded_by="self:web", now=now)
