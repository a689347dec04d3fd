"""The demo job `werkbot demo` shows: one open job assigned to the first fitter."""

from __future__ import annotations

from werkbot.bot.services import Services
from werkbot.handlers.jobs.repo import JobsRepo


async def seed_demo(services: Services) -> None:
    """Create the demo job once (a second start finds it and does nothing)."""
    settings = services.settings
    title = services.texts.get("jobs.demo.title", settings.business.language)
    site = services.texts.get("jobs.demo.site", settings.business.language)
    fitters = [s.id for s in settings.staff if "fitter" in s.roles][:1]
    async with services.db.session() as session:
        jobs = JobsRepo(session)
        if await jobs.has_demo_job():
            return
        await jobs.create_job(settings, title=title, site=site, now=services.clock.now(),
                              created_by="demo", staff_ids=fitters)
