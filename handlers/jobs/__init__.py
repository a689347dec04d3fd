"""Jobs: short codes, photo intake from every channel, batches, reports and signatures.

The root includes `router` after the consent gate and the menu, before the office inbox:
customers without consent never reach it. It takes media from customers and staff, the
answers to its two questions (photo consent, which job), texts naming `#A-1042` and its
batch timer. On import, `/job` registers with the staff command registry (`command`);
`register(services)` adds the jobs exporter, eraser and signing hook to the rights
feature's hooks (`privacy`, `paperwork`).
Other features use `JobsRepo` (`job_by_code`, `open_jobs_for`), `job_label` and `code_in`.
"""

from __future__ import annotations

from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, Event, MediaEvent, TextEvent, TimerEvent
from werkbot.bot.router import Filter, Router, timer
from werkbot.bot.services import Services
from werkbot.handlers.jobs import asking, batches, command, intake, notes, paperwork, privacy
from werkbot.handlers.jobs.demo import seed_demo
from werkbot.handlers.jobs.repo import JobsRepo, code_in, job_label

__all__ = ["JobsRepo", "code_in", "command", "job_label", "privacy", "register", "router",
           "seed_demo"]


def register(services: Services) -> None:
    """The jobs' part in export, erasure and signing (the rights feature's hooks)."""
    privacy.register(services)
    paperwork.register(services)

router = Router("jobs")

router.on(TimerEvent, timer(batches.TIMER))(batches.on_timer)
router.on(TimerEvent, timer(asking.HELD_TIMER))(asking.on_held_expired)
router.on((ChoiceEvent, TextEvent), asking.consent_answer)(asking.on_consent_answer)
router.on((ChoiceEvent, TextEvent), asking.which_answer)(asking.on_which_answer)
router.on(TextEvent, notes.filed_text)(notes.on_filed_text)


async def _for_a_job(event: Event, ctx: Context) -> bool:
    """Files that can belong to a job (stickers, animations and contact cards cannot),
    and media the jobs feature takes (`intake.for_a_job`)."""
    return (isinstance(event, MediaEvent) and any(intake.is_job_file(r) for r in event.media)
            and await intake.for_a_job(event, ctx))


router.on(MediaEvent, Filter(_for_a_job, "for_a_job"))(intake.on_media)
