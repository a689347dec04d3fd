"""The storage contract: every test runs once on SQLite and once on PostgreSQL.

It proves what the durable inbox, the dispatcher, the outbox and the timers promise,
through the core's own classes on a real database: group commit de-duplicates, an event
is pending until handled and handled once, several "processes" (separate `Database`
objects) share the work without handling anything twice or out of order per sender, the
outbox sends one row at a time per address in order, retries, never moves a status
backwards and resends what a crash left `sending`, timers fire once at their time, and
the migrations apply from scratch and again without change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, update
from sqlalchemy import text as sql

from werkbot.bot.adapter import Receipt, SendError
from werkbot.bot.addresses import Address
from werkbot.bot.clock import FrozenClock, SystemClock
from werkbot.bot.context import Context
from werkbot.bot.dispatcher import BATCH
from werkbot.bot.events import DeliveryStatus, Event, TextEvent, TimerEvent
from werkbot.bot.inbox import InboxWriter
from werkbot.bot.outbox import MAX_ATTEMPTS, ClaimedReply, apply_status
from werkbot.bot.plugins import HandlerBundle
from werkbot.bot.replies import Reply, TextReply
from werkbot.bot.router import Router
from werkbot.bot.server import DISPATCHER, INBOX, OUTBOX
from werkbot.bot.storage.database import Database
from werkbot.bot.storage.migrate import alembic_config, upgrade
from werkbot.bot.storage.models import InboxRow, OutboxRow
from werkbot.bot.storage.repos import OutboxRepo
from werkbot.bot.testing import Harness, make_settings, text

ALICE = Address("whatsapp", "+491701111111")
BOB = Address("sms", "+491702222222")
START = "2026-12-02T10:00:00+01:00"


class Recorder:
    """A handler tree that records what it handled, replies, or schedules timers."""

    def __init__(self, name: str = "p1", replies: int = 1, pause: float = 0.0,
                 shared: list[tuple[str, str, str]] | None = None,
                 wait_for: asyncio.Event | None = None,
                 signal: asyncio.Event | None = None) -> None:
        self.name = name
        self.wait_for = wait_for  # the first handling waits (holding its row) for this
        self.signal = signal  # set once this recorder has handled something
        self.shared = shared if shared is not None else []
        self.replies = replies
        self.pause = pause
        self.handled: list[tuple[str, str, str]] = []  # (process, sender, event id)
        self.timers: list[str] = []
        self.router = Router(f"recorder-{name}")
        self.router.on(TextEvent)(self.on_text)
        self.router.on(TimerEvent)(self.on_timer)

    async def on_text(self, event: Event, ctx: Context) -> None:
        assert isinstance(event, TextEvent)
        if self.wait_for is not None and not self.handled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wait_for.wait(), 5)
        if self.pause:
            await asyncio.sleep(self.pause)  # let other dispatchers interleave
        self.handled.append((self.name, str(event.sender), event.id))
        self.shared.append(self.handled[-1])
        if self.signal is not None:
            self.signal.set()
        if event.text.startswith("timer "):
            _, key, minutes = event.text.split()
            scheduled = await ctx.timers.schedule(
                key, "ping", ctx.clock.now() + timedelta(minutes=int(minutes)), ctx.clock.now())
            await ctx.reply("scheduled" if scheduled else "already scheduled")
            return
        for n in range(self.replies):
            await ctx.reply(f"{event.text} #{n + 1}")

    async def on_timer(self, event: Event, ctx: Context) -> None:
        assert isinstance(event, TimerEvent)
        self.timers.append(event.id)


def harness(tmp_path: Path, db_url: str, recorder: Recorder,
            clock: FrozenClock | None = None) -> Harness:
    from datetime import datetime

    settings = make_settings(tmp_path, database={"url": db_url})
    return Harness(settings, HandlerBundle(router=recorder.router),
                   clock=clock or FrozenClock(datetime.fromisoformat(START)))


@pytest.fixture
async def one(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[Harness, Recorder]]:
    recorder = Recorder()
    async with harness(tmp_path, db_url, recorder) as h:
        yield h, recorder


async def count(h: Harness, model: type[InboxRow] | type[OutboxRow], **where: str) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    async with h.services.db.session() as session:
        return int(await session.scalar(query) or 0)


async def outbox_rows(h: Harness) -> list[OutboxRow]:
    async with h.services.db.session() as session:
        return list((await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all())


# ---------------------------------------------------------------- inbox and group commit


async def test_duplicates_within_one_batch_are_stored_once(one: tuple[Harness, Recorder]
                                                           ) -> None:
    h, _ = one
    first = text(ALICE, "a", event_id="whatsapp:SM-1")
    again = text(ALICE, "a again", event_id="whatsapp:SM-1")
    other = text(ALICE, "b", event_id="whatsapp:SM-2")
    assert await h.feed(first, again, other) == 2
    assert await count(h, InboxRow) == 2


async def test_duplicates_across_batches_are_stored_once(one: tuple[Harness, Recorder]
                                                         ) -> None:
    h, _ = one
    assert await h.feed(text(ALICE, "a", event_id="whatsapp:SM-1")) == 1
    assert await h.feed(text(ALICE, "a", event_id="whatsapp:SM-1")) == 0
    assert await h.feed(text(ALICE, "a", event_id="whatsapp:SM-1"),
                        text(ALICE, "b", event_id="whatsapp:SM-3")) == 1
    assert await count(h, InboxRow) == 2


async def test_concurrent_stores_are_grouped_and_deduplicated(one: tuple[Harness, Recorder]
                                                              ) -> None:
    h, _ = one
    writer = h.app[INBOX]
    commits: list[int] = []
    real_commit = writer._commit  # noqa: SLF001 - counts the group commits

    async def counting_commit(batch: list[object]) -> list[int]:
        commits.append(len(batch))
        return await real_commit(batch)  # type: ignore[arg-type]

    writer._commit = counting_commit  # type: ignore[method-assign]  # noqa: SLF001
    # 200 webhook requests at once; every id is sent by four requests (redeliveries).
    ids = [f"whatsapp:SM-{n % 50}" for n in range(200)]
    results = await asyncio.gather(*(h.feed(text(ALICE, "x", event_id=i)) for i in ids))
    assert sum(results) == 50  # each id counted as new exactly once
    assert await count(h, InboxRow) == 50
    assert sum(commits) == 200 and len(commits) < 200  # grouped: fewer commits than requests
    assert max(commits) > 1


async def test_an_event_is_pending_until_handled_and_handled_once(
        one: tuple[Harness, Recorder]) -> None:
    h, recorder = one
    assert await h.feed(text(ALICE, "hallo", event_id="whatsapp:SM-9")) == 1
    assert await count(h, InboxRow, status="pending") == 1
    assert recorder.handled == []
    await h.run()
    assert await count(h, InboxRow, status="done") == 1
    assert await count(h, InboxRow, status="pending") == 0
    assert await h.app[DISPATCHER].drain() == 0  # nothing due any more
    assert await h.feed(text(ALICE, "hallo", event_id="whatsapp:SM-9")) == 0  # redelivery
    await h.run()
    assert [e for _, _, e in recorder.handled] == ["whatsapp:SM-9"]
    assert [s.text for s in h.adapter("whatsapp").to(ALICE)] == ["hallo #1"]


async def test_a_handler_failure_rolls_back_its_effects(one: tuple[Harness, Recorder]) -> None:
    h, _ = one
    tree = Router("fails-once")
    calls: list[str] = []

    @tree.on(TextEvent)
    async def flaky(event: Event, ctx: Context) -> None:
        calls.append(event.id)
        await ctx.reply("queued in the failing transaction")
        if len(calls) == 1:
            raise RuntimeError("boom")

    h.app[DISPATCHER].root = tree
    await h.feed(text(ALICE, "x"))
    await h.run()
    # The batch went again at once, isolated, and the handler succeeded: one reply, the
    # second attempt's; the first attempt's was rolled back with it.
    assert len(calls) == 2
    assert await count(h, OutboxRow) == 1
    await h.advance(timedelta(seconds=3))
    assert len(calls) == 2
    assert len(h.adapter("whatsapp").to(ALICE)) == 1


# ---------------------------------------------------------------- several processes


@pytest.mark.parametrize("batch", [1, BATCH])
async def test_two_processes_handle_each_event_once_and_in_order_per_sender(
        tmp_path: Path, db_url: str, batch: int) -> None:
    order: list[tuple[str, str, str]] = []
    # With one-row claims on PostgreSQL, the first process holds its first row (locked, in
    # its open transaction) until the second has handled something: the second must find
    # other senders' work meanwhile. (A full batch claims every sender's next row at once.)
    share = batch == 1 and not db_url.startswith("sqlite")
    p2_handled = asyncio.Event() if share else None
    p1 = Recorder("p1", pause=0.002, shared=order, wait_for=p2_handled)
    p2 = Recorder("p2", pause=0.002, shared=order, signal=p2_handled)
    senders = [Address("whatsapp", f"+4917010000{n:02d}") for n in range(6)]
    async with AsyncExitStack() as stack:
        h1 = await stack.enter_async_context(harness(tmp_path, db_url, p1))
        h2 = await stack.enter_async_context(harness(tmp_path / "second", db_url, p2))
        assert h1.services.db is not h2.services.db
        events = [text(s, f"{n}", event_id=f"{s}:{n}") for n in range(15) for s in senders]
        await h1.feed(*events[::2])
        await h2.feed(*events[1::2])

        async def drain(h: Harness) -> None:
            while await h.app[DISPATCHER].handle_batch(batch):
                pass

        for _ in range(100):
            await asyncio.gather(*(drain(h) for h in (h1, h2, h1, h2)))
            if await count(h1, InboxRow, status="pending") == 0:
                break
        handled = p1.handled + p2.handled
        assert Counter(e for _, _, e in handled) == Counter(e.id for e in events)
        assert await count(h1, InboxRow, status="done") == len(events)
        per_sender: dict[str, list[int]] = defaultdict(list)
        for _, sender, event_id in order:  # the global order in which handlers ran
            per_sender[sender].append(int(event_id.rsplit(":", 1)[1]))
        for sender, numbers in per_sender.items():
            assert numbers == sorted(numbers), sender
        rows = await outbox_rows(h1)
        assert len(rows) == len(events)  # one reply each: no event's effects committed twice
        if share:
            assert p1.handled and p2.handled  # the work really was shared


# ---------------------------------------------------------------- outbox


async def test_outbox_sends_each_recipients_rows_in_order(
        tmp_path: Path, db_url: str) -> None:
    recorder = Recorder(replies=3)
    async with harness(tmp_path, db_url, recorder) as h:
        await h.feed(text(ALICE, "a"), text(BOB, "b"))
        await h.app[DISPATCHER].drain()
        # Queued, or already claimed for this process's sender by the batch that queued
        # them (handed over after its commit): nothing has gone out yet.
        assert (await count(h, OutboxRow, status="queued")
                + await count(h, OutboxRow, status="sending")) == 6
        assert h.all_sent() == []
        outbox = h.app[OUTBOX]
        rounds = [await outbox.send_due() for _ in range(4)]
        # SQLite has one sender per process: a recipient's due rows go in one round, one
        # after the other. On PostgreSQL several processes send: one row per recipient
        # per round, so no other process can overtake.
        assert rounds == ([6, 0, 0, 0] if db_url.startswith("sqlite") else [2, 2, 2, 0])
        assert [s.text for s in h.adapter("whatsapp").to(ALICE)] == ["a #1", "a #2", "a #3"]
        assert [s.text for s in h.adapter("sms").to(BOB)] == ["b #1", "b #2", "b #3"]
        assert {r.status for r in await outbox_rows(h)} == {"sent"}


@pytest.mark.parametrize("queued_by", ["this process", "another process"])
async def test_a_reply_queued_behind_one_in_flight_goes_out_once_that_is_recorded(
        tmp_path: Path, db_url: str, queued_by: str) -> None:
    """The customer writes again while the answer to their first message is being sent:
    the second answer waits for the first (order per recipient), then goes out at once,
    not a poll interval later. Also when another process queued it (PostgreSQL): that
    one wakes its own sender, not this one."""
    async with harness(tmp_path, db_url, Recorder()) as h:
        adapter = h.adapter("whatsapp")
        sending, release = asyncio.Event(), asyncio.Event()
        send = adapter.send

        async def first_one_slow(address: Address, reply: Reply) -> Receipt:
            if not sending.is_set():
                sending.set()
                await release.wait()
            return await send(address, reply)

        adapter.send = first_one_slow  # type: ignore[method-assign]
        worker = asyncio.create_task(h.app[OUTBOX].run(poll_seconds=60))
        try:
            await h.feed(text(ALICE, "a"))
            await h.app[DISPATCHER].drain()  # "a #1" queued, claimed and handed over
            await asyncio.wait_for(sending.wait(), 5)
            if queued_by == "this process":
                await h.feed(text(ALICE, "b"))
                await h.app[DISPATCHER].drain()
            else:
                async with h.services.db.session() as session:
                    await OutboxRepo(session).enqueue(ALICE, [TextReply(text="b #1")],
                                                      h.clock.now())
            assert await count(h, OutboxRow, status="queued") == 1  # "b #1" waits
            release.set()
            async with asyncio.timeout(5):  # a poll would take a minute
                while len(adapter.to(ALICE)) < 2:
                    await asyncio.sleep(0.01)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        assert [s.text for s in adapter.to(ALICE)] == ["a #1", "b #1"]


async def test_a_failing_row_blocks_later_rows_to_its_address_until_retried(
        tmp_path: Path, db_url: str) -> None:
    recorder = Recorder(replies=2)
    async with harness(tmp_path, db_url, recorder) as h:
        adapter = h.adapter("whatsapp")
        adapter.failures.append(SendError("busy", code="20429", retryable=True))
        await h.feed(text(ALICE, "a"))
        await h.run()
        assert adapter.to(ALICE) == []
        first, second = await outbox_rows(h)
        assert (first.status, first.attempts, first.error_code) == ("queued", 1, "20429")
        assert second.status == "queued" and second.attempts == 0  # waits behind the first
        await h.advance(timedelta(seconds=3))
        assert [s.text for s in adapter.to(ALICE)] == ["a #1", "a #2"]
        assert [r.status for r in await outbox_rows(h)] == ["sent", "sent"]


async def test_retryable_failures_give_up_after_max_attempts_and_are_reported(
        one: tuple[Harness, Recorder]) -> None:
    h, _ = one
    adapter = h.adapter("whatsapp")
    adapter.failures.extend(SendError("busy", code="503", retryable=True)
                            for _ in range(MAX_ATTEMPTS))
    await h.feed(text(ALICE, "a"))
    for _ in range(MAX_ATTEMPTS + 2):
        await h.advance(timedelta(minutes=11))
    (row,) = await outbox_rows(h)
    assert (row.status, row.attempts, row.error_code) == ("failed", MAX_ATTEMPTS, "503")
    assert adapter.to(ALICE) == []
    assert await count(h, InboxRow, kind="DeliveryStatus", status="done") == 1


async def test_status_is_monotonic(one: tuple[Harness, Recorder]) -> None:
    h, _ = one
    await h.feed(text(ALICE, "a"))
    await h.run()
    (row,) = await outbox_rows(h)
    assert row.provider_id
    now = h.clock.now()
    steps = [("delivered", True), ("sent", False), ("read", True), ("delivered", False),
             ("failed", False), ("queued", False), ("no-such-status", False)]
    for n, (status, moves) in enumerate(steps):
        event = DeliveryStatus(id=f"st:{n}", sender=ALICE, received_at=now,
                               provider_message_id=row.provider_id, status=status,
                               error_code="30008" if status == "failed" else "")
        async with h.services.db.session() as session:
            assert await apply_status(session, event, now) is moves, status
    unknown = DeliveryStatus(id="st:x", sender=ALICE, received_at=now,
                             provider_message_id="SM-unknown", status="read")
    async with h.services.db.session() as session:
        assert await apply_status(session, unknown, now) is None
    (row,) = await outbox_rows(h)
    assert row.status == "read" and row.error_code == ""


async def _crash_mid_send(h: Harness) -> ClaimedReply:
    """Leave a row as a crashed process would: `sending`, with a lease, never recorded."""
    await h.feed(text(ALICE, "a"))
    await h.app[DISPATCHER].drain()
    # The batch that queued the reply claimed it for this process's sender, which dies
    # before sending it.
    outbox = h.app[OUTBOX]
    (claimed,), outbox._handed = outbox._handed, []  # noqa: SLF001 - the sender dies
    (row,) = await outbox_rows(h)
    assert row.status == "sending" and row.lease_until is not None
    assert claimed.id == row.id
    return claimed


async def test_a_sending_row_whose_lease_ran_out_is_sent_again(
        one: tuple[Harness, Recorder]) -> None:
    h, _ = one
    await _crash_mid_send(h)
    adapter = h.adapter("whatsapp")
    assert await h.app[OUTBOX].send_due() == 0  # another process may still be sending it
    h.clock.advance(timedelta(minutes=3))
    assert await h.app[OUTBOX].send_due() == 1
    (row,) = await outbox_rows(h)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(adapter.to(ALICE)) == 1


async def test_recovery_at_start_requeues_sending_rows_on_sqlite_only(
        tmp_path: Path, db_url: str) -> None:
    recorder = Recorder()
    async with harness(tmp_path, db_url, recorder) as h:
        await _crash_mid_send(h)
    # A restart: a new process (new Database) on the same database, same time.
    async with harness(tmp_path, db_url, recorder) as h:
        (row,) = await outbox_rows(h)
        if db_url.startswith("sqlite"):
            # One process owns an SQLite queue: what it left `sending` goes again at once.
            assert row.status == "queued" and row.lease_until is None
            assert await h.app[OUTBOX].send_due() == 1
            assert len(h.adapter("whatsapp").to(ALICE)) == 1
        else:
            # On PostgreSQL another process may hold it: only the lease decides.
            assert row.status == "sending"
            assert await h.app[OUTBOX].send_due() == 0
            h.clock.advance(timedelta(minutes=3))
            assert await h.app[OUTBOX].send_due() == 1
        (row,) = await outbox_rows(h)
        assert row.status == "sent"


# ---------------------------------------------------------------- timers


async def test_a_durable_timer_fires_once_at_its_time(one: tuple[Harness, Recorder]) -> None:
    h, recorder = one
    await h.feed(text(ALICE, "timer remind-1 10"))
    await h.run()
    await h.feed(text(ALICE, "timer remind-1 10"))  # the same key again: not scheduled twice
    await h.run()
    assert [s.text for s in h.adapter("whatsapp").to(ALICE)] == ["scheduled",
                                                                 "already scheduled"]
    await h.advance(timedelta(minutes=9, seconds=59))
    assert recorder.timers == []
    assert await count(h, InboxRow, kind="TimerEvent", status="pending") == 1
    await h.advance(timedelta(seconds=1))
    assert recorder.timers == ["timer:remind-1"]
    await h.advance(timedelta(hours=1))
    assert recorder.timers == ["timer:remind-1"]
    assert await count(h, InboxRow, kind="TimerEvent", status="done") == 1


async def test_a_timer_survives_a_restart(tmp_path: Path, db_url: str) -> None:
    recorder = Recorder()
    async with harness(tmp_path, db_url, recorder) as h:
        await h.feed(text(ALICE, "timer later 30"))
        await h.run()
        clock = h.clock
    clock.advance(timedelta(minutes=31))
    async with harness(tmp_path, db_url, recorder, clock=clock) as h:
        await h.run()
        assert recorder.timers == ["timer:later"]


# ---------------------------------------------------------------- the writer alone


async def test_the_inbox_writer_refuses_to_store_when_not_running(tmp_path: Path,
                                                                  db_url: str) -> None:
    from werkbot.bot.metrics import Metrics

    await asyncio.to_thread(upgrade, db_url)
    db = Database(db_url)
    try:
        writer = InboxWriter(db, SystemClock(), Metrics(), lambda: None)
        with pytest.raises(RuntimeError):
            await writer.store([text(ALICE, "x")])
        assert await writer.store([]) == 0
    finally:
        await db.close()


async def test_a_webhook_after_the_inbox_connection_died_is_stored_at_once(
        tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL ended the inbox's connection (a restart, an admin): the next store
    reconnects and succeeds, instead of failing the webhook once. (PostgreSQL only:
    SQLite has no server to end a connection.)"""
    async with harness(tmp_path, pg_url, Recorder()) as h:
        assert await h.feed(text(ALICE, "a", event_id="whatsapp:SM-1")) == 1
        async with h.services.db.session() as session:
            ended = await session.scalar(sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        assert ended
        first_try = text(ALICE, "b", event_id="whatsapp:SM-2")
        assert await h.feed(first_try) == 1
        assert await h.feed(first_try) == 0  # still de-duplicated on the new connection
        async with h.services.db.session() as session:
            row = await session.scalar(
                select(InboxRow).where(InboxRow.dedup_key == "whatsapp:SM-2"))
    assert row is not None and row.status == "pending" and row.sender == str(ALICE)
    assert row.available_at.tzinfo is not None


# ---------------------------------------------------------------- migrations


def test_migrations_apply_from_scratch_and_again_without_change(db_url: str) -> None:
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(db_url)).get_heads())
    upgrade(db_url)
    first = _schema(db_url)
    assert {"inbox", "outbox", "persons", "addresses", "conversation_states", "media",
            "audit", "kv"} <= set(first["tables"])
    assert set(first["version"]) == heads
    upgrade(db_url)  # idempotent: nothing to do, nothing changes
    assert _schema(db_url) == first


def _schema(url: str) -> dict[str, list[str]]:
    async def read() -> dict[str, list[str]]:
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                def describe(sync_conn: object) -> dict[str, list[str]]:
                    insp = inspect(sync_conn)
                    tables = sorted(insp.get_table_names())
                    columns = [f"{t}.{c['name']}" for t in tables for c in insp.get_columns(t)]
                    indexes = [f"{t}:{i['name']}" for t in tables for i in insp.get_indexes(t)]
                    return {"tables": tables, "columns": columns, "indexes": sorted(indexes)}

                found = await conn.run_sync(describe)
                versions = (await conn.execute(sql("SELECT version_num FROM alembic_version"))
                            ).scalars().all()
                found["version"] = sorted(versions)
                return found
        finally:
            await db.close()

    return asyncio.run(read())


async def test_handled_rows_are_not_claimed_again_after_a_manual_reset_of_others(
        one: tuple[Harness, Recorder]) -> None:
    """A row marked `done` stays done: the claim only ever picks `pending` rows."""
    h, recorder = one
    await h.feed(text(ALICE, "a"), text(ALICE, "b"))
    await h.run()
    async with h.services.db.session() as session:
        await session.execute(update(InboxRow).values(available_at=h.clock.now()))
    assert await h.app[DISPATCHER].drain() == 0
    assert len(recorder.handled) == 2


async def test_replies_claimed_but_not_begun_are_queued_again_on_shutdown(
        tmp_path: Path, db_url: str) -> None:
    recorder = Recorder()
    async with harness(tmp_path, db_url, recorder) as h:
        await h.feed(text(ALICE, "a"))
        await h.app[DISPATCHER].drain()  # claimed with its batch, handed to the sender
    # The process stopped (SIGTERM) before its sender took the row: nothing was attempted,
    # so the row is plainly queued again, not left for a lease or a provider lookup.
    async with harness(tmp_path, db_url, recorder) as h:
        (row,) = await outbox_rows(h)
        assert (row.status, row.attempts, row.lease_until) == ("queued", 0, None)
        assert not row.error_code  # not "interrupted": no provider lookup before sending
        assert await h.app[OUTBOX].send_due() == 1
        assert len(h.adapter("whatsapp").to(ALICE)) == 1
