"""A batch runs without savepoints; when one handler raises, the batch goes again isolated.

What a user notices: the others in the batch get their answer exactly once, the failing
event is retried on its own, and nobody is throttled because their messages were
counted twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import menu_bundle
from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.dispatcher import Dispatcher
from werkbot.bot.events import Event, TextEvent
from werkbot.bot.flood import FloodGuard
from werkbot.bot.router import Router
from werkbot.bot.server import DISPATCHER
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.testing import Harness, make_settings, text

ANNA = Address("whatsapp", "+491701111111")
BERT = Address("sms", "+491702222222")
CARL = Address("whatsapp", "+491703333333")


@pytest.fixture
async def harness(db_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    """On SQLite and on PostgreSQL (where an error aborts the whole transaction)."""
    async with Harness(make_settings(tmp_path, database={"url": db_url}), menu_bundle()) as h:
        yield h


def echo_unless_boom(dispatcher: Dispatcher) -> list[str]:
    """Every text is answered with 'ok: <text>'; 'boom' makes the handler raise."""
    calls: list[str] = []

    async def handler(event: Event, ctx: Context) -> None:
        assert isinstance(event, TextEvent)
        calls.append(event.text)
        await ctx.reply(f"ok: {event.text}")
        ctx.state["seen"] = int(ctx.state.get("seen", 0)) + 1
        if event.text == "boom":
            raise RuntimeError("boom")

    tree = Router("echo")
    tree.on(TextEvent)(handler)
    dispatcher.root = tree
    return calls


async def test_one_raising_handler_costs_the_others_nothing(harness: Harness) -> None:
    dispatcher = harness.app[DISPATCHER]
    calls = echo_unless_boom(dispatcher)
    dispatcher.flood = FloodGuard(2)  # Anna's two messages are exactly the limit
    now = harness.clock.now()
    await harness.feed(text(ANNA, "eins", at=now), text(BERT, "hallo", at=now),
                       text(CARL, "boom", at=now), text(ANNA, "zwei", at=now))
    await harness.run()

    # The first pass ran all four and was rolled back; the second ran them one by one.
    assert calls.count("eins") == 2 and calls.count("boom") == 2
    assert [s.text for s in harness.adapter("whatsapp").to(ANNA)] == ["ok: eins", "ok: zwei"]
    assert [s.text for s in harness.adapter("sms").to(BERT)] == ["ok: hallo"]
    assert harness.adapter("whatsapp").to(CARL) == []  # its reply was rolled back with it
    async with harness.services.db.session() as session:
        rows = {r.dedup_key: r for r in (await session.scalars(select(InboxRow))).all()}
    statuses = sorted((r.status, r.attempts) for r in rows.values())
    assert statuses == [("done", 0), ("done", 0), ("done", 0), ("pending", 1)]

    # Counted once per event, not once per pass: only a third message is one too many.
    assert [s.reply.kind for s in await harness.say(ANNA, "drei")] == ["flood_notice"]
    await harness.advance(timedelta(minutes=2))  # flood window over; Carl's retry is due
    assert [s.text for s in await harness.say(ANNA, "vier")] == ["ok: vier"]
    assert calls.count("boom") == 3  # a retry goes isolated at once, and fails again


async def test_state_written_in_a_rolled_back_pass_is_not_kept(harness: Harness) -> None:
    dispatcher = harness.app[DISPATCHER]
    seen: list[tuple[str, int]] = []  # (text, the counter the handler found)

    async def count(event: Event, ctx: Context) -> None:
        assert isinstance(event, TextEvent)
        seen.append((event.text, int(ctx.state.get("n", 0))))
        ctx.state["n"] = seen[-1][1] + 1
        if event.text == "boom":
            raise RuntimeError("boom")

    tree = Router("count")
    tree.on(TextEvent)(count)
    dispatcher.root = tree
    now = harness.clock.now()
    await harness.feed(text(ANNA, "a", at=now), text(ANNA, "b", at=now),
                       text(BERT, "boom", at=now))
    await harness.app[DISPATCHER].drain()
    await harness.feed(text(ANNA, "c", at=now))
    await harness.app[DISPATCHER].drain()
    # Some events ran twice (the rolled-back pass, then isolated); what each finally saw
    # counts Anna's handled messages exactly once, and Bert's failure left nothing.
    last = dict(seen)
    assert (last["a"], last["b"], last["c"]) == (0, 1, 2)
    assert {n for t, n in seen if t == "boom"} == {0}
    assert len(seen) > 4  # the batch did go twice
