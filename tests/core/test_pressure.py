"""Handling gives way to webhooks in flight, but never stops under a flood."""

from __future__ import annotations

import asyncio

from bot.pressure import Pressure


async def test_give_way_returns_at_once_when_no_request_is_in_flight() -> None:
    pressure = Pressure()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.give_way(limit=5)
    assert loop.time() - began < 1


async def test_give_way_waits_until_the_requests_in_flight_are_answered() -> None:
    pressure = Pressure()
    pressure.enter()
    pressure.enter()
    waiting = asyncio.create_task(pressure.give_way(limit=5))
    await asyncio.sleep(0.01)
    pressure.leave()
    await asyncio.sleep(0.01)
    assert not waiting.done()  # one is still being answered
    pressure.leave()
    await asyncio.wait_for(waiting, 1)


async def test_under_a_flood_that_never_ends_handling_still_goes_on() -> None:
    pressure = Pressure()
    pressure.enter()  # never left
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.give_way(limit=0.05)
    assert 0.04 <= loop.time() - began < 1
