"""The typed handler context: who wrote, where, in which state, and how to answer.

Handlers take `(event, ctx)`. `ctx` is two parts: a frozen `Turn` the handler reads (the
event, the person and address, the inbox row, the filters' match) and an `EventScope` whose
services it calls (repositories on the event's transaction, the conversation state saved
after the handler, texts in the person's language, the clock, and `reply`/`send`, which
queue outbox rows in the same transaction through the delivery policy, the consent gate).
Acting for another person or event gives a new context; none is ever changed in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot.addresses import Address
from werkbot.bot.capabilities import Capabilities, MediaLinker, degrade
from werkbot.bot.clock import Clock
from werkbot.bot.delivery import Delivery, Outcome
from werkbot.bot.events import Event, MediaRef
from werkbot.bot.media import SavedMedia
from werkbot.bot.replies import ChoicesReply, Reply, TemplateReply, TextReply, text_of
from werkbot.bot.services import Services
from werkbot.bot.settings import Settings
from werkbot.bot.storage.models import AddressRow, Person
from werkbot.bot.storage.repos import (
    AuditRepo,
    OutboxRepo,
    PeopleRepo,
    StateRepo,
    TimerRepo,
    remember_numbered_choices,
    state_of,
)
from werkbot.bot.texts import Texts

log = logging.getLogger(__name__)
R = TypeVar("R")


class _Linker(MediaLinker):
    def __init__(self, services: Services) -> None:
        self._services = services

    def link(self, media_id: int) -> str:
        return self._services.media.link(media_id)


class Turn(NamedTuple):
    """What a handler reads about the event it handles; immutable, so it cannot drift (a
    named tuple rather than a frozen dataclass: built several times per event, cheaply).

    `person`/`address` are who wrote and from where, `address_row` the sender's row
    (loaded once per event), `is_new` whether a person was just made for an unknown
    address, `match` what the router's filters extracted."""

    event: Event
    person: Person | None = None
    address: Address | None = None
    inbox_id: int | None = None
    is_new: bool = False
    address_row: AddressRow | None = None
    match: Mapping[str, Any] = MappingProxyType({})


class EventScope:
    """What one event's handling calls and changes, shared by every context re-targeted
    from it: the app's services, the event's transaction (`tx`), the conversation state
    saved after the handler (and whose it is), and the replies queued or refused."""

    def __init__(self, services: Services, tx: AsyncSession) -> None:
        self.services = services
        self.tx = tx
        self.state: dict[str, Any] = {}
        self.state_owner: int | None = None  # the person whose state is saved afterwards
        self.stored_state: str | None = None  # the state's JSON as loaded (None: no row)
        self.sent: list[tuple[Address, Reply]] = []
        self.refused: list[tuple[Address, Reply]] = []

    def own_state(self, person_id: int, stored: str | None) -> None:
        """From now on the state is `person_id`'s, as `stored` (their row's JSON, or None)."""
        self.state_owner, self.stored_state = person_id, stored
        self.state.clear()  # the same dict: contexts and handlers holding it see the change
        self.state.update(state_of(stored))


@dataclass(frozen=True)
class Context:
    """Everything one handler call may use: the frozen `turn` it reads and the `scope`
    whose services it calls. Acting for someone else or for another stored event gives
    a new context (`for_sender`, `for_event`); the one a handler was given never changes."""

    turn: Turn
    scope: EventScope

    @classmethod
    def begin(cls, services: Services, tx: AsyncSession, event: Event, *,
              inbox_id: int | None = None) -> Context:
        """The context of a fresh event: nobody resolved yet, empty state."""
        return cls(Turn(event, inbox_id=inbox_id), EventScope(services, tx))

    def for_sender(self, person: Person | None, address: Address | None,
                   address_row: AddressRow | None, *, is_new: bool = False) -> Context:
        """This context acting as `person` writing from `address` (the conversation state
        stays whose it was: see `take_state_of`)."""
        t = self.turn
        return self._with(Turn(t.event, person, address, t.inbox_id, is_new, address_row,
                               t.match))

    def for_event(self, event: Event, inbox_id: int | None = None) -> Context:
        """This context handling `event` (stored as inbox row `inbox_id`, or this one's)."""
        t = self.turn
        inbox = t.inbox_id if inbox_id is None else inbox_id
        return self._with(Turn(event, t.person, t.address, inbox, t.is_new, t.address_row,
                               t.match))

    def with_match(self, values: Mapping[str, Any]) -> Context:
        """This context with what the router's filters extracted."""
        t = self.turn
        return self._with(Turn(t.event, t.person, t.address, t.inbox_id, t.is_new,
                               t.address_row, values))

    def _with(self, turn: Turn) -> Context:
        # built directly, not by dataclasses.replace: the dispatcher does this per event
        if type(self) is Context:
            return Context(turn, self.scope)
        return replace(self, turn=turn)  # a subclass's own fields (a web context's) stay

    async def take_state_of(self, person_id: int) -> None:
        """The state saved after the handler becomes `person_id`'s, loaded (and locked) now."""
        self.scope.own_state(person_id, await self.states.load_text(person_id))

    @property
    def event(self) -> Event:
        return self.turn.event

    @property
    def person(self) -> Person | None:
        return self.turn.person

    @property
    def address(self) -> Address | None:
        return self.turn.address

    @property
    def inbox_id(self) -> int | None:
        return self.turn.inbox_id

    @property
    def is_new(self) -> bool:
        return self.turn.is_new

    @property
    def address_row(self) -> AddressRow | None:
        return self.turn.address_row

    @property
    def match(self) -> Mapping[str, Any]:
        return self.turn.match

    @property
    def services(self) -> Services:
        return self.scope.services

    @property
    def tx(self) -> AsyncSession:
        """The event's transaction, for core code (dispatcher, outbox, repositories)."""
        return self.scope.tx

    @property
    def state(self) -> dict[str, Any]:
        """The conversation state, saved after the handler."""
        return self.scope.state

    @property
    def sent(self) -> list[tuple[Address, Reply]]:
        return self.scope.sent

    @property
    def refused(self) -> list[tuple[Address, Reply]]:
        return self.scope.refused

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def texts(self) -> Texts:
        return self.services.texts

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def lang(self) -> str:
        return self.person.language if self.person else self.settings.business.language

    @property
    def people(self) -> PeopleRepo:
        return PeopleRepo(self.tx)

    @property
    def outbox(self) -> OutboxRepo:
        return OutboxRepo(self.tx)

    @property
    def timers(self) -> TimerRepo:
        return TimerRepo(self.tx)

    @property
    def audit(self) -> AuditRepo:
        return AuditRepo(self.tx)

    @property
    def states(self) -> StateRepo:
        return StateRepo(self.tx)

    def repo(self, kind: Callable[[AsyncSession], R]) -> R:
        """A repository bound to this event's transaction (`ctx.repo(JobsRepo)`).

        Handlers reach the database only through repositories: classes beside their
        feature whose `__init__` takes the session and whose methods hold the SQL."""
        return kind(self.tx)

    def t(self, key: str, /, **values: object) -> str:
        """The text `key` in this person's language."""
        return self.texts.get(key, self.lang, **values)

    def capabilities(self, channel: str) -> Capabilities | None:
        return self.services.channels.get(channel)

    async def reply(self, reply: Reply | str) -> Delivery:
        """Answer the sender on the address they wrote from (through the gate)."""
        if self.address is None:
            raise RuntimeError("this event has no sender to reply to")
        message = TextReply(text=reply) if isinstance(reply, str) else reply
        if not message.thread and self.event.thread:
            message = replace(message, thread=self.event.thread)  # stay in the forum topic
        return await self.send(self.address, message)

    async def send(self, address: Address, reply: Reply | str, *,
                   person_id: int | None = None) -> Delivery:
        """Queue `reply` for `address` if the delivery policy allows it; the `Delivery`
        says whether it was queued and if not, why (it is true only when queued)."""
        message = TextReply(text=reply) if isinstance(reply, str) else reply
        if not await self.services.policy.allows(self, address, message):
            log.info("delivery refused by policy to %s (%s)", address.masked(), message.kind)
            self.refused.append((address, message))
            return Delivery(Outcome.REFUSED, address)
        caps = self.capabilities(address.channel)
        if caps is None:
            log.warning("no channel %r to send on; message recorded as refused", address.channel)
            self.refused.append((address, message))
            return Delivery(Outcome.NO_CHANNEL, address)
        needs_window = caps.window_hours and not isinstance(message, TemplateReply)
        if needs_window and not await self._window_open(address):
            if not caps.templates:
                self.refused.append((address, message))
                return Delivery(Outcome.WINDOW_CLOSED, address)
            message = as_template(message)
        parts = degrade(message, caps, _Linker(self.services))
        if isinstance(message, ChoicesReply) and not isinstance(parts[-1], ChoicesReply):
            await remember_numbered_choices(self.tx, address, message)
        owner = person_id if person_id is not None else self._person_for(address)
        await self.outbox.enqueue(address, parts, self.clock.now(), person_id=owner,
                                  inbound_id=self.inbox_id)
        self.sent.append((address, message))
        return Delivery(Outcome.QUEUED, address)

    async def send_to_person(self, person_id: int, reply: Reply | str) -> Delivery:
        """Reach a person on the channel the policy picks (`Delivery.address`); when no
        address of theirs allows the message, `NO_ADDRESS` (and logged)."""
        message = TextReply(text=reply) if isinstance(reply, str) else reply
        address = await self.services.policy.choose(self, person_id, message)
        if address is None:
            log.info("no allowed channel for person %s (%s)", person_id, message.kind)
            return Delivery(Outcome.NO_ADDRESS)
        return await self.send(address, message, person_id=person_id)

    async def _window_open(self, address: Address) -> bool:
        if self.address_row is not None and address == self.address:
            until = self.address_row.window_until
        else:
            until = await self.tx.scalar(
                select(AddressRow.window_until).where(AddressRow.address == str(address)))
        return until is not None and until > self.clock.now()

    async def download(self, ref: MediaRef, *, channel: str | None = None) -> SavedMedia:
        """Fetch inbound media through its channel's adapter and store it for this person.

        Raises `MediaTooLarge` from the adapter, or `LookupError` for an unknown channel.
        """
        name = channel or (self.address.channel if self.address else "")
        fetch = self.services.fetchers.get(name)
        if fetch is None:
            raise LookupError(f"no channel {name!r} to fetch media from")
        data, _ = await fetch(ref)
        owner = self.person.id if self.person else None
        return await self.services.media.save(self.tx, data, filename=ref.filename,
                                              person_id=owner, now=self.clock.now())

    def _person_for(self, address: Address) -> int | None:
        if self.person is not None and address == self.address:
            return self.person.id
        return None


def as_template(message: Reply) -> TemplateReply:
    """A reply as the template of its kind, for a channel whose free-form window is closed.

    The template is named after the reply's kind; the adapter maps it to the provider's
    approved template (e.g. a Twilio ContentSid) or fails the send, which falls back.
    """
    text = text_of(message)
    return TemplateReply(kind=message.kind, template=message.kind, variables={"1": text},
                         fallback_text=text, reply_to=message.reply_to, thread=message.thread)
