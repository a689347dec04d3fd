"""The demo job `werkbot demo` shows: one open job assigned to the first fitter."""

from __future__ import annotations

from sqlalchemy import select

from werkbot.bot.services import Services
from werkbot.handlers.jobs.models import Job
from werkbot.handlers.jobs.repo import create_job


async def seed_demo(services: Services) -> None:
    """Create the demo job once (a second start finds it and does nothing)."""
    settings = services.settings
    title = services.texts.get("jobs.demo.title", settings.business.language)
    site = services.texts.get("jobs.demo.site", settings.business.language)
    fitters = [s.id for s in settings.staff if "fitter" in s.roles][:1]
    async with services.db.session() as session:
        if await session.scalar(select(Job.id).where(Job.created_by == "demo").limit(1)):
            return
        await create_job(session, settings, title=title, site=site, now=services.clock.now(),
                         created_by="demo", staff_ids=fitters)
