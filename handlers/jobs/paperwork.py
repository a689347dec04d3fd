"""Paperwork for a job: the photo report, signing requests and the signed PDF.

`make_report` collects every file of the job into a PDF (Baustellendokumentation) and
stores it as media. `request_signature` creates a signing request of kind "job" with the
rights feature, so the customer signs on the same page as the web consent, and sends
them its link. After signing, the rights feature calls `on_job_signed` (registered as
its "job" signing hook), which builds the job's signed PDF, files it to the job and sends
it to the customer and to the staff member who asked.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from werkbot.bot.context import Context
from werkbot.bot.hooks import hooks
from werkbot.bot.replies import MediaReply, TextReply
from werkbot.bot.services import Services
from werkbot.handlers.jobs.batches import sender_label
from werkbot.handlers.jobs.files_repo import JobFilesRepo
from werkbot.handlers.jobs.models import CUSTOMER, Job, JobMedia, JobSignature
from werkbot.handlers.jobs.pdfs import ReportItem, photo_report, signed_statement
from werkbot.handlers.jobs.repo import JobsRepo
from werkbot.handlers.rights.models import SigningRequest
from werkbot.handlers.rights.receipt import flatten_png
from werkbot.handlers.rights.registry import SIGNING_HOOKS
from werkbot.handlers.rights.signing import create_signing_request

SIGN_KIND = "job"  # the rights feature's signing-request kind for job signatures
SIGN_VERSION = "jobs.sign.v1"


def local_time(ctx: Context, when: datetime) -> str:
    return when.astimezone(ZoneInfo(ctx.settings.business.timezone)).strftime("%d.%m.%Y %H:%M")


async def _bytes(ctx: Context, media_id: int) -> bytes | None:
    row = await ctx.repo(JobFilesRepo).media_row(media_id)
    if row is None:
        return None
    path = ctx.services.media.directory / row.path
    return path.read_bytes() if path.exists() else None


async def make_report(ctx: Context, job: Job) -> int:
    """Build and store the job's photo report; returns its media id."""
    lang = ctx.lang
    rows = await ctx.repo(JobFilesRepo).files_of_job(job.id)
    notes = await ctx.repo(JobsRepo).notes_of_job(job.id)
    entries: list[tuple[datetime, int, ReportItem]] = []
    for row in rows:
        image = await _bytes(ctx, row.media_id) if row.kind == "image" else None
        entries.append((row.captured_at, row.id, ReportItem(
            when=local_time(ctx, row.captured_at), sender=sender_label(ctx, row, lang),
            caption=row.caption, kind_label=ctx.texts.get(f"jobs.kinds.{row.kind}", lang),
            image=image)))
    for note in notes:
        entries.append((note.created_at, note.id, ReportItem(
            when=local_time(ctx, note.created_at), sender=sender_label(ctx, note, lang),
            caption=note.text, kind_label=ctx.texts.get("jobs.kinds.note", lang), image=None)))
    items = [item for _, _, item in sorted(entries, key=lambda e: (e[0], e[1]))]
    head = [ctx.settings.business.name,
            ctx.texts.get("jobs.report.job", lang, code=job.code, title=job.title),
            ctx.texts.get("jobs.report.site", lang, site=job.site or "-"),
            ctx.texts.get("jobs.report.made", lang, when=local_time(ctx, ctx.clock.now()),
                          count=len(items))]
    title = ctx.texts.get("jobs.report.title", lang)
    pdf = photo_report(f"{title} {job.code}", head, items, f"{title} {job.code}")
    saved = await ctx.repo(JobFilesRepo).save_media(
        ctx.services.media, pdf, filename=f"{title}-{job.code}.pdf",
        person_id=job.customer_id, now=ctx.clock.now())
    return saved.id


async def request_signature(ctx: Context, job: Job, text: str, staff_id: str) -> bool:
    """Create a signing request (the rights feature's page) and send the customer its link.

    False if the customer cannot be reached; the request stays and can be sent again.
    """
    assert job.customer_id is not None
    customer = await ctx.people.get(job.customer_id)
    lang = customer.language if customer else ctx.settings.business.language
    sig = JobSignature(job_id=job.id, text=text[:4000], requested_by=staff_id,
                       status="pending", created_at=ctx.clock.now())
    await ctx.repo(JobsRepo).add_signature(sig)
    title = ctx.texts.get("jobs.sign.pdf_title", lang)
    page_text = ctx.texts.get("jobs.sign.page_text", lang, code=job.code, title=job.title,
                              business=ctx.settings.business.name, text=sig.text)
    customer_id = job.customer_id
    request, link = await ctx.repo(lambda session: create_signing_request(
        session, ctx.services, kind=SIGN_KIND, person_id=customer_id,
        text=page_text, title=f"{title} {job.code}", text_version=SIGN_VERSION,
        created_by=f"staff:{staff_id}", language=lang, ref=f"{job.code}:{sig.id}"))
    sig.request_id = request.id
    message = ctx.texts.get("jobs.sign.message", lang, code=job.code, title=job.title,
                            business=ctx.settings.business.name, link=link)
    return bool(await ctx.send_to_person(job.customer_id,
                                         TextReply(kind="job_sign_request", text=message)))


async def on_job_signed(ctx: Context, request: SigningRequest) -> None:
    """The rights feature's hook after signing: build the job's signed PDF and send it."""
    sig = await ctx.repo(JobsRepo).signature_for_request(request.id)
    if sig is None or sig.status != "pending" or request.signature_media_id is None:
        return
    job = await ctx.repo(JobsRepo).job_by_id(sig.job_id)
    png = await _bytes(ctx, request.signature_media_id)
    if job is None or png is None:
        return
    lang = request.language
    signed_at = request.completed_at or ctx.clock.now()
    title = ctx.texts.get("jobs.sign.pdf_title", lang)
    head = [ctx.settings.business.name,
            ctx.texts.get("jobs.report.job", lang, code=job.code, title=job.title),
            ctx.texts.get("jobs.report.site", lang, site=job.site or "-")]
    line = ctx.texts.get("jobs.sign.signed_line", lang, when=local_time(ctx, signed_at))
    pdf = signed_statement(title, head, sig.text, flatten_png(png), line,
                           f"{title} {job.code}")
    files = ctx.repo(JobFilesRepo)
    saved = await files.save_media(
        ctx.services.media, pdf, filename=f"{title}-{job.code}.pdf",
        person_id=job.customer_id, now=ctx.clock.now())
    sig.status, sig.signed_at = "signed", signed_at
    sig.signature_media_id, sig.pdf_media_id = request.signature_media_id, saved.id
    files.add_file(JobMedia(
        job_id=job.id, media_id=saved.id, person_id=job.customer_id, origin=CUSTOMER,
        kind="document", caption=f"{title}: {sig.text[:200]}", captured_at=signed_at,
        created_at=ctx.clock.now()))
    await files.flush()
    await _send_signed(ctx, job, sig, saved.id)


def register(services: Services) -> None:
    """A signed job statement is filed with its job."""
    hooks(services, SIGNING_HOOKS).add(SIGN_KIND, on_job_signed)


async def _send_signed(ctx: Context, job: Job, sig: JobSignature, pdf_id: int) -> None:
    targets: list[tuple[int, str]] = []
    if job.customer_id is not None:
        customer = await ctx.people.get(job.customer_id)
        targets.append((job.customer_id, customer.language if customer else "de"))
    staff_person = await ctx.people.by_staff_id(sig.requested_by)
    staff = ctx.settings.staff_by_id(sig.requested_by)
    if staff_person is not None and staff is not None:
        targets.append((staff_person.id, staff.language))
    for person_id, lang in targets:
        caption = ctx.texts.get("jobs.sign.done_caption", lang, code=job.code, title=job.title)
        await ctx.send_to_person(person_id, MediaReply(
            kind="job_signed", media_ids=(pdf_id,), media_kinds=("document",),
            caption=caption))
