"""Live updates as server-sent events: `GET /office/live`.

Each open page holds one stream. Once a second the stream reads a small fingerprint of
what the viewer may see (the newest office forward, conversation, incident and timeline
step, and how many conversations are open) and sends a `change` event when it moved;
the page then reloads its content, and plays a cue when a new incident arrived. The
events carry counts and ids only, never content. Reading the database (not in-process
signals) means a change made by another werkbot process shows as well. A stream ends
when the session does (checked each round) and after `STREAM_FOR`; the browser's
EventSource then connects again.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web
from sqlalchemy import func, select

from werkbot.bot.server import SERVICES
from werkbot.bot.services import Services
from werkbot.handlers.emergency.models import Incident, IncidentStep
from werkbot.handlers.office.models import OPEN, Conversation, Forward
from werkbot.handlers.office_web.auth import COOKIE, IDLE_FOR, Viewer, digest, viewer_of
from werkbot.handlers.office_web.models import WebSession

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0
STREAM_FOR = 300.0  # seconds; then the browser reconnects (and the session is re-checked)


async def fingerprint(services: Services, viewer: Viewer) -> dict[str, int]:
    async with services.db.engine.connect() as conn:
        incident = int(await conn.scalar(select(func.max(Incident.id))) or 0)
        step = int(await conn.scalar(select(func.max(IncidentStep.id))) or 0)
        if not viewer.is_office:
            mine = select(IncidentStep.incident_id).where(
                IncidentStep.staff_id == viewer.staff.id, IncidentStep.action == "alerted")
            incident = int(await conn.scalar(select(func.max(IncidentStep.incident_id)).where(
                IncidentStep.incident_id.in_(mine))) or 0)
            step = int(await conn.scalar(select(func.max(IncidentStep.id)).where(
                IncidentStep.incident_id.in_(mine))) or 0)
            return {"incident": incident, "step": step}
        forward = int(await conn.scalar(select(func.max(Forward.id))) or 0)
        conv = int(await conn.scalar(select(func.max(Conversation.id))) or 0)
        open_count = int(await conn.scalar(select(func.count()).select_from(Conversation)
                                           .where(Conversation.status == OPEN)) or 0)
    return {"incident": incident, "step": step, "forward": forward, "conversation": conv,
            "open": open_count}


async def _current_viewer(services: Services, request: web.Request) -> Viewer | None:
    async with services.db.session() as session:
        return await viewer_of(session, services, request, touch=False)


async def _still_signed_in(services: Services, request: web.Request) -> bool:
    """The session is open and not idle: a plain read, no write transaction each second."""
    secret = request.cookies.get(COOKIE, "")
    async with services.db.engine.connect() as conn:
        row = (await conn.execute(select(WebSession.ended_at, WebSession.last_seen_at).where(
            WebSession.token_hash == digest(secret)))).first()
    return (row is not None and row.ended_at is None
            and row.last_seen_at + IDLE_FOR > services.clock.now())


async def stream(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    viewer = await _current_viewer(services, request)
    if viewer is None:
        raise web.HTTPUnauthorized(text="signed out")
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no"})
    await response.prepare(request)
    last: dict[str, int] | None = None
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_FOR
    try:
        while loop.time() < ends:
            now = await fingerprint(services, viewer)
            if now != last:
                await response.write(
                    f"event: change\ndata: {json.dumps(now)}\n\n".encode())
                last = now
            else:
                await response.write(b": keep-alive\n\n")
            await asyncio.sleep(POLL_SECONDS)
            if not await _still_signed_in(services, request):
                await response.write(b"event: signedout\ndata: {}\n\n")
                break
    except ConnectionResetError:
        log.debug("office live stream closed by the browser")
    return response
