"""Acting from the browser through the chat features' own code paths.

A web action (answer a customer, close a conversation, acknowledge an emergency) runs
the same function the chat command runs, in a `WebContext`: the staff member is the
sender, the event is a synthetic one on the `web` channel, and what the feature would
tell the staff member in chat (\"answer sent\", \"refused\") is collected as notices for
the page instead of being sent to their phone. Everything else, the consent gate, the
WhatsApp window, outbox rows, audit lines, is exactly the chat path's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context, EventScope, Turn
from werkbot.bot.delivery import Delivery, Outcome
from werkbot.bot.events import TextEvent
from werkbot.bot.replies import Reply, TextReply, text_of
from werkbot.bot.services import Services
from werkbot.bot.settings import StaffSettings
from werkbot.bot.storage.repos import PeopleRepo
from werkbot.handlers.consent.policy import ConsentPolicy

WEB_CHANNEL = "web"


@dataclass(frozen=True)
class WebContext(Context):
    """A handler context for a staff member acting in the office web app."""

    notices: list[str] = field(default_factory=list)
    channel: str = ""  # the channel the staff member picked for reaching a customer

    async def reply(self, reply: Reply | str) -> Delivery:
        """What the feature says back to the acting staff member: shown on the page."""
        self.notices.append(reply if isinstance(reply, str) else text_of(reply))
        return Delivery(Outcome.QUEUED, self.address)

    async def send_to_person(self, person_id: int, reply: Reply | str) -> Delivery:
        """As in chat, but on the channel the staff member picked, when the consent gate
        and the WhatsApp window allow that channel (else the policy's own choice)."""
        message = TextReply(text=reply) if isinstance(reply, str) else reply
        policy = self.services.policy
        if self.channel and isinstance(policy, ConsentPolicy):
            allowed = await policy.candidates(self, person_id, message)
            chosen = next((a for a in allowed if a.channel == self.channel), None)
            if chosen is not None:
                return await self.send(chosen, message, person_id=person_id)
        return await super().send_to_person(person_id, message)


async def web_context(session: AsyncSession, services: Services, staff: StaffSettings,
                      text: str = "", *, channel: str = "", **match: object) -> WebContext:
    """A context in which `staff` acts; `text` is what they typed, `channel` the one they
    picked for reaching a customer, `match` what a chat filter would have extracted
    (e.g. the incident id)."""
    person = await PeopleRepo(session).by_staff_id(staff.id)
    event = TextEvent(id=f"web:{secrets.token_hex(8)}", sender=Address(WEB_CHANNEL, staff.id),
                      received_at=services.clock.now(), text=text)
    return WebContext(Turn(event, person=person, match=dict(match)),
                      EventScope(services, session), channel=channel)

