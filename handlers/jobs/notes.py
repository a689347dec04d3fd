"""Texts filed to a job: `#A-1042` anywhere in a message (contract §5).

The note is kept with the job (it appears in the photo report) and forwarded to the
job's staff, or to the office when no fitter is assigned; a staff member's note goes to
the job's other staff. Customers reach only their own jobs (or one without a customer,
which they then become the customer of); an unknown code is said so and filed nowhere.
"""

from __future__ import annotations

from typing import Any

from werkbot.bot.context import Context
from werkbot.bot.events import Event, TextEvent
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Filter
from werkbot.handlers.jobs.batches import sender_label
from werkbot.handlers.jobs.models import CUSTOMER, STAFF, JobNote
from werkbot.handlers.jobs.repo import JobsRepo, code_in, may_file
from werkbot.handlers.rights.forwarding import send_about
from werkbot.handlers.staff_roles import staff_of


def _filed_text(event: Event, ctx: Context) -> dict[str, Any] | None:
    if not isinstance(event, TextEvent) or ctx.person is None or event.text.startswith("/"):
        return None
    code = code_in(event.text)
    return {"note_code": code} if code else None


filed_text = Filter(_filed_text, "jobs.filed_text")


async def on_filed_text(event: Event, ctx: Context) -> None:
    assert isinstance(event, TextEvent) and ctx.person is not None
    person, staff = ctx.person, staff_of(ctx)
    code: str = ctx.match["note_code"]
    jobs = ctx.repo(JobsRepo)
    job = await jobs.job_by_code(code)
    if job is None or not may_file(job, person, staff):
        await ctx.reply(TextReply(kind="job_refused",
                                  text=ctx.t("jobs.errors.unknown_code", code=code)))
        return
    if staff is None and job.customer_id is None:
        job.customer_id = person.id
    note = JobNote(job_id=job.id, person_id=person.id, origin=STAFF if staff else CUSTOMER,
                   staff_id=staff.id if staff else "", text=event.text[:4000],
                   created_at=ctx.clock.now())
    await jobs.add_note(note)
    targets = await jobs.recipients(ctx.settings, job, origin_customer=staff is None,
                                    sender_staff=staff.id if staff else "")
    for staff_id in targets:
        target, member = await ctx.people.by_staff_id(staff_id), ctx.settings.staff_by_id(
            staff_id)
        if target is None or member is None:
            continue
        who = sender_label(ctx, note, member.language)
        text = ctx.texts.get("jobs.note.forward", member.language, code=job.code,
                             title=job.title, sender=who, text=note.text)
        if staff is None:
            await send_about(ctx, person.id, TextReply(kind="forward", text=text),
                             to_person=target.id)
        else:
            await ctx.send_to_person(target.id, TextReply(kind="job_note", text=text))
    await ctx.reply(TextReply(kind="job_receipt", text=ctx.t("jobs.note.saved", code=job.code)))
