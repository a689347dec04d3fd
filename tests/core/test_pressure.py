"""Handling gives way to a burst of webhooks, never to a steady trickle, and never stops
under a flood.

Every test runs on `VirtualTimeLoop`, whose clock moves only when nothing is ready to
run, straight to the next timer: the pauses are asserted exactly, in virtual seconds,
with no wall-clock bounds that a loaded machine could break (or a broken pause pass).
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any

import pytest

from werkbot.bot.pressure import SLICE, Pressure


class _InstantSelector(selectors.DefaultSelector):
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is not None and timeout > 0:
            self._loop.now += timeout  # nothing to do until the next timer: jump to it
        elif timeout is None:
            raise AssertionError("deadlock: nothing scheduled and nothing ready")
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose time is virtual (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(selector=_InstantSelector(self))
        self.now = 0.0

    def time(self) -> float:
        return self.now


def virtual_time(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body to completion on a fresh `VirtualTimeLoop`."""

    @wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        loop = VirtualTimeLoop()
        try:
            loop.run_until_complete(test(*args, **kwargs))
        finally:
            loop.close()

    return run


@pytest.mark.parametrize("in_flight", [0, 2])
@virtual_time
async def test_below_a_burst_handling_is_not_held_back(in_flight: int) -> None:
    # A steady stream at ordinary load keeps a request or two waiting for their commit
    # most of the time: replies must not wait for a moment without any.
    pressure = Pressure(burst=3)
    for _ in range(in_flight):
        pressure.enter()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.give_way(limit=5)
    assert loop.time() == began  # not a moment held back


@virtual_time
async def test_during_a_burst_handling_waits_until_it_has_passed() -> None:
    pressure = Pressure(burst=3)
    for _ in range(4):
        pressure.enter()
    loop = asyncio.get_running_loop()
    began = loop.time()
    waiting = asyncio.create_task(pressure.give_way(limit=5))
    await asyncio.sleep(0.01)
    pressure.leave()
    await asyncio.sleep(0.1)
    assert not waiting.done()  # still three in flight: still a burst
    pressure.leave()  # at 0.11 s: two left, ordinary load again
    await waiting
    assert pressure.requests == 2
    assert 0.11 < loop.time() - began <= 0.11 + 2 * SLICE  # one quiet slice after


@virtual_time
async def test_under_a_flood_that_never_ends_handling_still_goes_on() -> None:
    pressure = Pressure(burst=3)
    for _ in range(3):
        pressure.enter()  # never left
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.give_way(limit=0.05)
    assert loop.time() - began == pytest.approx(0.05)  # the limit, exactly: then it goes on


@virtual_time
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


@virtual_time
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
    await waiting


@virtual_time
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
    assert handled_at == pytest.approx(one)
    assert sent_at == pytest.approx(2 * one)  # after the handling pause, its own pause


@virtual_time
async def test_outside_a_burst_a_round_is_not_held_back() -> None:
    pressure = Pressure(burst=3)
    pressure.enter()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await pressure.after_round(0.5)
    assert loop.time() == began


@virtual_time
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
    assert loop.time() == began
    pressure.behind = True  # a whole batch due: now it is a flood, and handling pauses
    await pressure.after_round(0.01)
    assert loop.time() - began == pytest.approx(Pressure.pause_after(0.01))
