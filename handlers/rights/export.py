"""Data export (GDPR Art. 15 and 20): a signed, expiring link to a ZIP of a person's data.

The ZIP holds JSON per data class (person, addresses, consents, messages, signing
requests, and whatever other features add through `registry.exporters`, e.g. jobs) and
the person's media files. A token names exactly one person: it never opens another's data.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.codec import loads_event, loads_reply
from werkbot.bot.context import Context
from werkbot.bot.events import MediaEvent, TextEvent
from werkbot.bot.hooks import hooks
from werkbot.bot.replies import ChoicesReply, MediaReply, TemplateReply, TextReply
from werkbot.bot.server import SERVICES
from werkbot.bot.services import Services
from werkbot.bot.storage.models import AddressRow, InboxRow, MediaRow, OutboxRow, Person
from werkbot.handlers.consent.ledger import ConsentEntry
from werkbot.handlers.rights.html import not_found
from werkbot.handlers.rights.models import SigningRequest
from werkbot.handlers.rights.registry import EXPORTERS

EXPORT_TTL = timedelta(hours=24)
PURPOSE = "export"


def export_link(source: Context | Services, person_id: int,
                ttl: timedelta = EXPORT_TTL) -> str:
    """A link to the person's export ZIP, valid for `ttl`."""
    services = source.services if isinstance(source, Context) else source
    token = services.signer.sign(PURPOSE, {"p": person_id}, ttl, services.clock.now())
    return f"{services.settings.server.public_url.rstrip('/')}/export/{token}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def collect(services: Services, session: AsyncSession, person_id: int
                  ) -> dict[str, Any]:
    """Everything werkbot holds about a person, as JSON-ready data (without media bytes)."""
    person = await session.get(Person, person_id)
    if person is None:
        raise LookupError("no such person")
    addresses = (await session.scalars(select(AddressRow).where(
        AddressRow.person_id == person_id).order_by(AddressRow.position))).all()
    strings = [a.address for a in addresses]
    data: dict[str, Any] = {
        "person": {"id": person.id, "kind": person.kind, "name": person.display_name,
                   "language": person.language, "created_at": _iso(person.created_at)},
        "addresses": [{"address": a.address, "channel": a.channel, "position": a.position,
                       "created_at": _iso(a.created_at), "last_seen_at": _iso(a.last_seen_at)}
                      for a in addresses],
        "consents": [
            {"channel": c.channel, "address": c.address, "purpose": c.purpose,
             "granted": c.granted, "lawful_basis": c.lawful_basis,
             "text_version": c.text_version, "text_sha256": c.text_sha256,
             "method": c.method, "recorded_by": c.recorded_by, "at": _iso(c.at)}
            for c in (await session.scalars(select(ConsentEntry).where(
                ConsentEntry.person_id == person_id).order_by(ConsentEntry.at))).all()],
        "messages": await _messages(session, person_id, strings),
        "signatures": [
            {"kind": s.kind, "title": s.title, "text": s.text, "text_version": s.text_version,
             "created_at": _iso(s.created_at), "completed_at": _iso(s.completed_at),
             "ticked": s.ticked()}
            for s in (await session.scalars(select(SigningRequest).where(
                SigningRequest.person_id == person_id))).all()],
    }
    for name, exporter in hooks(services, EXPORTERS).items():
        data[name] = await exporter(session, person_id)
    return data


async def _messages(session: AsyncSession, person_id: int,
                    addresses: Sequence[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    inbound = (await session.scalars(select(InboxRow).where(
        InboxRow.sender.in_(addresses)).order_by(InboxRow.id))).all() if addresses else []
    for row in inbound:
        event = loads_event(row.payload)
        item: dict[str, Any] = {"direction": "in", "address": row.sender,
                                "at": _iso(row.created_at), "type": type(event).__name__}
        if isinstance(event, TextEvent):
            item["text"] = event.text
        elif isinstance(event, MediaEvent):
            item["caption"] = event.caption
            item["media"] = [m.stored_id for m in event.media if m.stored_id is not None]
        found.append(item)
    where = OutboxRow.person_id == person_id
    if addresses:
        where = or_(where, OutboxRow.address.in_(addresses))
    for out in (await session.scalars(select(OutboxRow).where(where)
                                      .order_by(OutboxRow.id))).all():
        reply = loads_reply(out.payload)
        entry: dict[str, Any] = {"direction": "out", "address": out.address,
                                 "at": _iso(out.created_at), "status": out.status}
        if isinstance(reply, TextReply | ChoicesReply):
            entry["text"] = reply.text
        elif isinstance(reply, MediaReply):
            entry["caption"], entry["media"] = reply.caption, list(reply.media_ids)
        elif isinstance(reply, TemplateReply):
            entry["text"] = reply.fallback_text
        found.append(entry)
    return found


async def build_zip(services: Services, session: AsyncSession, person_id: int) -> bytes:
    """The export ZIP: one JSON file per data class plus `media/<id>-<name>` files."""
    data = await collect(services, session, person_id)
    media = (await session.scalars(select(MediaRow).where(
        MediaRow.person_id == person_id).order_by(MediaRow.id))).all()
    data["media"] = [{"id": m.id, "file": _member(m), "content_type": m.content_type,
                      "size": m.size, "created_at": _iso(m.created_at)} for m in media]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in data.items():
            archive.writestr(f"{name}.json", json.dumps(value, ensure_ascii=False, indent=2))
        for m in media:
            path = services.media.directory / m.path
            if path.exists():
                archive.write(path, _member(m))
    return buffer.getvalue()


def _member(row: MediaRow) -> str:
    return f"media/{row.id}-{row.filename or row.kind}"


async def export_page(req: web.Request) -> web.StreamResponse:
    """GET /export/{token}: the ZIP for the person the token names, else 404."""
    services = req.app[SERVICES]
    data = services.signer.verify(PURPOSE, req.match_info["token"], services.clock.now())
    person_id = data.get("p") if data else None
    if not isinstance(person_id, int):
        return not_found()
    async with services.db.session() as session:
        person = await session.get(Person, person_id)
        if person is None or person.erased_at is not None:
            return not_found()
        body = await build_zip(services, session, person_id)
    stamp = services.clock.now().strftime("%Y%m%d")
    return web.Response(body=body, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="werkbot-export-{stamp}.zip"',
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff"})
