"""The dispatcher: claims due inbox rows and runs each through the router tree.

Events are handled in batches, one transaction per batch (few commits under load). An
event's effects (state, outbox rows, timers, ledger entries) commit together with
marking it handled, or not at all: a crash half-way leaves the rows pending and they
are handled again, once. A batch first runs without savepoints (the common case: one
flush and one commit for all of it); if any handler raises, the whole batch is rolled
back and handled again with a savepoint per event, so the failing event alone is rolled
back, its error recorded and the event retried with backoff, then marked failed
(visible in metrics and the row). Flood verdicts and metrics are kept from the first
pass, so a batch handled twice counts once. On PostgreSQL rows
are claimed `FOR UPDATE SKIP LOCKED`, in order per sender, so processes share the work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import BindParameter, Select, Table, and_, bindparam, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from werkbot.bot.codec import CodecError, loads_event
from werkbot.bot.context import Context
from werkbot.bot.events import (
    ChoiceEvent,
    DeliveryStatus,
    Event,
    TextEvent,
    TimerEvent,
    Unreachable,
)
from werkbot.bot.flood import RELEASE_TIMER, FloodGuard, Verdict, window_end
from werkbot.bot.identity import person_for_new_address
from werkbot.bot.logs import correlation
from werkbot.bot.outbox import ClaimedReply, OutboxSender, apply_status
from werkbot.bot.pressure import Pressure
from werkbot.bot.replies import TextReply
from werkbot.bot.router import Router
from werkbot.bot.services import Services
from werkbot.bot.storage.inline_sql import Prepared
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.storage.repos import deleted_inbox_rows, numbered_choice
from werkbot.bot.storage.row_writes import set_columns
from werkbot.bot.worker import WorkerLoop

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
SYSTEM_CHANNELS = frozenset({"timer", "system"})
STATUS_RETRY = timedelta(seconds=5)
BATCH = 32
# How long a webhook waits, at most, for a batch to make way before it is stored (plus
# the event being handled then). Stored is what its acknowledgement waits for; handled
# it is in turn either way, so cutting batches sooner only makes each event dearer.
STORE_BUDGET = 0.005  # seconds; each dispatcher's own `store_budget` starts from it
# The same during a burst of webhooks, when one always waits: long enough for a few events
# per batch (each batch costs a claim and a commit), short enough that an acknowledgement
# never waits long for a batch (bench/README.md).
BURST_STORE_BUDGET = 0.02  # seconds


class StatusTooEarly(Exception):
    """A provider's status for a message whose send werkbot has not recorded yet."""


class StatusStale(Exception):
    """A provider's status older than what werkbot recorded: ignored once, not retried."""


class _HandlerRaised(Exception):
    """A handler raised in a batch without savepoints: the batch goes again, isolated."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(slots=True)
class _Claimed:
    """A claimed inbox row: what handling reads, and its outcome, written for the whole
    batch at its end (`_settle`: one statement, not an ORM object and an UPDATE each)."""

    id: int
    payload: str
    attempts: int
    error: str
    available_at: datetime
    created_at: datetime
    status: str = "pending"
    handled_at: datetime | None = None
    settled: bool = False  # an outcome to write

    def settle(self, status: str, now: datetime, error: str | None = None) -> None:
        self.status, self.handled_at, self.settled = status, now, True
        if error is not None:
            self.error = error

    def again(self, at: datetime, error: str | None = None) -> None:
        """Not handled now: due again at `at`, one attempt more."""
        self.attempts, self.available_at, self.settled = self.attempts + 1, at, True
        if error is not None:
            self.error = error


_INBOX = cast(Table, InboxRow.__table__)
_CLAIMED_COLUMNS = (_INBOX.c.id, _INBOX.c.payload, _INBOX.c.attempts, _INBOX.c.error,
                    _INBOX.c.available_at, _INBOX.c.created_at)
_NOW: BindParameter[datetime] = bindparam("now", type_=InboxRow.available_at.type)
# What a claim takes (`now` bound at execution), on the due index.
_DUE = and_(InboxRow.status == "pending", InboxRow.available_at <= _NOW)
# Whether any row is due: asked before a claim (Database.may_find).
_ANY_DUE = Prepared(select(InboxRow.id).where(_DUE).limit(1))
_OUTCOME = ("status", "handled_at", "attempts", "available_at", "error")
_SETTLE = Prepared(update(_INBOX).where(_INBOX.c.id == bindparam("row_id")).values(
    {name: bindparam(f"v_{name}", type_=_INBOX.c[name].type) for name in _OUTCOME}))


async def _settle(session: AsyncSession, rows: list[_Claimed]) -> None:
    """Write the outcome of every row the batch handled, in one statement."""
    await _SETTLE.run_many(session, [
        {"row_id": row.id, **{f"v_{name}": getattr(row, name) for name in _OUTCOME}}
        for row in rows if row.settled])


@dataclass
class _Batch:
    """What one batch leaves for after its commit, and what a second pass must reuse."""

    verdicts: dict[int, Verdict] = field(default_factory=dict)  # per inbox row id
    latencies: list[float] = field(default_factory=list)
    throttled: int = 0
    queued_sends: bool = False
    claimed: list[ClaimedReply] = field(default_factory=list)  # replies for the sender

    def retry(self) -> None:
        """Forget the rolled-back pass's effects; keep its flood verdicts."""
        self.latencies.clear()
        self.throttled = 0
        self.queued_sends = False
        self.claimed = []


class Dispatcher:
    """Handles stored events in batches, one transaction per batch (and a savepoint per
    event only when a batch goes again because a handler raised)."""

    def __init__(self, services: Services, root: Router, *, pressure: Pressure,
                 unthrottled: Callable[[Event, Context], bool] | None = None) -> None:
        self.services = services
        self.pressure = pressure  # the server's: webhooks in flight, shared with the outbox
        self.store_budget = STORE_BUDGET
        self.burst_store_budget = BURST_STORE_BUDGET
        self.root = root
        self.worker = WorkerLoop("dispatcher", self.handle_batch, pressure)
        self.wake = self.worker.wake
        self.flood = FloodGuard(services.settings.server.flood_per_minute)
        self.unthrottled = unthrottled  # what flood protection never holds back
        self._claims: dict[int, Prepared] = {}
        # The sender of this process: replies queued by a batch are claimed in the same
        # transaction and handed to it after the commit (None: it claims them itself).
        self.outbox: OutboxSender | None = None

    async def run(self, poll_seconds: float = 0.5) -> None:
        """Handle due rows until cancelled (bot/worker.py: wake-ups, polling, retries)."""
        await self.worker.run(poll_seconds)

    async def drain(self) -> int:
        """Handle everything due now (tests and scripted scenarios); returns the count."""
        return await self.worker.drain()

    async def handle_batch(self, limit: int = BATCH) -> int:
        """Handle up to `limit` due rows in one transaction (one commit for all of them).

        Without savepoints first; if a handler raises, the batch is rolled back and
        handled again with one savepoint per event: the event that raises is rolled back
        alone and recorded for retry while the others commit. A crash loses the whole
        uncommitted batch, which is then handled again, still once. No transaction is
        opened when a read of what is committed finds nothing due (`Database.may_find`).
        """
        services = self.services
        if not services.db.may_find(_ANY_DUE, {"now": services.clock.now()}):
            self.pressure.behind = False  # as an empty claim would have told
            return 0
        batch = _Batch()
        try:
            handled = await self._handle_batch(limit, batch, isolated=False)
        except _HandlerRaised as raised:
            log.info("a handler raised (%s); handling the batch again event by event",
                     raised.error)
            batch.retry()
            handled = await self._handle_batch(limit, batch, isolated=True)
        metrics = services.metrics
        for seconds in batch.latencies:
            metrics.handling_seconds.observe(seconds)
        for _ in range(batch.throttled):
            metrics.throttled.inc()
        if batch.claimed and self.outbox is not None:
            self.outbox.hand(batch.claimed)
        elif batch.queued_sends:
            services.wake_outbox()
        return handled

    async def _handle_batch(self, limit: int, batch: _Batch, *, isolated: bool) -> int:
        services = self.services
        now = services.clock.now()
        async with services.db.session() as session:
            rows = [_Claimed(*found) for found in await self._claim_query(limit).all(
                session, {"now": now})]
            self.pressure.behind = len(rows) >= limit
            # Isolated at once when one failed before (and will likely fail again). Not
            # a lone event: a savepoint costs it the inline statements (inline_sql.py),
            # and if its handler raises, it goes again isolated like any batch.
            isolated = isolated or any(row.attempts for row in rows)
            handled = 0
            for row in rows:
                with correlation(f"in-{row.id}"):
                    await self._handle_row(session, row, now, batch, isolated)
                handled += 1
                # SQLite runs inline on the loop: between events let webhooks be parsed;
                # once one has waited its budget to be stored, commit what is done and
                # let it in. Not at once: a steady stream always has one waiting, and
                # batches of one or two cost so much per event that a backlog grows
                # instead of shrinking. During a burst the budget is longer (one always
                # waits) and the pause after the batch makes room for the rest.
                await asyncio.sleep(0)
                if self._yield_now():
                    break
            await _settle(session, rows)
            if batch.queued_sends and self.outbox is not None:
                batch.claimed = await self.outbox.claim_in(session)
        return handled

    def _yield_now(self) -> bool:
        waited = self.services.db.urgent_waited()
        if waited is None:
            return False
        return waited >= (self.burst_store_budget if self.pressure.bursting
                          else self.store_budget)

    async def _handle_row(self, session: AsyncSession, row: _Claimed, now: datetime,
                          batch: _Batch, isolated: bool) -> None:
        """Handle one claimed row inside the batch.

        `isolated`: inside a savepoint of its own, a raising handler recorded for retry;
        otherwise a raising handler raises `_HandlerRaised` (the batch goes again).
        """
        if row.id in deleted_inbox_rows(session):  # an erasure earlier in the batch
            log.info("inbox row %s was deleted before its turn; not handled", row.id)
            return
        try:
            event = loads_event(row.payload)
        except (CodecError, ValueError, TypeError) as exc:
            log.error("inbox row %s does not decode: %s", row.id, type(exc).__name__)
            row.settle("failed", now, error="undecodable")
            return
        ctx = Context.begin(self.services, session, event, inbox_id=row.id)
        try:
            if isolated:
                async with session.begin_nested():
                    await self._handle_event(ctx, row, batch, now)
            else:
                await self._handle_event(ctx, row, batch, now)
        except StatusStale:  # raised before the event changed anything
            row.settle("done", now, error="stale status")
            return
        except StatusTooEarly:  # raised before the event changed anything
            row.again(now + STATUS_RETRY)
            if row.attempts >= MAX_ATTEMPTS:
                row.settle("done", now, error="no such message")
            return
        except Exception as exc:  # recorded and retried, never lost
            if not isolated:
                raise _HandlerRaised(type(exc).__name__) from exc
            self._record_failure(row, exc)
            return
        batch.queued_sends |= bool(ctx.sent)
        if row.status == "throttled":
            return
        row.settle("done", now)
        batch.latencies.append(max(0.0, (now - row.created_at).total_seconds()))

    async def _handle_event(self, ctx: Context, row: _Claimed, batch: _Batch,
                            now: datetime) -> None:
        ctx = await self._prepare(ctx)
        verdict = batch.verdicts.get(row.id)
        if verdict is None:  # decided once per event, even if the batch goes twice
            verdict = batch.verdicts[row.id] = self._flood_verdict(ctx)
        if verdict is not Verdict.HANDLE:
            await self._throttle(ctx, row, verdict, batch)
            return
        await self._dispatch(ctx.event, ctx)
        scope = ctx.scope  # a handler may have moved the state to another person (a join)
        if scope.state_owner is not None and (scope.state or not ctx.is_new):
            await ctx.states.save(scope.state_owner, scope.state, now, stored=scope.stored_state)

    def _flood_verdict(self, ctx: Context) -> Verdict:
        """Throttle only a customer's own messages: not staff, system events, what the
        bundle marks unthrottled (emergencies), nor group messages (those are handled by
        keeping nothing, which costs less than holding them)."""
        event = ctx.event
        if (ctx.person is None or ctx.person.kind == "staff" or event.actor is not None
                or isinstance(event, DeliveryStatus | Unreachable | TimerEvent)
                or (self.unthrottled is not None and self.unthrottled(event, ctx))):
            return Verdict.HANDLE
        return self.flood.check(str(event.sender), ctx.clock.now())

    async def _throttle(self, ctx: Context, row: _Claimed, verdict: Verdict,
                        batch: _Batch) -> None:
        """Stored, not handled; the sender hears about it once per window, and a timer at
        the window's end hands on what was held back."""
        row.settle("throttled", ctx.clock.now(), error="flood")
        batch.throttled += 1
        if ctx.person is not None:  # one release per person and window: nothing is lost
            number, end = window_end(ctx.clock.now(), self.flood.window)
            await ctx.timers.schedule(f"{RELEASE_TIMER}:{ctx.person.id}:{number}",
                                      RELEASE_TIMER, end, ctx.clock.now(),
                                      {"person": ctx.person.id})
        if verdict is Verdict.THROTTLE_AND_TELL:
            log.warning("sender %s throttled", ctx.event.sender.masked())
            await ctx.reply(TextReply(kind="flood_notice", text=ctx.t("flood.notice")))

    def _claim_query(self, limit: int) -> Prepared:
        """The claim statement, built once per limit: building it (an aliased table, a
        dozen operators) cost more than running it. `now` is bound at execution."""
        found = self._claims.get(limit)
        if found is not None:
            return found
        query: Select[Any] = (
            select(*_CLAIMED_COLUMNS)
            .where(_DUE)
            .order_by(InboxRow.id)
            .limit(limit)
        )
        if not self.services.db.is_sqlite:
            earlier = aliased(InboxRow)
            query = query.where(~exists().where(and_(
                earlier.sender == InboxRow.sender, earlier.status == "pending",
                earlier.available_at <= _NOW, earlier.id < InboxRow.id,
            ))).with_for_update(skip_locked=True)
        prepared = self._claims[limit] = Prepared(query)
        return prepared

    def _record_failure(self, row: _Claimed, exc: Exception) -> None:
        self.services.metrics.handler_errors.inc()
        now = self.services.clock.now()
        row.again(now + timedelta(seconds=2 ** (row.attempts + 1)), error=type(exc).__name__)
        if row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"  # given up: not due again, visible in the row and metrics
            log.error("event %s failed %d times; giving up", row.id, row.attempts,
                      exc_info=exc)
        else:
            log.warning("event %s failed (attempt %d); retrying", row.id, row.attempts,
                        exc_info=exc)

    async def _prepare(self, ctx: Context) -> Context:
        """Resolve the sender to a person, keep their address fresh, lock and load state;
        the context for the handler."""
        event, now = ctx.event, ctx.clock.now()
        if event.sender.channel in SYSTEM_CHANNELS:
            return ctx.for_sender(None, event.sender, None)
        # A provider's report moves the outbox row; the outbox's own (`outbox_id`) did already.
        if isinstance(event, DeliveryStatus) and event.outbox_id is None:
            moved = await apply_status(ctx.tx, event, now)
            if moved is None:
                # The callback can overtake our own record of the send; look again shortly.
                raise StatusTooEarly(event.provider_message_id)
            if not moved:  # queued, sent or delivered after read: nothing to do, ever
                raise StatusStale(event.provider_message_id)
        who = event.actor or event.sender  # in a group, the person is who wrote, not the group
        # Earlier events' pending changes flush together at the commit, not here: persons
        # and addresses are flushed when created, and a loaded row is the session's own.
        with ctx.tx.no_autoflush:
            found = await ctx.people.by_address(who)
        is_new = False
        if found is None:
            # A group member werkbot does not know stays unknown: groups are not
            # customers, and nothing about their members is stored.
            if isinstance(event, DeliveryStatus | Unreachable) or event.actor is not None:
                return ctx.for_sender(None, event.sender, None)
            linked = await person_for_new_address(ctx.tx, who, now)
            if linked is not None:  # the same phone number on the other phone channel
                person, address_row = linked
            else:
                person, address_row = await ctx.people.create_customer(
                    who, now, language=ctx.settings.business.language)
                is_new = True
        else:
            person, address_row = found
        if event.actor is not None:  # a known person writing in a group: their own
            await ctx.take_state_of(person.id)  # chat stays as it was
            return ctx.for_sender(person, event.sender, None)
        ctx = ctx.for_sender(person, event.sender, address_row, is_new=is_new)
        if isinstance(event, Unreachable):
            set_columns(ctx.tx, address_row, unreachable_at=now)
        elif isinstance(event, DeliveryStatus) and event.window_closed:
            # The provider says so: templates from now on.
            set_columns(ctx.tx, address_row, window_until=None)
        elif not isinstance(event, DeliveryStatus):
            caps = ctx.capabilities(event.sender.channel)
            if caps is not None and caps.window_hours:
                set_columns(ctx.tx, address_row, last_seen_at=now, unreachable_at=None,
                            window_until=now + timedelta(hours=caps.window_hours))
            else:
                set_columns(ctx.tx, address_row, last_seen_at=now, unreachable_at=None)
        if is_new:
            ctx.scope.own_state(person.id, None)
        else:
            await ctx.take_state_of(person.id)
        if isinstance(event, TextEvent):
            value = await numbered_choice(ctx.tx, event.sender, event.text)
            if value is not None:  # '2' on a channel without buttons means the second choice
                return ctx.for_event(ChoiceEvent(
                    id=event.id, sender=event.sender, received_at=event.received_at,
                    sender_name=event.sender_name, reply_to=event.reply_to,
                    thread=event.thread, actor=event.actor, raw=event.raw,
                    value=value, label=event.text))
        return ctx

    async def _dispatch(self, event: Event, ctx: Context) -> None:
        match = await self.root.resolve(event, ctx)
        if match is None:
            if not isinstance(event, TimerEvent | DeliveryStatus):
                log.info("no handler for %s", type(event).__name__)
            return
        started = time.perf_counter()
        await match.handler(event, ctx.with_match(match.values))
        log.debug("%s handled in %.1f ms", match.router, (time.perf_counter() - started) * 1e3)
