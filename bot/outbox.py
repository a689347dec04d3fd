"""The outbox sender: every queued reply is delivered, retried, or visibly failed.

A sender claims due rows (oldest first), marks them `sending` with a lease and commits,
sends them through the channel's adapter (a recipient's rows one after the other, so each
recipient gets messages in order) and records the outcome. Retryable failures back off
exponentially (or as long as the provider asked); final ones are recorded with their
code and reported back through the inbox as a `DeliveryStatus`, so handlers can fall
back to another channel or tell the office. A crash mid-send leaves a `sending` row
whose lease runs out; it is sent again after restart.

A send that timed out, lost its connection, got a success answer it could not read
(`UNREADABLE`) or was cut short by a crash may still have reached the provider. Before
sending such a row again, the outbox asks an adapter that has `find_sent` (Twilio: its
message list) whether the earlier attempt arrived, and records that message instead of
sending a second copy; while the question cannot be answered the row waits with
backoff (never a blind resend while the provider is flaky) and, after MAX_ATTEMPTS,
fails visibly. Adapters without `find_sent` are at least once: such a message may
arrive twice. Telegram is one of them (the Bot API cannot list the messages a bot
sent), but there a 2xx whose body cannot be read is taken as sent: the Bot API answers
2xx only for a call it carried out.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Table,
    Update,
    and_,
    bindparam,
    case,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from werkbot.bot.adapter import UNREADABLE, Adapter, Feed, Receipt, SendError, SentFinder
from werkbot.bot.addresses import Address
from werkbot.bot.codec import loads_reply
from werkbot.bot.events import DeliveryStatus, Unreachable
from werkbot.bot.pressure import Pressure
from werkbot.bot.replies import Reply
from werkbot.bot.services import Services
from werkbot.bot.storage.inline_sql import Prepared, inline_connection
from werkbot.bot.storage.models import OutboxRow
from werkbot.bot.storage.row_writes import write_columns
from werkbot.bot.worker import WorkerLoop

log = logging.getLogger(__name__)

STATUS_RANK = {"queued": 0, "sending": 1, "accepted": 2, "sent": 2, "failed": 3,
               "undelivered": 3, "delivered": 4, "read": 5, "cancelled": 6}
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
SEND_TIMEOUT = 30.0
BATCH = 32
FORGOTTEN_PAYLOAD = '{"$type":"TextReply","text":""}'
RECORD_RETRY = 0.5  # first pause before recording sends again after a database error
RECORD_RETRY_MAX = 5.0
# An attempt that ended so may have reached the provider: look before sending again.
INTERRUPTED = "interrupted"  # the process died (or its lease ran out) during a send
UNCERTAIN_CODES = frozenset({"timeout", "network", INTERRUPTED, UNREADABLE})
LOOKUP_MARGIN = timedelta(minutes=2)  # clock skew and whole-second provider timestamps
_OUTBOX = cast(Table, OutboxRow.__table__)
# A delivery report's row, locked (PostgreSQL) against a concurrent report of the same send.
_BY_PROVIDER_ID = Prepared(
    select(_OUTBOX.c.id, _OUTBOX.c.status, _OUTBOX.c.error_code)
    .where(_OUTBOX.c.provider_id == bindparam("provider_id", type_=_OUTBOX.c.provider_id.type))
    .limit(1).with_for_update())


@dataclass(frozen=True, slots=True)
class ClaimedReply:
    """An outbox row claimed for sending (`status` now `sending`): what sending it reads."""

    id: int
    address: str
    kind: str
    payload: str
    attempts: int  # this attempt included
    error_code: str  # INTERRUPTED when an earlier attempt's outcome is unknown
    created_at: datetime


class _Current(NamedTuple):
    """A claimed row as it is when its outcome is recorded (a status callback or a
    cancellation may have moved it meanwhile)."""

    id: int
    status: str
    address: str
    kind: str
    payload: str
    attempts: int
    provider_id: str | None


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 2 ** attempts))


async def apply_status(session: AsyncSession, event: DeliveryStatus, now: datetime
                       ) -> bool | None:
    """Move an outbox row forward to the reported status (never backwards).

    True: moved. False: the row is already there or further (a late or repeated
    callback: nothing to do, ever). None: no row has that provider id (yet)."""
    found = await _BY_PROVIDER_ID.first(session, {"provider_id": event.provider_message_id})
    if found is None:
        return None
    row_id, current, error_code = found
    status = event.status.lower()
    if STATUS_RANK.get(status, -1) > STATUS_RANK.get(current, -1):
        await write_columns(session, OutboxRow, [(row_id, {
            "status": status, "updated_at": now,
            "error_code": event.error_code or error_code})])
        return True
    return False


class OutboxSender:
    """Sends due outbox rows through the adapters."""

    def __init__(self, services: Services, adapters: Mapping[str, Adapter], report: Feed,
                 pressure: Pressure) -> None:
        self._services = services
        self.pressure = pressure  # the server's, shared with the dispatcher
        self._adapters = adapters
        self._report = report
        self.worker = WorkerLoop("outbox", self.send_due, pressure)
        self.wake = self.worker.wake
        self._claim_statement = Prepared(_claim_statement(services.db.is_sqlite))
        self._handed: list[ClaimedReply] = []  # claimed by the dispatcher, not sent yet

    async def recover(self) -> None:
        """On SQLite one process owns the queue: rows left `sending` by a crash go again."""
        if self._services.db.is_sqlite:
            async with self._services.db.session() as session:
                await session.execute(
                    update(OutboxRow).where(OutboxRow.status == "sending")
                    .values(status="queued", lease_until=None, error_code=INTERRUPTED)
                )

    async def run(self, poll_seconds: float = 0.5) -> None:
        """Send due rows until cancelled (bot/worker.py: wake-ups, polling, retries)."""
        await self.worker.run(poll_seconds)

    async def drain(self) -> int:
        """Send everything due now (tests and scripted scenarios); returns the count."""
        return await self.worker.drain()

    async def send_due(self) -> int:
        """Claim and send one batch; returns how many rows were attempted."""
        claimed, self._handed = self._handed, []
        if not claimed and self._services.db.may_find(
                _ANY_DUE, {"now": self._services.clock.now()}):
            claimed = await self._claim()
        if not claimed:
            return 0
        # The rows are ours until the lease runs out; so long, recording what was sent is
        # retried through a database error: given up, they would stay `sending` and go
        # out a second time when the lease ends.
        record_until = asyncio.get_running_loop().time() + LEASE.total_seconds() - 15
        by_address: dict[str, list[ClaimedReply]] = {}
        for row in claimed:  # claimed in id order, so each list is in order too
            by_address.setdefault(row.address, []).append(row)
        groups = await asyncio.gather(*(self._send_in_order(rows)
                                        for rows in by_address.values()))
        await self._record_retrying([pair for group in groups for pair in group], record_until)
        return len(claimed)

    async def _record_retrying(
            self, outcomes: Sequence[tuple[ClaimedReply, Receipt | SendError | None]],
            until: float) -> None:
        """Record the outcomes, then report final failures; a database that is down,
        restarting or locked is tried again (with backoff) until `until` (loop time)."""
        loop = asyncio.get_running_loop()
        pause = RECORD_RETRY
        reports: list[DeliveryStatus | Unreachable] | None = None
        while True:
            try:
                if reports is None:
                    reports = await self._record(outcomes)
                if reports:
                    await self._report(reports)
                return
            # The database, not a bug: wait for it. (sqlite3's own errors come from the
            # statements run on its connection directly: bot/storage/inline_sql.py.)
            except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
                if loop.time() + pause >= until:
                    raise
                log.warning("recording %d sends failed (%s); retrying in %.1f s",
                            len(outcomes), type(exc).__name__, pause)
                await asyncio.sleep(pause)
                pause = min(2 * pause, RECORD_RETRY_MAX)

    async def _send_in_order(self, rows: list[ClaimedReply]
                             ) -> list[tuple[ClaimedReply, Receipt | SendError | None]]:
        """One recipient's rows, one after the other; after a failure the rest wait."""
        outcomes: list[tuple[ClaimedReply, Receipt | SendError | None]] = []
        failed = False
        for row in rows:
            outcome = None if failed else await self._send(row)
            failed = failed or isinstance(outcome, SendError)
            outcomes.append((row, outcome))
        return outcomes

    async def _claim(self) -> list[ClaimedReply]:
        async with self._services.db.session() as session:
            return await self.claim_in(session)

    async def claim_in(self, session: AsyncSession) -> list[ClaimedReply]:
        """Claim due rows inside the caller's transaction; they are ours once it commits.

        The dispatcher claims this way in the transaction that queued replies, and hands
        the rows over after its commit (`hand`): one transaction fewer per round, and the
        reply does not wait for the next round's claim. Rolled back with that transaction,
        the claim is gone with the rows. One statement claims and reads them; changes
        still pending in the session's objects are flushed first, so it sees them.
        """
        await session.flush()
        now = self._services.clock.now()
        found = await self._claim_statement.all(session, {"now": now,
                                                          "lease_until": now + LEASE})
        return sorted((ClaimedReply(*row) for row in found), key=lambda row: row.id)

    async def release_handed(self) -> int:
        """On shutdown: rows handed over but not taken for sending yet go back to the queue
        as never attempted (a row whose send had begun stays `sending`: its outcome is
        unknown, and the lease or the next start's recovery decides)."""
        rows, self._handed = self._handed, []
        if not rows:
            return 0
        async with self._services.db.session() as session:
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([row.id for row in rows]), OutboxRow.status == "sending")
                .values(status="queued", lease_until=None, attempts=OutboxRow.attempts - 1))
        return len(rows)

    def hand(self, rows: Sequence[ClaimedReply]) -> None:
        """Rows claimed by `claim_in` (committed): sent next, before anything is claimed."""
        self._handed.extend(rows)
        self.wake.set()

    async def _send(self, row: ClaimedReply) -> Receipt | SendError:
        address = Address.parse(row.address)
        adapter = self._adapters.get(address.channel)
        if adapter is None:
            return SendError(f"no adapter for channel {address.channel!r}", code="no-channel")
        try:
            reply = loads_reply(row.payload)
            if row.error_code in UNCERTAIN_CODES:
                earlier = await self._earlier_attempt(adapter, row, address, reply)
                if earlier is not None:
                    return earlier
            async with asyncio.timeout(SEND_TIMEOUT):
                return await adapter.send(address, reply)
        except SendError as exc:
            return exc
        except TimeoutError:
            return SendError("send timed out", code="timeout", retryable=True)
        except Exception as exc:
            log.exception("adapter %s raised while sending row %s", address.channel, row.id)
            return SendError(f"adapter error {type(exc).__name__}", code="adapter-error",
                             retryable=True)

    async def _earlier_attempt(self, adapter: Adapter, row: ClaimedReply, address: Address,
                               reply: Reply) -> Receipt | SendError | None:
        """The provider's copy from an earlier attempt whose outcome is unknown, a retryable
        error if the provider cannot tell us now, or None: send (again)."""
        if not isinstance(adapter, SentFinder):
            return None  # at least once
        # Every attempt of this row started after it was created: a safe lower bound.
        since = row.created_at - LOOKUP_MARGIN
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                found = await adapter.find_sent(address, reply, since)
            if found is None:
                return None
            async with self._services.db.session() as session:
                taken = await session.scalar(select(OutboxRow.id).where(
                    OutboxRow.provider_id == found.provider_id, OutboxRow.id != row.id)
                    .limit(1))
        except Exception as exc:
            log.warning("outbox row %s: cannot tell whether an earlier attempt arrived (%s); "
                        "not sending blind", row.id, type(exc).__name__)
            return SendError(f"looking for an earlier attempt failed: {type(exc).__name__}",
                             code=row.error_code, retryable=True)  # still uncertain
        if taken is not None:  # an earlier row's message with the same content
            return None
        log.info("outbox row %s: an earlier attempt arrived as %s; not sent again",
                 row.id, found.provider_id)
        return found

    async def _record(self, outcomes: Sequence[tuple[ClaimedReply, Receipt | SendError | None]]
                      ) -> list[DeliveryStatus | Unreachable]:
        """Record the outcomes in one transaction; returns the failures to report."""
        now = self._services.clock.now()
        reports: list[DeliveryStatus | Unreachable] = []
        metrics = self._services.metrics
        changes: list[tuple[int, dict[str, Any]]] = []
        async with self._services.db.session() as session:
            # The rows as they are now, locked; the updates go out as one executemany per
            # set of columns.
            ids = [claimed.id for claimed, _ in outcomes]
            rows = {row.id: row for row in await _current(session, ids)}
            for claimed, outcome in outcomes:
                row = rows.get(claimed.id)
                if row is None or row.status != "sending":
                    continue  # cancelled meanwhile, or a status callback already moved it
                channel = row.address.split(":", 1)[0]
                done: dict[str, Any] = {"updated_at": now, "lease_until": None}
                if outcome is None:  # not tried: an earlier row to the same recipient failed
                    changes.append((row.id, {**done, "status": "queued",
                                             "attempts": row.attempts - 1}))
                    continue
                if isinstance(outcome, Receipt):
                    metrics.replies_out.labels(channel).inc()
                    changes.append((row.id, {**done, **_forgotten(row.id, row.payload),
                                             "status": outcome.status,
                                             "provider_id": outcome.provider_id,
                                             "thread": outcome.thread}))
                    continue
                done.update(error_code=outcome.code, error=str(outcome)[:500])
                if outcome.retryable and row.attempts < MAX_ATTEMPTS:
                    delay = (timedelta(seconds=outcome.retry_after) if outcome.retry_after
                             else backoff(row.attempts))
                    changes.append((row.id, {**done, "status": "queued",
                                             "next_attempt_at": now + delay}))
                    metrics.send_failures.labels(channel, "no").inc()
                    continue
                metrics.send_failures.labels(channel, "yes").inc()
                log.warning("outbox row %s failed for good: %s", row.id, outcome.code)
                forgotten = _forgotten(row.id, row.payload)
                if not forgotten:
                    reports.append(_report_for(row, outcome, now))
                changes.append((row.id, {**done, **forgotten, "status": "failed"}))
            await write_columns(session, OutboxRow, changes)
        return reports


_NOW: BindParameter[datetime] = bindparam("now", type_=_OUTBOX.c.next_attempt_at.type)


def _due(row: Any) -> ColumnElement[bool]:
    """A row `row` (the table's columns, or an alias of the row class) that a claim takes
    if nothing holds it back: queued and its time come, or lost mid-send (lease over)."""
    return or_(and_(row.status == "queued", row.next_attempt_at <= _NOW),
               and_(row.status == "sending", row.lease_until < _NOW))


# Whether any row is due: asked before a claim (Database.may_find), on the due and lease
# indexes.
_ANY_DUE = Prepared(select(_OUTBOX.c.id).where(_due(_OUTBOX.c)).limit(1))

_CURRENT = select(_OUTBOX.c.id, _OUTBOX.c.status, _OUTBOX.c.address, _OUTBOX.c.kind,
                  _OUTBOX.c.payload, _OUTBOX.c.attempts, _OUTBOX.c.provider_id)
_ROWS_LOCKED = (_CURRENT
                .where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
                .with_for_update())


# One of them, on SQLite: read on the transaction's own connection (`inline_sql.py`).
_ROW_LOCKED = Prepared(
    _CURRENT.where(_OUTBOX.c.id == bindparam("id", type_=_OUTBOX.c.id.type))
    .with_for_update())


async def _current(session: AsyncSession, ids: Sequence[int]) -> list[_Current]:
    """The claimed rows as they are now, locked: one statement for all of them, or on
    SQLite one indexed read each on the transaction's connection, which costs less than
    one statement through the driver's thread."""
    if inline_connection(session) is None:
        return [_Current(*found)
                for found in (await session.execute(_ROWS_LOCKED, {"ids": ids})).all()]
    found = [await _ROW_LOCKED.first(session, {"id": row_id}) for row_id in ids]
    return [_Current(*row) for row in found if row is not None]


def _claim_statement(sqlite: bool) -> Update:
    """Claim due rows whose recipient has no earlier row holding them back, and return
    them: one UPDATE ... RETURNING, built once (`now` and `lease_until` are bound at
    execution). A row claimed while still `sending` lost its sender mid-send: its
    outcome is unknown (INTERRUPTED)."""
    now = _NOW
    lease: BindParameter[datetime] = bindparam("lease_until",
                                               type_=_OUTBOX.c.lease_until.type)
    candidate, earlier = aliased(OutboxRow, name="candidate"), aliased(OutboxRow, name="earlier")
    due = _due(candidate)
    if sqlite:
        # One sender per process: due rows of one recipient may go in one round (sent
        # in order); an earlier row in flight or waiting for a retry holds them back.
        waiting = or_(earlier.status == "sending",
                      and_(earlier.status == "queued", earlier.next_attempt_at > now))
    else:
        # Several processes: any earlier unsent row holds a recipient's rows back.
        waiting = earlier.status.in_(("queued", "sending"))
    blocked = exists().where(and_(
        earlier.address == candidate.address, earlier.id < candidate.id, waiting))
    ids = select(candidate.id).where(due, ~blocked).order_by(candidate.id).limit(BATCH)
    if not sqlite:
        ids = ids.with_for_update(skip_locked=True)
    return (update(_OUTBOX).where(_OUTBOX.c.id.in_(ids))
            .values(status="sending", lease_until=lease, attempts=_OUTBOX.c.attempts + 1,
                    updated_at=now,
                    error_code=case((_OUTBOX.c.status == "sending", INTERRUPTED),
                                    else_=_OUTBOX.c.error_code))
            .returning(_OUTBOX.c.id, _OUTBOX.c.address, _OUTBOX.c.kind, _OUTBOX.c.payload,
                       _OUTBOX.c.attempts, _OUTBOX.c.error_code, _OUTBOX.c.created_at))


def _report_for(row: _Current, error: SendError, now: datetime) -> DeliveryStatus | Unreachable:
    address = Address.parse(row.address)
    if error.unreachable:
        return Unreachable(id=f"unreachable:outbox-{row.id}", sender=address, received_at=now,
                           reason=error.code, outbox_id=row.id, raw={"kind": row.kind})
    return DeliveryStatus(id=f"failed:outbox-{row.id}", sender=address, received_at=now,
                          provider_message_id=row.provider_id or f"outbox-{row.id}",
                          status="failed", error_code=error.code, outbox_id=row.id,
                          raw={"kind": row.kind})


def _forgotten(row_id: int, payload: str) -> dict[str, Any]:
    """The columns that blank an ephemeral reply once it is done with (else none)."""
    try:
        ephemeral = loads_reply(payload).ephemeral
    except (ValueError, TypeError):
        return {}
    if not ephemeral:
        return {}
    return {"address": f"forgotten:{row_id}", "payload": FORGOTTEN_PAYLOAD, "error": ""}
