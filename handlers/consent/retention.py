"""Retention per data class: a daily durable timer deletes what has expired.

`[retention]` in the config sets, per class, how long werkbot keeps it:

- `held`: held first messages (besides their own `consent.hold_for` timer).
- `messages`: inbox and outbox payloads are blanked (`redaction`), the rows stay so
  counts and the order of events survive; pending work is never touched.
- `media`: media rows and their files, unless a keeper says a job still needs them
  (`KEEP_MEDIA` hooks) or they are consent evidence (`media:<id>`
  in a ledger row's evidence), which follows the next class instead.
- `consent_evidence`: after a withdrawal, the evidence of the withdrawn consent (the
  inbound message id, a signature image) once this much time has passed. The ledger
  rows themselves stay: they prove that consent existed and when it ended.

The sweep runs as timer `consent.retention`, keyed by the local date
(`consent-retention:YYYY-MM-DD`), so it runs once a day however often werkbot restarts;
each run schedules the next day's at `RUN_AT` local time.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.codec import loads_event
from werkbot.bot.context import Context
from werkbot.bot.events import TimerEvent
from werkbot.bot.hooks import hooks
from werkbot.bot.router import Router, timer
from werkbot.bot.services import Services
from werkbot.bot.storage.models import InboxRow, MediaRow, OutboxRow
from werkbot.bot.storage.repos import TimerRepo
from werkbot.handlers.consent.holds import expire_held
from werkbot.handlers.consent.hooks import KEEP_MEDIA
from werkbot.handlers.consent.ledger import ALL_CHANNELS, ConsentEntry
from werkbot.handlers.consent.redaction import MARKER, blanked_event_payload, blanked_reply_payload

log = logging.getLogger(__name__)

router = Router("consent.retention")
TIMER = "consent.retention"
RUN_AT = time(3, 30)
BATCH = 500
MEDIA_EVIDENCE = "media:"  # a ledger evidence value naming a media id: "media:<id>"
def evidence_media(media_id: int) -> str:
    """The ledger evidence value for a stored media item (a signature image)."""
    return f"{MEDIA_EVIDENCE}{media_id}"


async def schedule_next(session: AsyncSession, services: Services, now: datetime, *,
                        today: bool = False) -> None:
    """Schedule the sweep for today (at start-up) or the next day, once per date."""
    zone = ZoneInfo(services.settings.business.timezone)
    day = now.astimezone(zone).date() + (timedelta(0) if today else timedelta(days=1))
    at = datetime.combine(day, RUN_AT, zone)
    await TimerRepo(session).schedule(_key(day), TIMER, at, now, {"date": day.isoformat()})


def _key(day: date) -> str:
    return f"consent-retention:{day.isoformat()}"


@router.on(TimerEvent, timer(TIMER))
async def daily(event: TimerEvent, ctx: Context) -> None:
    await ctx.repo(RetentionRepo).sweep_and_schedule_next(ctx.services, ctx.clock.now())


class RetentionRepo:
    """The daily sweep inside the timer event's transaction (`ctx.repo(RetentionRepo)`)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sweep_and_schedule_next(self, services: Services, now: datetime) -> None:
        await sweep(self.session, services, now)
        await schedule_next(self.session, services, now)


async def sweep(session: AsyncSession, services: Services, now: datetime) -> dict[str, int]:
    """Delete or blank everything past its retention; returns counts per class."""
    r = services.settings.retention
    counts = {
        "held": await expire_held(session, now, older_than=now - r.held),
        "messages": await _blank_messages(session, now - r.messages),
        "media": await _delete_media(session, services, now - r.media),
        "consent_evidence": await _drop_evidence(session, services, now - r.consent_evidence),
    }
    log.info("retention sweep: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


async def _blank_messages(session: AsyncSession, cutoff: datetime) -> int:
    done = 0
    rows = await session.scalars(
        select(InboxRow).where(InboxRow.created_at < cutoff, InboxRow.status != "pending",
                               InboxRow.kind != "TimerEvent",
                               ~InboxRow.payload.contains(MARKER)).limit(BATCH * 20))
    for row in rows:
        try:
            row.payload = blanked_event_payload(loads_event(row.payload))
        except (ValueError, TypeError, KeyError):
            row.payload = '{"redacted":true}'
        done += 1
    result = await session.execute(
        select(OutboxRow).where(OutboxRow.created_at < cutoff,
                                OutboxRow.status.not_in(("queued", "sending")),
                                ~OutboxRow.payload.contains(MARKER)).limit(BATCH * 20))
    for out in result.scalars():
        out.payload = blanked_reply_payload(out.payload)
        done += 1
    await session.flush()
    return done


async def _delete_media(session: AsyncSession, services: Services, cutoff: datetime) -> int:
    rows = list((await session.scalars(
        select(MediaRow).where(MediaRow.created_at < cutoff).limit(BATCH))).all())
    if not rows:
        return 0
    keep = set(await _evidence_media(session))
    offered = [row.id for row in rows if row.id not in keep]
    for keeper in hooks(services, KEEP_MEDIA):
        keep |= set(await keeper(session, offered))
    deleted = [row for row in rows if row.id not in keep]
    for row in deleted:
        await session.delete(row)
    await session.flush()
    for sha in {row.sha256 for row in deleted}:
        await services.media.delete_unreferenced(session, sha)
    return len(deleted)


async def _evidence_media(session: AsyncSession) -> list[int]:
    values = await session.scalars(select(ConsentEntry.evidence).where(
        ConsentEntry.evidence.startswith(MEDIA_EVIDENCE)))
    return [int(v[len(MEDIA_EVIDENCE):]) for v in values if v[len(MEDIA_EVIDENCE):].isdigit()]


async def _drop_evidence(session: AsyncSession, services: Services, cutoff: datetime) -> int:
    """Blank the evidence of consents withdrawn before `cutoff`, and delete its media."""
    withdrawals = (await session.scalars(select(ConsentEntry).where(
        ConsentEntry.granted.is_(False), ConsentEntry.at < cutoff,
        ConsentEntry.method != "staff-commitment"))).all()
    dropped: list[str] = []
    for w in withdrawals:
        query = select(ConsentEntry).where(
            ConsentEntry.subject == w.subject, ConsentEntry.purpose == w.purpose,
            ConsentEntry.at <= w.at, ConsentEntry.evidence != "")
        if w.channel != ALL_CHANNELS:
            query = query.where(ConsentEntry.channel == w.channel)
        for entry in (await session.scalars(query)).all():
            dropped.append(entry.evidence)
            entry.evidence = ""
    await session.flush()
    for value in {v for v in dropped if v.startswith(MEDIA_EVIDENCE)}:
        ident = value[len(MEDIA_EVIDENCE):]
        still = await session.scalar(select(ConsentEntry.id).where(
            ConsentEntry.evidence == value).limit(1))
        row = await session.get(MediaRow, int(ident)) if ident.isdigit() else None
        if row is not None and still is None:
            await session.delete(row)
            await session.flush()
            await services.media.delete_unreferenced(session, row.sha256)
    return len(dropped)
