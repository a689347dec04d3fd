"""Flood protection: one sender writing hundreds of messages a minute is throttled.

A sliding window per sender, kept in memory (bounded, least recently seen forgotten
first): past `limit` messages within `window`, the sender's further events are stored
(they were acknowledged) but not handled, and the sender is told once per window. Staff
and system events are never throttled. Held back is not lost: the dispatcher schedules a
`RELEASE_TIMER` at the end of each window in which a person was throttled, and a handler
forwards what was held back in one message (`handlers.office.flood`). Each process
counts on its own; behind a load balancer the effective limit is at most the number of
processes times the limit.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

MAX_SENDERS = 20_000
RELEASE_TIMER = "flood.release"  # payload {"person": id}: hand on what was held back


class Verdict(Enum):
    HANDLE = "handle"
    THROTTLE_AND_TELL = "throttle-and-tell"  # the first refusal in this window
    THROTTLE = "throttle"


@dataclass
class _Sender:
    times: deque[datetime]
    told: bool = False


class FloodGuard:
    """Counts events per sender over a sliding window."""

    def __init__(self, limit: int, window: timedelta = timedelta(minutes=1)) -> None:
        self.limit = limit
        self.window = window
        self._senders: OrderedDict[str, _Sender] = OrderedDict()

    def check(self, sender: str, now: datetime) -> Verdict:
        if self.limit <= 0:
            return Verdict.HANDLE
        entry = self._senders.pop(sender, None) or _Sender(deque())
        self._senders[sender] = entry  # most recently seen last
        while len(self._senders) > MAX_SENDERS:
            self._senders.popitem(last=False)
        while entry.times and now - entry.times[0] >= self.window:
            entry.times.popleft()
        if len(entry.times) < self.limit:
            entry.times.append(now)
            entry.told = False
            return Verdict.HANDLE
        if entry.told:
            return Verdict.THROTTLE
        entry.told = True
        return Verdict.THROTTLE_AND_TELL


def window_end(now: datetime, window: timedelta) -> tuple[int, datetime]:
    """The number of the fixed window `now` falls in, and when that window ends."""
    seconds = max(window.total_seconds(), 1.0)
    number = int(now.timestamp() // seconds)
    return number, datetime.fromtimestamp((number + 1) * seconds, tz=now.tzinfo or UTC)
