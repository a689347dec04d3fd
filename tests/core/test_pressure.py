"""Handling gives way to a burst of webhooks, never to a steady trickle, and never stops
under a flood."""

from __future__ import annotations

import asyncio

import pytest

from werkbot.bot.pressure import Pressure


@pytest.mark.parametrize("in_flight", [0, 2])
async def test_below_a_burst_handling_is_not_held_back(in_flight: int) -> None:
    # A steady stream at ordinary load keeps a request or two waiting for their commit
    # most of the time: replies must not wait for a moment without any.
    pressure = Pressure(burst=3)
    for _ in range(in_flight):
        pressure.enter()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.give_way(limit=5)
    assert loop.time() - began < 1


async def test_during_a_burst_handling_waits_until_it_has_passed() -> None:
    pressure = Pressure(burst=3)
    for _ in range(4):
        pressure.enter()
    waiting = asyncio.create_task(pressure.give_way(limit=5))
    await asyncio.sleep(0.01)
    pressure.leave()
    await asyncio.sleep(0.01)
    assert not waiting.done()  # still three in flight: still a burst
    pressure.leave()
    await asyncio.wait_for(waiting, 1)  # two left: ordinary load again
    assert pressure.requests == 2


async def test_under_a_flood_that_never_ends_handling_still_goes_on() -> None:
    pressure = Pressure(burst=3)
    for _ in range(3):
        pressure.enter()  # never left
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.give_way(limit=0.05)
    assert 0.04 <= loop.time() - began < 1


async def test_more_answers_than_requests_never_make_it_negative() -> None:
    pressure = Pressure(burst=1)
    pressure.leave()
    pressure.enter()
    assert pressure.bursting
    pressure.leave()
    assert pressure.requests == 0


def test_a_never_ending_flood_leaves_handling_its_share_and_a_batch_a_second() -> None:
    from werkbot.bot.pressure import BURST_SHARE, MAX_PAUSE, MIN_PAUSE

    # A batch that took 50 ms is followed by at most 450 ms for the webhooks (10 %).
    busy = 0.05
    assert Pressure.pause_after(busy) == busy * (1 - BURST_SHARE) / BURST_SHARE
    assert Pressure.pause_after(0.0) == MIN_PAUSE  # the loop always gets a moment
    assert Pressure.pause_after(30.0) == MAX_PAUSE  # handling never waits over a second


async def test_a_group_commit_answering_everyone_at_once_does_not_end_a_burst() -> None:
    # Under a flood one commit answers every waiting request together; the next ones
    # arrive a moment later. That moment is not the end of the burst.
    pressure = Pressure(burst=3)
    for _ in range(4):
        pressure.enter()
    waiting = asyncio.create_task(pressure.give_way(limit=5))
    for _ in range(10):
        await asyncio.sleep(0.01)
        for _ in range(4):
            pressure.leave()  # all answered at once ...
        await asyncio.sleep(0)
        for _ in range(4):
            pressure.enter()  # ... and the flood goes on
    assert not waiting.done()
    for _ in range(4):
        pressure.leave()  # the flood is over
    await asyncio.wait_for(waiting, 1)


async def test_handling_and_sending_share_one_pause_during_a_burst() -> None:
    # The dispatcher's and the sender's rounds together keep to the share: a sender round
    # right after a dispatcher round waits for both pauses, not just its own.
    pressure = Pressure(burst=3)
    for _ in range(3):
        pressure.enter()  # a flood that does not end while we look
    loop = asyncio.get_running_loop()
    began = loop.time()
    handling = asyncio.create_task(pressure.after_round(0.01))
    sending = asyncio.create_task(pressure.after_round(0.01))
    await handling
    handled_at = loop.time() - began
    await sending
    sent_at = loop.time() - began
    one = Pressure.pause_after(0.01)
    assert one * 0.9 <= handled_at < one * 1.5
    assert 2 * one * 0.9 <= sent_at < 1  # after the handling pause, its own pause


async def test_outside_a_burst_a_round_is_not_held_back() -> None:
    pressure = Pressure(burst=3)
    pressure.enter()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.after_round(0.5)
    assert loop.time() - began < 0.05


async def test_many_in_flight_do_not_pause_handling_while_it_keeps_up() -> None:
    # Many people writing at once, each waiting for the answer before writing again: a
    # wave of webhooks, but no backlog. Pausing their handling would only delay them.
    pressure = Pressure(burst=3)
    for _ in range(5):
        pressure.enter()
    pressure.behind = False  # the dispatcher's last claim found less than a batch
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.after_round(0.5)
    await pressure.give_way(limit=5)
    assert loop.time() - began < 0.05
    pressure.behind = True  # a whole batch due: now it is a flood, and handling pauses
    await pressure.after_round(0.01)
    assert loop.time() - began >= Pressure.pause_after(0.01) * 0.9
