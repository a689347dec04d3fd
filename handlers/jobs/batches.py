"""Batches: media one person sends within the quiet window, delivered as one message.

WhatsApp sends each photo of a batch as its own webhook and Telegram an album as several
updates, so intake adds each file to the person's open batch and (re)schedules one
durable timer per batch; the key changes with every file, so the window restarts. A batch
is delivered once the window has passed, its job is known and, for a customer, photo
consent is on record; whichever of those comes last triggers `try_flush`.
"""

from __future__ import annotations

import logging

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import TimerEvent
from werkbot.bot.replies import MediaReply, TextReply
from werkbot.handlers.consent.ledger import PHOTOS
from werkbot.handlers.consent.status import may_share
from werkbot.handlers.jobs.files_repo import JobFilesRepo
from werkbot.handlers.jobs.models import CUSTOMER, Job, JobBatch, JobMedia, JobNote
from werkbot.handlers.jobs.repo import JobsRepo
from werkbot.handlers.rights.forwarding import send_about

log = logging.getLogger(__name__)
TIMER = "jobs.batch"


async def open_batch(ctx: Context, person_id: int) -> JobBatch | None:
    return await ctx.repo(JobFilesRepo).open_batch(person_id)


async def open_batches(ctx: Context, person_id: int) -> list[JobBatch]:
    return await ctx.repo(JobFilesRepo).open_batches(person_id)


async def restart_window(ctx: Context, batch: JobBatch) -> None:
    """Cancel the batch's pending timer and schedule a new one a window from now."""
    now = ctx.clock.now()
    if batch.items:
        await ctx.timers.cancel(f"{TIMER}:{batch.id}:{batch.items}")
    batch.items += 1
    batch.updated_at, batch.quiet_at = now, None
    await ctx.timers.schedule(f"{TIMER}:{batch.id}:{batch.items}", TIMER,
                              now + ctx.settings.jobs.batch_window, now, {"batch": batch.id})


async def on_timer(event: TimerEvent, ctx: Context) -> None:
    batch = await ctx.repo(JobFilesRepo).locked_batch(int(event.payload.get("batch", 0)),
                                                      fresh=True)
    now = ctx.clock.now()
    if batch is None or batch.status != "open":
        return
    if now < batch.updated_at + ctx.settings.jobs.batch_window:
        return  # a file arrived while this timer waited for the lock; its own timer follows
    batch.quiet_at = now
    await try_flush(ctx, batch)


async def has_photo_consent(ctx: Context, batch: JobBatch) -> bool:
    if batch.origin != CUSTOMER or batch.person_id is None:
        return True
    person_id = batch.person_id
    return await ctx.repo(lambda session: may_share(session, person_id, PHOTOS))


async def try_flush(ctx: Context, batch: JobBatch) -> bool:
    """Deliver the batch if its window has passed, its job is known and consent is there."""
    if batch.status != "open" or batch.quiet_at is None or batch.job_id is None:
        return False
    if not await has_photo_consent(ctx, batch):
        return False
    job = await ctx.repo(JobsRepo).job_by_id(batch.job_id)
    if job is None:
        return False
    await deliver(ctx, batch, job)
    return True


async def batch_items(ctx: Context, batch_id: int) -> list[JobMedia]:
    return await ctx.repo(JobFilesRepo).batch_items(batch_id)


async def deliver(ctx: Context, batch: JobBatch, job: Job) -> None:
    """File the batch to its job, send it to the job's people and a receipt to the sender."""
    batch.status = "done"
    items = await batch_items(ctx, batch.id)
    files = ctx.repo(JobFilesRepo)
    fresh, duplicates = [], 0
    for item in items:
        if await files.filed_before(item, job.id):
            duplicates += 1
            await files.remove_file(item)
        else:
            item.job_id = job.id
            fresh.append(item)
    await files.flush()
    sender = items[0] if items else None
    if fresh and sender is not None:
        await _send_to_staff(ctx, job, fresh, sender)
    await _receipt(ctx, batch, job, fresh, duplicates)
    log.info("batch %s filed to job %s: %d new, %d duplicate", batch.id, job.id, len(fresh),
             duplicates)


def sender_label(ctx: Context, item: JobMedia | JobNote, lang: str) -> str:
    """'Kunde' for the customer; name and role for staff."""
    if item.origin == CUSTOMER:
        return ctx.texts.get("jobs.sender.customer", lang)
    staff = ctx.settings.staff_by_id(item.staff_id)
    if staff is None:
        return ctx.texts.get("jobs.sender.staff", lang)
    role = staff.roles[0] if staff.roles else "fitter"
    return f"{staff.name} ({ctx.texts.get(f'jobs.roles.{role}', lang)})"


async def _send_to_staff(ctx: Context, job: Job, fresh: list[JobMedia],
                         sender: JobMedia) -> None:
    staff_ids = await ctx.repo(JobsRepo).recipients(ctx.settings, job,
                                                    origin_customer=sender.origin == CUSTOMER,
                                                    sender_staff=sender.staff_id)
    captions = list(dict.fromkeys(i.caption for i in fresh if i.caption))
    for staff_id in staff_ids:
        person = await ctx.people.by_staff_id(staff_id)
        staff = ctx.settings.staff_by_id(staff_id)
        if person is None or staff is None:
            continue
        lang = staff.language
        caption = ctx.texts.get("jobs.delivery.caption", lang, code=job.code, title=job.title,
                                count=count_text(ctx, fresh, lang),
                                sender=sender_label(ctx, sender, lang))
        if captions:
            caption += "\n" + "\n".join(f"„{c}“" for c in captions)
        reply = MediaReply(kind="job_photos", media_ids=tuple(i.media_id for i in fresh),
                           media_kinds=tuple(i.kind for i in fresh), caption=caption[:1000])
        if sender.origin == CUSTOMER and sender.person_id is not None:
            # linked to the customer, so erasure finds what reached staff
            await send_about(ctx, sender.person_id, reply, to_person=person.id)
        else:
            await ctx.send_to_person(person.id, reply)


def count_text(ctx: Context, items: list[JobMedia], lang: str) -> str:
    """'3 Fotos', '1 Foto', '2 Dateien'."""
    photos = all(i.kind == "image" for i in items)
    noun = "photo" if photos else "file"
    key = f"jobs.count.{noun}_{'one' if len(items) == 1 else 'many'}"
    return ctx.texts.get(key, lang, count=len(items))


async def _receipt(ctx: Context, batch: JobBatch, job: Job, fresh: list[JobMedia],
                   duplicates: int) -> None:
    person = await ctx.people.get(batch.person_id) if batch.person_id else None
    lang = person.language if person else ctx.settings.business.language
    if fresh:
        text = ctx.texts.get("jobs.receipt.saved", lang, count=count_text(ctx, fresh, lang),
                             code=job.code)
    else:
        text = ctx.texts.get("jobs.receipt.nothing_new", lang, code=job.code)
    if duplicates:
        text += " " + ctx.texts.get("jobs.receipt.duplicates", lang, count=duplicates)
    await ctx.send(Address.parse(batch.address), TextReply(kind="job_receipt", text=text),
                   person_id=batch.person_id)


async def drop_batch(ctx: Context, batch: JobBatch) -> int:
    """Discard a held batch (consent refused): rows, and files nothing else refers to."""
    items = await batch_items(ctx, batch.id)
    batch.status = "dropped"
    files = ctx.repo(JobFilesRepo)
    await files.drop_batch_files(batch.id)
    for media_id in {i.media_id for i in items} | {i.thumb_id for i in items if i.thumb_id}:
        await files.delete_media_if_unused(ctx.services.media, media_id)
    return len(items)
