"""Batches: media one person sends within the quiet window, delivered as one message.

WhatsApp sends each photo of a batch as its own webhook and Telegram an album as several
updates, so intake adds each file to the person's open batch and (re)schedules one
durable timer per batch; the key changes with every file, so the window restarts. A batch
is delivered once the window has passed, its job is known and, for a customer, photo
consent is on record; whichever of those comes last triggers `try_flush`.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import TimerEvent
from werkbot.bot.replies import MediaReply, TextReply
from werkbot.bot.storage.models import MediaRow
from werkbot.handlers.consent.ledger import PHOTOS
from werkbot.handlers.consent.status import may_share
from werkbot.handlers.jobs.models import CUSTOMER, Job, JobBatch, JobMedia, JobNote
from werkbot.handlers.jobs.repo import recipients
from werkbot.handlers.rights.forwarding import send_about

log = logging.getLogger(__name__)
TIMER = "jobs.batch"


async def open_batch(ctx: Context, person_id: int) -> JobBatch | None:
    # locked: on PostgreSQL the batch timer (another sender, maybe another worker) waits
    return await ctx.session.scalar(
        select(JobBatch).where(JobBatch.person_id == person_id, JobBatch.status == "open")
        .order_by(JobBatch.id.desc()).limit(1).with_for_update())


async def open_batches(ctx: Context, person_id: int) -> list[JobBatch]:
    rows = await ctx.session.scalars(
        select(JobBatch).where(JobBatch.person_id == person_id, JobBatch.status == "open")
        .order_by(JobBatch.id).with_for_update())
    return list(rows.all())


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
    batch = await ctx.session.get(JobBatch, int(event.payload.get("batch", 0)),
                                  with_for_update=True, populate_existing=True)
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
    return await may_share(ctx.session, batch.person_id, PHOTOS)


async def try_flush(ctx: Context, batch: JobBatch) -> bool:
    """Deliver the batch if its window has passed, its job is known and consent is there."""
    if batch.status != "open" or batch.quiet_at is None or batch.job_id is None:
        return False
    if not await has_photo_consent(ctx, batch):
        return False
    job = await ctx.session.get(Job, batch.job_id)
    if job is None:
        return False
    await deliver(ctx, batch, job)
    return True


async def batch_items(ctx: Context, batch_id: int) -> list[JobMedia]:
    rows = await ctx.session.scalars(
        select(JobMedia).where(JobMedia.batch_id == batch_id).order_by(JobMedia.id))
    return list(rows.all())


async def deliver(ctx: Context, batch: JobBatch, job: Job) -> None:
    """File the batch to its job, send it to the job's people and a receipt to the sender."""
    batch.status = "done"
    items = await batch_items(ctx, batch.id)
    fresh, duplicates = [], 0
    for item in items:
        seen = await ctx.session.scalar(select(func.count()).select_from(JobMedia).where(
            JobMedia.job_id == job.id, JobMedia.media_id == item.media_id,
            JobMedia.id != item.id))
        if seen:
            duplicates += 1
            await ctx.session.delete(item)
        else:
            item.job_id = job.id
            fresh.append(item)
    await ctx.session.flush()
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
    staff_ids = await recipients(ctx.session, ctx.settings, job,
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
    await ctx.session.execute(delete(JobMedia).where(JobMedia.batch_id == batch.id))
    await ctx.session.flush()
    for media_id in {i.media_id for i in items} | {i.thumb_id for i in items if i.thumb_id}:
        still = await ctx.session.scalar(select(func.count()).select_from(JobMedia).where(
            (JobMedia.media_id == media_id) | (JobMedia.thumb_id == media_id)))
        row = await ctx.session.get(MediaRow, media_id)
        if still or row is None:
            continue
        await ctx.session.delete(row)
        await ctx.session.flush()
        await ctx.services.media.delete_unreferenced(ctx.session, row.sha256)
    return len(items)
