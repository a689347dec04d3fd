"""The two questions intake may ask, and their answers.

`photo_consent`: a customer without consent for job photos is asked before anything
reaches a fitter. Their files are held (stored, filed to no one) until the answer: yes
records the grant in the consent ledger and releases the batch; no deletes the held files.
`job_which`: with several open jobs and no code, the person picks one. Answers come as
buttons (`jobs:photos:yes`, `jobs:file:A-1042`), or typed: a number from the numbered
list SMS shows, a code, or yes/no while the consent question is open.
"""

from __future__ import annotations

from typing import Any

from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, Event, TextEvent, TimerEvent
from werkbot.bot.replies import Choice, ChoicesReply, TextReply
from werkbot.bot.router import Filter
from werkbot.handlers.consent.ledger import PHOTOS, ConsentLedger
from werkbot.handlers.filters import spoken
from werkbot.handlers.jobs.batches import (
    drop_batch,
    has_photo_consent,
    open_batch,
    open_batches,
    try_flush,
)
from werkbot.handlers.jobs.files_repo import JobFilesRepo
from werkbot.handlers.jobs.models import Job, JobBatch
from werkbot.handlers.jobs.repo import JobsRepo, as_code, code_in, job_label, may_file
from werkbot.handlers.staff_roles import staff_of

CONSENT_VERSION = "jobs.photo_consent.v1"
HELD_TIMER = "jobs.held_expired"
_STATE = "jobs"


def _pending(ctx: Context) -> dict[str, Any]:
    value = ctx.state.get(_STATE)
    return value if isinstance(value, dict) else {}


def pending_which(ctx: Context) -> bool:
    return bool(_pending(ctx).get("which"))


async def ask_consent(ctx: Context, batch: JobBatch) -> None:
    state = _pending(ctx)
    if state.get("consent") == batch.id:
        return  # asked already for this batch
    ctx.state[_STATE] = {**state, "consent": batch.id}
    now = ctx.clock.now()  # unanswered, held files go when the consent gate's holds go
    await ctx.timers.schedule(f"{HELD_TIMER}:{batch.id}", HELD_TIMER,
                              now + ctx.settings.consent.hold_for, now, {"batch": batch.id})
    await ctx.reply(ChoicesReply(
        kind="photo_consent",
        text=ctx.t("jobs.consent.question", business=ctx.settings.business.name),
        choices=(Choice(ctx.t("jobs.consent.yes"), "jobs:photos:yes"),
                 Choice(ctx.t("jobs.consent.no"), "jobs:photos:no"))))


async def ask_which(ctx: Context, batch: JobBatch, jobs: list[Job]) -> None:
    ctx.state[_STATE] = {**_pending(ctx), "which": [j.code for j in jobs]}
    await ctx.reply(ChoicesReply(
        kind="job_which", text=ctx.t("jobs.which.question"),
        choices=tuple(Choice(job_label(j), f"jobs:file:{j.code}") for j in jobs)))


def _consent_answer(event: Event, ctx: Context) -> dict[str, Any] | None:
    if "consent" not in _pending(ctx):
        return None
    said = spoken(event)
    if said in ("jobs:photos:yes", "1") or said in ctx.texts.words("words.yes"):
        return {"photo_consent": True}
    if said in ("jobs:photos:no", "2") or said in ctx.texts.words("words.no"):
        return {"photo_consent": False}
    return None


def _which_answer(event: Event, ctx: Context) -> dict[str, Any] | None:
    said = spoken(event)
    if isinstance(event, ChoiceEvent) and said.startswith("jobs:file:"):
        return {"job_code": said.removeprefix("jobs:file:").upper()}
    codes = _pending(ctx).get("which")
    if not isinstance(codes, list) or not isinstance(event, TextEvent):
        return None
    if said.isdigit() and 1 <= int(said) <= len(codes):
        return {"job_code": str(codes[int(said) - 1])}
    code = as_code(said) or code_in(event.text)
    return {"job_code": code} if code else None


consent_answer = Filter(_consent_answer, "jobs.consent_answer")
which_answer = Filter(_which_answer, "jobs.which_answer")


async def on_consent_answer(event: Event, ctx: Context) -> None:
    state = _pending(ctx)
    state.pop("consent", None)
    ctx.state[_STATE] = state
    person = ctx.person
    if person is None or ctx.address is None:
        return
    batches = await open_batches(ctx, person.id)
    if not ctx.match["photo_consent"]:
        for batch in batches:
            await drop_batch(ctx, batch)
        state.pop("which", None)
        await ctx.reply(TextReply(kind="photo_consent", text=ctx.t("jobs.consent.refused")))
        return
    ledger = ctx.repo(lambda session: ConsentLedger(session, ctx.services.signer))
    await ledger.record(
        person_id=person.id, address=ctx.address, purposes=(PHOTOS,), granted=True,
        text=ctx.t("jobs.consent.question", business=ctx.settings.business.name),
        text_version=CONSENT_VERSION,
        method="button" if isinstance(event, ChoiceEvent) else "chat",
        evidence=f"inbox:{ctx.inbox_id}", recorded_by=f"person:{person.id}",
        now=ctx.clock.now())
    await ctx.reply(TextReply(kind="photo_consent", text=ctx.t("jobs.consent.thanks")))
    for batch in batches:
        await release(ctx, batch)


async def release(ctx: Context, batch: JobBatch) -> None:
    """After consent: ask which job if still unknown, else deliver once the window passed."""
    if batch.job_id is None:
        if ctx.person is not None:
            jobs = await ctx.repo(JobsRepo).open_jobs_for(ctx.person, staff_of(ctx))
            if jobs:
                await ask_which(ctx, batch, jobs[:8])
        return
    await try_flush(ctx, batch)


async def on_held_expired(event: TimerEvent, ctx: Context) -> None:
    """Files held for a photo consent that never came are deleted, like any held message."""
    batch = await ctx.repo(JobFilesRepo).locked_batch(int(event.payload.get("batch", 0)))
    if batch is not None and batch.status == "open" and not await has_photo_consent(ctx,
                                                                                     batch):
        await drop_batch(ctx, batch)


async def on_which_answer(event: Event, ctx: Context) -> None:
    state = _pending(ctx)
    person = ctx.person
    if person is None:
        return
    job = await ctx.repo(JobsRepo).job_by_code(ctx.match["job_code"])
    batch = await open_batch(ctx, person.id)
    if job is None or not may_file(job, person, staff_of(ctx)):
        await ctx.reply(TextReply(kind="job_refused", text=ctx.t(
            "jobs.errors.unknown_code", code=ctx.match["job_code"])))
        return
    state.pop("which", None)
    ctx.state[_STATE] = state
    if batch is None or batch.job_id is not None:
        await ctx.reply(TextReply(kind="job_receipt", text=ctx.t("jobs.which.nothing_open")))
        return
    batch.job_id = job.id
    if staff_of(ctx) is None and job.customer_id is None:
        job.customer_id = person.id
    if batch.quiet_at is None:
        batch.quiet_at = ctx.clock.now()  # the person has answered: no need to wait longer
    await try_flush(ctx, batch)
