"""What became of a message a handler sent: `ctx.send`/`ctx.reply` return a `Delivery`.

Queued means an outbox row exists (the adapter sends it after the commit); the other
outcomes say why nothing was queued. A `Delivery` is true only when queued, so
`if await ctx.reply(...)` keeps reading as "if it went out".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from werkbot.bot.addresses import Address


class Outcome(Enum):
    QUEUED = "queued"
    REFUSED = "refused"  # the delivery policy (the consent gate) does not allow it
    NO_CHANNEL = "no_channel"  # no adapter runs for the address's channel
    WINDOW_CLOSED = "window_closed"  # free-form window closed, the channel has no templates
    NO_ADDRESS = "no_address"  # `send_to_person`: no address of the person allows it


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one send, and the address it was for."""

    outcome: Outcome
    address: Address | None = None

    @property
    def queued(self) -> bool:
        return self.outcome is Outcome.QUEUED

    def __bool__(self) -> bool:
        return self.outcome is Outcome.QUEUED
