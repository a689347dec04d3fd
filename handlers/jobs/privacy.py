"""The jobs feature's part in data-subject rights: what it exports and what it erases.

Registered with the rights feature on import. The export lists a customer's jobs and
what they filed. Erasure removes what the customer sent (their media rows are deleted by
the rights feature; the filing rows, notes and batches here), unlinks them from their
jobs and blanks the title and the site address that staff typed about them (and the
rows that repeat them, such as the fitter's notification). Staff's own site photos stay
with the job: they are the business's records of its work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.hooks import hooks
from werkbot.bot.services import Services
from werkbot.handlers.jobs.files_repo import JobFilesRepo
from werkbot.handlers.jobs.repo import JobsRepo
from werkbot.handlers.rights.registry import ERASERS, EXPORTERS, NEEDLES


async def export_jobs(session: AsyncSession, person_id: int) -> Any:
    repo = JobsRepo(session)
    jobs = await repo.jobs_of_customer(person_id)
    media = await JobFilesRepo(session).files_of_person(person_id)
    notes = await repo.notes_of_person(person_id)
    codes = {j.id: j.code for j in jobs}
    for job_id in {m.job_id for m in media} | {n.job_id for n in notes}:
        if job_id is not None and job_id not in codes:
            job = await repo.job_by_id(job_id)
            codes[job_id] = job.code if job else ""
    return {
        "jobs": [{"code": j.code, "title": j.title, "site": j.site, "status": j.status,
                  "created_at": j.created_at.isoformat()} for j in jobs],
        "files": [{"job": codes.get(m.job_id or 0, ""), "kind": m.kind, "caption": m.caption,
                   "captured_at": m.captured_at.isoformat(), "media_id": m.media_id}
                  for m in media],
        "notes": [{"job": codes.get(n.job_id, ""), "text": n.text,
                   "at": n.created_at.isoformat()} for n in notes],
    }


async def erase_jobs(session: AsyncSession, services: Services, person_id: int) -> None:
    del services
    files = JobFilesRepo(session)
    await files.erase_person(person_id)
    for job in await JobsRepo(session).jobs_of_customer(person_id):
        job.customer_id, job.title, job.site = None, "", ""  # staff typed them about her
    await files.flush()


async def job_needles(session: AsyncSession, person_id: int) -> list[str]:
    """The titles and sites staff typed for the customer's jobs (erasure looks for them)."""
    return await JobsRepo(session).titles_and_sites_of(person_id)


def register(services: Services) -> None:
    """Export and erasure take the customer's jobs along."""
    hooks(services, EXPORTERS).add("jobs", export_jobs)
    hooks(services, ERASERS).add("jobs", erase_jobs)
    hooks(services, NEEDLES).add("jobs", job_needles)
