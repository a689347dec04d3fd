"""The files filed to jobs and the batches they arrive in, inside the caller's transaction.

`JobFilesRepo` holds the queries on `JobBatch` and `JobMedia` and the media rows they point
at (stored through the media store, so a file is kept once per content and person).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.media import MediaStore, SavedMedia
from werkbot.bot.storage.models import MediaRow
from werkbot.handlers.jobs.models import STAFF, JobBatch, JobMedia, JobNote


class JobFilesRepo:
    """Batches, the files in them and on jobs, and their media rows."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_batch(self, person_id: int) -> JobBatch | None:
        # locked: on PostgreSQL the batch timer (another sender, maybe another worker) waits
        return await self.session.scalar(
            select(JobBatch).where(JobBatch.person_id == person_id, JobBatch.status == "open")
            .order_by(JobBatch.id.desc()).limit(1).with_for_update())

    async def open_batches(self, person_id: int) -> list[JobBatch]:
        rows = await self.session.scalars(
            select(JobBatch).where(JobBatch.person_id == person_id, JobBatch.status == "open")
            .order_by(JobBatch.id).with_for_update())
        return list(rows.all())

    async def locked_batch(self, batch_id: int, *, fresh: bool = False) -> JobBatch | None:
        """Batch `batch_id`, locked; `fresh` reloads it even if this session has it."""
        return await self.session.get(JobBatch, batch_id, with_for_update=True,
                                      populate_existing=fresh)

    async def save_batch(self, batch: JobBatch) -> JobBatch:
        """Store a new or changed batch now (a new one gets its id)."""
        self.session.add(batch)
        await self.session.flush()
        return batch

    async def media_ids_in_batch(self, batch_id: int) -> set[int]:
        return set((await self.session.scalars(
            select(JobMedia.media_id).where(JobMedia.batch_id == batch_id))).all())

    def add_file(self, item: JobMedia) -> None:
        self.session.add(item)

    async def flush(self) -> None:
        """Write what was added or changed (ids and constraints are checked here)."""
        await self.session.flush()

    async def batch_items(self, batch_id: int) -> list[JobMedia]:
        rows = await self.session.scalars(
            select(JobMedia).where(JobMedia.batch_id == batch_id).order_by(JobMedia.id))
        return list(rows.all())

    async def filed_before(self, item: JobMedia, job_id: int) -> bool:
        """Whether the job already holds this file (another row with the same media)."""
        seen = await self.session.scalar(select(func.count()).select_from(JobMedia).where(
            JobMedia.job_id == job_id, JobMedia.media_id == item.media_id,
            JobMedia.id != item.id))
        return bool(seen)

    async def remove_file(self, item: JobMedia) -> None:
        await self.session.delete(item)

    async def files_of_job(self, job_id: int) -> Sequence[JobMedia]:
        return (await self.session.scalars(
            select(JobMedia).where(JobMedia.job_id == job_id))).all()

    async def unsent_staff_files(self, job_id: int) -> list[JobMedia]:
        """Staff's files of the job not yet sent to the customer, in filing order."""
        return list((await self.session.scalars(select(JobMedia).where(
            JobMedia.job_id == job_id, JobMedia.origin == STAFF,
            JobMedia.sent_to_customer_at.is_(None)).order_by(JobMedia.id))).all())

    async def files_of_person(self, person_id: int) -> Sequence[JobMedia]:
        return (await self.session.scalars(
            select(JobMedia).where(JobMedia.person_id == person_id)
            .order_by(JobMedia.id))).all()

    async def media_row(self, media_id: int) -> MediaRow | None:
        return await self.session.get(MediaRow, media_id)

    async def save_media(self, store: MediaStore, data: bytes, *, filename: str = "",
                         person_id: int | None = None, now: datetime) -> SavedMedia:
        """Store bytes through the media store in this transaction."""
        return await store.save(self.session, data, filename=filename, person_id=person_id,
                                now=now)

    async def drop_batch_files(self, batch_id: int) -> None:
        await self.session.execute(delete(JobMedia).where(JobMedia.batch_id == batch_id))
        await self.session.flush()

    async def delete_media_if_unused(self, store: MediaStore, media_id: int) -> None:
        """Delete a media row (and its file, once no row shares it) no job file refers to."""
        still = await self.session.scalar(select(func.count()).select_from(JobMedia).where(
            (JobMedia.media_id == media_id) | (JobMedia.thumb_id == media_id)))
        row = await self.session.get(MediaRow, media_id)
        if still or row is None:
            return
        await self.session.delete(row)
        await self.session.flush()
        await store.delete_unreferenced(self.session, row.sha256)

    async def erase_person(self, person_id: int) -> None:
        """Erasure: what the person filed, notes and batches (not their jobs' rows)."""
        await self.session.execute(delete(JobMedia).where(JobMedia.person_id == person_id))
        # rows whose file the rights feature already deleted (SQLite may not cascade)
        await self.session.execute(delete(JobMedia).where(
            ~JobMedia.media_id.in_(select(MediaRow.id))))
        await self.session.execute(delete(JobNote).where(JobNote.person_id == person_id))
        await self.session.execute(delete(JobBatch).where(JobBatch.person_id == person_id))
