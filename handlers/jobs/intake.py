"""Intake: media from customers and staff, checked, stored and added to a batch.

The job is found from `#A-1042` in the caption, a reply to a message that named a job,
the person's only open job, or else the bot asks which job (choices). A code that names
no job the person may file to is answered "not found" and the bot asks which job, never
filing the files elsewhere behind that answer. A customer's media that concern no job at
all (no code, no open job, no batch) are not taken here (`for_a_job`): they reach the
office inbox like any other message, instead of a job made up from the caption. Each
file is checked before anything is stored (`images.check_file`); a refused file is
answered at once with the reason, the others go on.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from werkbot.bot.adapter import MediaTooLarge, MediaUnavailable
from werkbot.bot.codec import CodecError, loads_reply
from werkbot.bot.context import Context
from werkbot.bot.events import MediaEvent, MediaRef
from werkbot.bot.media import safe_filename
from werkbot.bot.replies import TextReply, text_of
from werkbot.bot.settings import StaffSettings
from werkbot.bot.storage.models import Person
from werkbot.handlers.jobs import asking
from werkbot.handlers.jobs.batches import has_photo_consent, open_batch, restart_window, try_flush
from werkbot.handlers.jobs.files_repo import JobFilesRepo
from werkbot.handlers.jobs.images import Checked, Refused, check_file, check_name
from werkbot.handlers.jobs.models import CUSTOMER, STAFF, Job, JobBatch, JobMedia
from werkbot.handlers.jobs.repo import JobsRepo, code_in, may_file
from werkbot.handlers.office.content import content_of, missing_word
from werkbot.handlers.office.sender import forward_content
from werkbot.handlers.staff_roles import staff_of

log = logging.getLogger(__name__)
NOT_JOB_FILES = frozenset({"sticker", "animation", "contact"})


def is_job_file(ref: MediaRef) -> bool:
    return ref.kind not in NOT_JOB_FILES


async def for_a_job(event: MediaEvent, ctx: Context) -> bool:
    """Whether these media belong to the jobs feature: always from staff; from a customer
    when a batch is open, the caption or the message answered names a job, or they have
    an open job. Anything else is a message for the office."""
    person = ctx.person
    if person is None or ctx.address is None:
        return False
    if staff_of(ctx) is not None or await open_batch(ctx, person.id) is not None:
        return True
    code = code_in(event.caption) or await _code_replied_to(ctx, event.reply_to)
    if code and (job := await ctx.repo(JobsRepo).job_by_code(code)) is not None:
        return may_file(job, person, None)
    return bool(await ctx.repo(JobsRepo).open_jobs_for(person, None))


async def on_media(event: MediaEvent, ctx: Context) -> None:
    person, address = ctx.person, ctx.address
    if person is None or address is None:
        return
    staff = staff_of(ctx)
    origin = STAFF if staff else CUSTOMER
    strip = origin == CUSTOMER and not ctx.settings.jobs.keep_gps
    checked: list[tuple[MediaRef, Checked]] = []
    elsewhere: list[int] = []  # what the office gets now: not job files, or not fetched
    failed: dict[int, MediaUnavailable] = {}
    for index, ref in enumerate(event.media):
        if not is_job_file(ref):
            elsewhere.append(index)
            continue
        try:
            checked.append((ref, await _fetch_and_check(ctx, ref, strip)))
        except Refused as refused:
            limit = ctx.settings.jobs.max_photo_bytes // (1024 * 1024)
            await ctx.reply(TextReply(kind="job_refused", text=ctx.t(
                f"jobs.refused.{refused.key}", limit=f"{limit} MB")))
        except MediaUnavailable as exc:
            log.warning("a job file could not be fetched; the office is told")
            elsewhere.append(index)
            failed[index] = exc
    if elsewhere:
        await _not_filed(ctx, event, elsewhere, failed, origin)
    if not checked:
        return
    batch = await open_batch(ctx, person.id)
    if batch is not None and batch.job_id is not None:
        batch = await _close_if_other_job(ctx, batch, event, person, staff)
    job: Job | None = None
    candidates: list[Job] = []
    if batch is None or batch.job_id is None:
        job, candidates = await find_job(ctx, event, person, staff)
        if job is None and not candidates:
            await ctx.reply(TextReply(kind="job_refused", text=ctx.t("jobs.which.none")))
            return
    if batch is None:
        now = ctx.clock.now()
        batch = JobBatch(person_id=person.id, origin=origin, address=str(address),
                         status="open", items=0, created_at=now, updated_at=now)
    if job is not None:
        batch.job_id = job.id
    await ctx.repo(JobFilesRepo).save_batch(batch)
    await _store(ctx, event, batch, checked, staff)
    await restart_window(ctx, batch)
    if origin == CUSTOMER and not await has_photo_consent(ctx, batch):
        await asking.ask_consent(ctx, batch)
    elif batch.job_id is None and candidates and not asking.pending_which(ctx):
        await asking.ask_which(ctx, batch, candidates)


async def _not_filed(ctx: Context, event: MediaEvent, indexes: list[int],
                     failed: dict[int, MediaUnavailable], origin: str) -> None:
    """Attachments not filed to a job reach a person now, never dropped: a customer's go
    to the office with the caption (a missing one as a note, fetched again later); a
    staff member is asked to send the file again."""
    if origin == CUSTOMER:
        content = await content_of(event, ctx, only=indexes, failed=failed)
        await forward_content(ctx, content)
        return
    what = ", ".join(dict.fromkeys(missing_word(ctx, event.media[i].kind) for i in indexes))
    await ctx.reply(TextReply(kind="job_refused", text=ctx.t("inbox.media_missing",
                                                             what=what)))


async def _close_if_other_job(ctx: Context, batch: JobBatch, event: MediaEvent, person: Person,
                              staff: StaffSettings | None) -> JobBatch | None:
    """A caption naming another job ends the open batch: the new files start their own."""
    code = code_in(event.caption)
    job = await ctx.repo(JobsRepo).job_by_code(code) if code else None
    if job is None or job.id == batch.job_id or not may_file(job, person, staff):
        return batch
    batch.quiet_at = ctx.clock.now()
    await try_flush(ctx, batch)  # if consent is missing it stays held, flushed on yes
    return None


async def _fetch_and_check(ctx: Context, ref: MediaRef, strip_gps: bool) -> Checked:
    limit = ctx.settings.jobs.max_photo_bytes
    check_name(ref.filename)
    if ref.size is not None and ref.size > limit:
        raise Refused("too_large")  # refused before a byte is downloaded
    channel = ctx.address.channel if ctx.address else ""
    fetch = ctx.services.fetchers.get(channel)
    if fetch is None:
        raise Refused("bad_type")
    try:
        data, provider_type = await fetch(ref)
    except MediaTooLarge:
        raise Refused("too_large") from None
    return check_file(data, ref.content_type or provider_type, max_bytes=limit,
                      strip_gps=strip_gps, local_tz=ZoneInfo(ctx.settings.business.timezone))


async def _store(ctx: Context, event: MediaEvent, batch: JobBatch,
                 checked: list[tuple[MediaRef, Checked]], staff: StaffSettings | None) -> None:
    store, now = ctx.services.media, ctx.clock.now()
    owner = ctx.person.id if ctx.person else None
    files = ctx.repo(JobFilesRepo)
    in_batch = await files.media_ids_in_batch(batch.id)
    for ref, item in checked:
        name = safe_filename(ref.filename) if ref.filename else ""
        saved = await files.save_media(store, item.data, filename=name, person_id=owner,
                                       now=now)
        if saved.id in in_batch:
            continue  # the same file twice in one batch: kept once
        in_batch.add(saved.id)
        thumb = None
        if item.thumbnail:
            thumb = (await files.save_media(store, item.thumbnail, person_id=owner,
                                            now=now)).id
        files.add_file(JobMedia(
            job_id=None, batch_id=batch.id, media_id=saved.id, thumb_id=thumb,
            person_id=owner, origin=batch.origin, staff_id=staff.id if staff else "",
            kind=saved.kind, caption=event.caption.strip()[:1000],
            captured_at=item.captured_at or event.received_at, created_at=now))
    await files.flush()


async def find_job(ctx: Context, event: MediaEvent, person: Person,
                   staff: StaffSettings | None) -> tuple[Job | None, list[Job]]:
    """The job the media belongs to, or the candidates to ask about."""
    code = code_in(event.caption) or await _code_replied_to(ctx, event.reply_to)
    if code:
        job = await ctx.repo(JobsRepo).job_by_code(code)
        if job is not None and may_file(job, person, staff):
            if staff is None and job.customer_id is None:
                job.customer_id = person.id  # the customer was given the code to use
            return job, []
        await ctx.reply(TextReply(kind="job_refused",
                                  text=ctx.t("jobs.errors.unknown_code", code=code)))
    jobs = await ctx.repo(JobsRepo).open_jobs_for(person, staff)
    if len(jobs) == 1 and not code:
        return jobs[0], []
    # After "not found" the person chooses: filing to their only job would contradict it.
    return None, jobs[:8] or await ctx.repo(JobsRepo).all_open_jobs()


async def _code_replied_to(ctx: Context, reply_to: str) -> str | None:
    """The job code in the message the person answered, if werkbot sent it."""
    if not reply_to:
        return None
    payload = await ctx.repo(JobsRepo).sent_payload(reply_to)
    if payload is None:
        return None
    try:
        reply = loads_reply(payload)
    except (CodecError, ValueError):
        return None
    return code_in(text_of(reply))



