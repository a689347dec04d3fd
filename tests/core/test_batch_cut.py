"""A batch makes way for webhooks waiting to be stored, after their budget, not at once.

On SQLite a batch holds the one writer, so a webhook's acknowledgement waits for it.
Cutting the batch as soon as one waits made batches of one or two under a steady stream:
each event then cost several times as much, and a backlog grew instead of shrinking.
During a burst of webhooks one always waits, so the budget is longer there: a batch still
makes way within it (an acknowledgement never waits for a whole batch of first contacts),
but not after every event. And the dispatcher counts as behind (so handling may pause
for a burst of webhooks) only when its claim finds a whole batch due.
"""

from __future__ import annotations

import asyncio

import pytest

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import Event, TextEvent
from werkbot.bot.router import Router
from werkbot.bot.server import DISPATCHER
from werkbot.bot.testing import Harness, text

CUSTOMERS = [Address("whatsapp", f"+4917012345{n:02d}") for n in range(5)]


def _webhook_waiting_during_the_first_event(h: Harness, stored: list[str]) -> list[str]:
    """Handles events; while the first runs, a webhook starts waiting for the writer."""
    handled: list[str] = []
    tree = Router("records")

    async def store_webhook() -> None:
        async with h.services.db.write_turn(urgent=True):
            stored.append(f"webhook after {len(handled)}")

    @tree.on(TextEvent)
    async def record(event: Event, ctx: Context) -> None:
        handled.append(event.id)
        if len(handled) == 1:
            asyncio.get_running_loop().create_task(store_webhook())
            await asyncio.sleep(0)  # it queues for the writer the batch holds
            assert h.services.db.urgent_waited() is not None

    h.app[DISPATCHER].root = tree
    return handled


async def _feed_all(h: Harness) -> None:
    await h.run()  # what start-up scheduled (timers) first
    await h.feed(*(text(c, "hallo", at=h.clock.now()) for c in CUSTOMERS))


async def test_a_webhook_within_its_budget_waits_for_the_batch(
        harness: Harness) -> None:
    harness.app[DISPATCHER].store_budget = 3600.0
    stored: list[str] = []
    handled = _webhook_waiting_during_the_first_event(harness, stored)
    await _feed_all(harness)
    assert await harness.app[DISPATCHER].handle_batch() == len(CUSTOMERS)
    await asyncio.sleep(0)
    assert stored == [f"webhook after {len(CUSTOMERS)}"]  # then it got the writer
    assert len(handled) == len(CUSTOMERS)


async def test_a_webhook_past_its_budget_gets_the_writer_before_the_rest(
        harness: Harness) -> None:
    harness.app[DISPATCHER].store_budget = 0.0
    stored: list[str] = []
    _webhook_waiting_during_the_first_event(harness, stored)
    await _feed_all(harness)
    assert await harness.app[DISPATCHER].handle_batch() == 1  # committed what was done
    await asyncio.sleep(0)
    assert stored == ["webhook after 1"]
    assert await harness.app[DISPATCHER].drain() == len(CUSTOMERS) - 1  # the rest, in turn


async def test_nothing_waiting_never_cuts_a_batch(
        harness: Harness) -> None:
    harness.app[DISPATCHER].store_budget = 0.0
    await _feed_all(harness)
    assert await harness.app[DISPATCHER].handle_batch() == len(CUSTOMERS)


async def test_the_dispatcher_is_behind_only_when_its_claim_fills_a_batch(
        harness: Harness) -> None:
    dispatcher = harness.app[DISPATCHER]
    await _feed_all(harness)
    assert await dispatcher.handle_batch(limit=2) == 2
    assert dispatcher.pressure.behind  # two due, two claimed: more may be waiting
    assert await dispatcher.handle_batch(limit=32) == len(CUSTOMERS) - 2
    assert not dispatcher.pressure.behind  # it keeps up: a burst will not pause it
    for _ in range(20):
        dispatcher.pressure.enter()
    assert not dispatcher.pressure.bursting


def _burst(h: Harness) -> None:
    """Webhooks in flight at once, a burst's worth (the claim, filling its limit, is behind)."""
    pressure = h.app[DISPATCHER].pressure
    for _ in range(pressure.burst):
        pressure.enter()


@pytest.mark.parametrize(("budget", "burst_budget", "handled_first"), [
    (3600.0, 0.0, 1),  # past the burst's budget: the batch makes way after one event
    (0.0, 3600.0, len(CUSTOMERS)),  # within it: the batch runs on (the usual budget is out)
])
async def test_in_a_burst_the_burst_budget_decides_when_a_batch_makes_way(
        harness: Harness, budget: float, burst_budget: float, handled_first: int) -> None:
    dispatcher = harness.app[DISPATCHER]
    dispatcher.store_budget, dispatcher.burst_store_budget = budget, burst_budget
    stored: list[str] = []
    _webhook_waiting_during_the_first_event(harness, stored)
    await _feed_all(harness)
    _burst(harness)
    assert await dispatcher.handle_batch(limit=len(CUSTOMERS)) == handled_first
    assert dispatcher.pressure.bursting
    await asyncio.sleep(0)
    assert stored == [f"webhook after {handled_first}"]
