"""The office web app (issue 23): the office's conversations, emergencies, jobs, rota,
figures and people's rights in a browser, signed in with a one-time link from `/web`.

Server-rendered pages (Jinja2 templates and a small script of our own, shipped in this
package; no build step, no CDN). Exports `routes`, which the handler bundle contributes
to the server like the rights pages; registers the `/web` command and an eraser for its
read marks on import.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.hooks import hooks
from werkbot.bot.services import Services
from werkbot.handlers.office_web import command, models
from werkbot.handlers.office_web import inbox_pages as inbox
from werkbot.handlers.office_web import incident_pages as incidents
from werkbot.handlers.office_web import job_pages as jobs
from werkbot.handlers.office_web import people_pages as people
from werkbot.handlers.office_web import rota_pages as rota
from werkbot.handlers.office_web import signin_pages as signin
from werkbot.handlers.office_web import stats_pages as stats
from werkbot.handlers.office_web.live import stream
from werkbot.handlers.rights.registry import ERASERS

__all__ = ["command", "models", "register", "routes"]


async def erase_read_marks(session: AsyncSession, services: Services, person_id: int) -> None:
    """Erasure: the staff members' read marks of the person's thread go too."""
    del services
    await session.execute(delete(models.ReadMark).where(models.ReadMark.person_id == person_id))


def register(services: Services) -> None:
    """Erasure takes the staff's read marks of the person's thread along."""
    hooks(services, ERASERS).add("office_web", erase_read_marks)

routes: list[web.RouteDef] = [
    web.get("/office", inbox.home),
    web.get("/office/login/{token}", signin.login),
    web.post("/office/logout", signin.logout),
    web.post("/office/sessions/end-all", signin.end_everyone),
    web.get("/office/demo", signin.demo_login),
    web.get("/office/lang/{lang}", signin.language),
    web.get("/office/static/{name}", signin.static),
    web.get("/office/live", stream),
    web.post("/office/search", inbox.search),
    web.get("/office/c/{person}", inbox.conversation),
    web.post("/office/c/{person}/reply", inbox.reply),
    web.post("/office/c/{person}/close", inbox.close),
    web.post("/office/c/{person}/reopen", inbox.reopen),
    web.get("/office/media/{media}", inbox.media),
    web.get("/office/incidents", incidents.incidents),
    web.get("/office/incidents/{incident}", incidents.incident),
    web.post("/office/incidents/{incident}/ack", incidents.ack),
    web.post("/office/incidents/{incident}/close", incidents.close),
    web.post("/office/c/{person}/job", jobs.link_customer),
    web.get("/office/jobs", jobs.jobs),
    web.post("/office/jobs", jobs.create),
    web.get("/office/jobs/{job}", jobs.job),
    web.post("/office/jobs/{job}/assign", jobs.assign),
    web.post("/office/jobs/{job}/close", jobs.close),
    web.post("/office/jobs/{job}/sign", jobs.sign),
    web.post("/office/jobs/{job}/report", jobs.report),
    web.get("/office/rota", rota.rota),
    web.post("/office/rota/oncall", rota.oncall),
    web.post("/office/rota/hours", rota.hours),
    web.get("/office/stats", stats.stats),
    web.get("/office/stats.csv", stats.stats_csv),
    web.get("/office/p/{person}", people.person_page),
    web.post("/office/p/{person}/export", people.export),
    web.post("/office/p/{person}/erase", people.erase_ask),
    web.post("/office/p/{person}/erase/confirm", people.erase_confirmed),
    web.get("/office/audit", people.audit_log),
]
