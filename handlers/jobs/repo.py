"""Job lookups and changes inside the caller's transaction, and who receives what.

`JobsRepo` holds the queries on jobs, their staff, notes and signing requests; other
handlers use its `job_by_code` and `open_jobs_for`, and `job_label` (e.g. the office inbox
header naming a customer's open job). Codes are the prefix, a dash and four or more
random digits: short to type on a phone, and not a count of the business's orders.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.settings import Settings, StaffSettings
from werkbot.bot.storage.models import OutboxRow, Person
from werkbot.handlers.jobs.models import OPEN, Job, JobMedia, JobNote, JobSignature, JobStaff

CODE_IN_TEXT = re.compile(r"#([A-Za-z]{1,8}-\d{1,9})\b")
CODE_ALONE = re.compile(r"^#?([A-Za-z]{1,8}-\d{1,9})$")


def code_in(text: str) -> str | None:
    """The first `#A-1042` in a text, upper-cased, or None."""
    found = CODE_IN_TEXT.search(text or "")
    return found.group(1).upper() if found else None


def as_code(word: str) -> str | None:
    """A code given as a command argument, with or without '#'."""
    found = CODE_ALONE.match(word.strip())
    return found.group(1).upper() if found else None


def job_label(job: Job) -> str:
    """'A-1042 Badsanierung': what people see on a button or in a header."""
    return f"{job.code} {job.title}"[:60]


def may_file(job: Job, person: Person, staff: StaffSettings | None) -> bool:
    """Staff may file to any open job; a customer to their own or a job without customer."""
    if job.status != OPEN:
        return False
    return staff is not None or job.customer_id in (None, person.id)



class JobsRepo:
    """Jobs, who is assigned to them, their notes and signing requests."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def new_code(self, prefix: str) -> str:
        digits = 4
        for attempt in range(40):
            if attempt and attempt % 10 == 0:
                digits += 1  # crowded: widen rather than loop forever
            number = 10 ** (digits - 1) + secrets.randbelow(9 * 10 ** (digits - 1))
            code = f"{prefix.upper()}-{number}"
            if await self.session.scalar(select(Job.id).where(Job.code == code)) is None:
                return code
        raise RuntimeError("no free job code found")

    async def create_job(self, settings: Settings, *, title: str, now: datetime,
                         customer_id: int | None = None, site: str = "", created_by: str = "",
                         staff_ids: Sequence[str] = ()) -> Job:
        job = Job(code=await self.new_code(settings.jobs.code_prefix), title=title[:200],
                  customer_id=customer_id, site=site[:300], status=OPEN,
                  created_by=created_by, created_at=now)
        self.session.add(job)
        await self.session.flush()
        await self.assign(job, staff_ids, now)
        return job

    async def assign(self, job: Job, staff_ids: Sequence[str], now: datetime) -> list[str]:
        """Add staff to a job; returns the ids that were new."""
        have = set(await self.staff_of_job(job.id))
        added = [s for s in dict.fromkeys(staff_ids) if s not in have]
        self.session.add_all(JobStaff(job_id=job.id, staff_id=s, assigned_at=now)
                             for s in added)
        await self.session.flush()
        return added

    async def job_by_code(self, code: str) -> Job | None:
        return await self.session.scalar(select(Job).where(Job.code == code.upper()))

    async def job_by_id(self, job_id: int) -> Job | None:
        return await self.session.get(Job, job_id)

    async def has_demo_job(self) -> bool:
        """Whether `werkbot demo` made its job already."""
        found = await self.session.scalar(select(Job.id).where(Job.created_by == "demo")
                                          .limit(1))
        return bool(found)

    async def staff_of_job(self, job_id: int) -> list[str]:
        rows = await self.session.scalars(
            select(JobStaff.staff_id).where(JobStaff.job_id == job_id).order_by(JobStaff.id))
        return list(rows.all())

    async def open_jobs_for(self, person: Person,
                            staff: StaffSettings | None = None) -> list[Job]:
        """Open jobs a person belongs to: a customer's own, a fitter's assigned ones.

        Office and admin staff belong to every open job.
        """
        query = select(Job).where(Job.status == OPEN).order_by(Job.created_at.desc(),
                                                                Job.id.desc())
        if staff is None:
            query = query.where(Job.customer_id == person.id)
        elif not {"office", "admin"} & set(staff.roles):
            query = query.join(JobStaff, JobStaff.job_id == Job.id).where(
                JobStaff.staff_id == staff.id)
        return list((await self.session.scalars(query)).all())

    async def all_open_jobs(self, limit: int = 8) -> list[Job]:
        rows = await self.session.scalars(select(Job).where(Job.status == OPEN)
                                          .order_by(Job.created_at.desc(), Job.id.desc())
                                          .limit(limit))
        return list(rows.all())

    async def recipients(self, settings: Settings, job: Job, *, origin_customer: bool,
                         sender_staff: str = "") -> list[str]:
        """Staff ids a batch goes to: the job's staff; a customer's go to the office if none."""
        assigned = [s for s in await self.staff_of_job(job.id) if s != sender_staff]
        if assigned or not origin_customer:
            return assigned
        office = [s.id for s in settings.staff if "office" in s.roles]
        return office or [s.id for s in settings.staff if "admin" in s.roles]

    async def file_count(self, job_id: int) -> int:
        """How many files are filed to the job."""
        return len((await self.session.scalars(
            select(JobMedia.id).where(JobMedia.job_id == job_id))).all())

    async def add_note(self, note: JobNote) -> JobNote:
        self.session.add(note)
        await self.session.flush()
        return note

    async def notes_of_job(self, job_id: int) -> Sequence[JobNote]:
        return (await self.session.scalars(
            select(JobNote).where(JobNote.job_id == job_id))).all()

    async def add_signature(self, signature: JobSignature) -> JobSignature:
        self.session.add(signature)
        await self.session.flush()
        return signature

    async def signature_for_request(self, request_id: int) -> JobSignature | None:
        """The job signature the rights feature's signing request `request_id` is for."""
        return await self.session.scalar(
            select(JobSignature).where(JobSignature.request_id == request_id))

    async def jobs_of_customer(self, person_id: int) -> Sequence[Job]:
        return (await self.session.scalars(
            select(Job).where(Job.customer_id == person_id).order_by(Job.id))).all()

    async def notes_of_person(self, person_id: int) -> Sequence[JobNote]:
        return (await self.session.scalars(
            select(JobNote).where(JobNote.person_id == person_id).order_by(JobNote.id))).all()

    async def titles_and_sites_of(self, person_id: int) -> list[str]:
        """The titles and sites staff typed for the customer's jobs (erasure looks for them)."""
        rows = (await self.session.execute(
            select(Job.title, Job.site).where(Job.customer_id == person_id))).all()
        return [value for row in rows for value in row if value]

    async def sent_payload(self, provider_id: str) -> str | None:
        """The stored reply werkbot sent as provider message `provider_id` (one a person
        answered, which may name a job)."""
        return await self.session.scalar(select(OutboxRow.payload).where(
            OutboxRow.provider_id == provider_id).limit(1))
