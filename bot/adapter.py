"""The adapter interface: how a channel plugs into the core.

An adapter translates. It gets a `feed` coroutine (and narrow media access) at start-up,
never the app, the dispatcher or the database. It verifies and parses provider requests
into events, sends replies and fetches media. No keyword, consent or business logic.

Optional features are `Protocol`s the core detects with `isinstance`: `ProviderEraser`
(delete the provider's copies), `SentFinder` (did an unknown send arrive?), `Describing`
(a line for `werkbot check`); the core's feed is a `DuplicateCounter`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from aiohttp import web

from werkbot.bot.addresses import Address
from werkbot.bot.capabilities import Capabilities
from werkbot.bot.events import Event, MediaRef
from werkbot.bot.replies import Reply

Feed = Callable[[Sequence[Event]], Awaitable[None]]


@runtime_checkable
class DuplicateCounter(Protocol):
    """A feed that counts redeliveries an adapter dropped by itself (the core's does)."""

    def duplicates(self, channel: str, count: int) -> None: ...


def count_duplicates(feed: Feed | None, channel: str, count: int = 1) -> None:
    """Tell the core that an adapter dropped `count` redeliveries before storing them (a
    cache of recent ids), so `/metrics` counts every duplicate caught, wherever it was.
    The core's feed is a `DuplicateCounter`; a test's plain function need not be."""
    counter: object = feed  # a Feed is a callable; the core's is a counter too
    if count and isinstance(counter, DuplicateCounter):
        counter.duplicates(channel, count)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the provider said when it accepted a message."""

    provider_id: str
    status: str = "sent"
    thread: str = ""  # where it landed, e.g. a forum topic the adapter opened for it


UNREADABLE = "unreadable"
"""`SendError.code` of a send the provider answered with success in a form that could not
be read: it may have the message, so the outbox asks (`SentFinder`) before sending again."""


class SendError(Exception):
    """A send that did not go through.

    `retryable`: try again later (429, 5xx, time-outs), after `retry_after` seconds if the
    provider said so. `unreachable`: this address cannot be reached on this channel
    (Telegram bot blocked, SMS opt-out); the core marks it and lets handlers fall back.
    Otherwise the failure is final and recorded with `code`.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after
        self.unreachable = unreachable


class MediaTooLarge(Exception):
    """Inbound media over the channel's size limit."""


class MediaUnavailable(Exception):
    """Inbound media that cannot be fetched (gone, refused host, provider error).

    `permanent`: trying again cannot help (a URL werkbot refuses to fetch)."""

    permanent = False


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """Bytes of stored media as an adapter needs them for an upload."""

    id: int
    data: bytes
    content_type: str
    filename: str
    kind: str


class MediaAccess(Protocol):
    """What an adapter may do with the media store: read bytes and make public links."""

    def link(self, media_id: int) -> str: ...

    async def read(self, media_id: int) -> StoredMedia: ...


@runtime_checkable
class Adapter(Protocol):
    """A channel. `name` is the channel name in addresses (`whatsapp`, `sms`, `telegram`)."""

    name: str
    capabilities: Capabilities

    async def start(self, feed: Feed, media: MediaAccess) -> None: ...

    async def stop(self) -> None: ...

    def routes(self) -> Sequence[web.AbstractRouteDef]: ...

    async def send(self, address: Address, reply: Reply) -> Receipt: ...

    async def fetch_media(self, ref: MediaRef) -> tuple[bytes, str]:
        """Download inbound media: bytes and the provider's content type."""
        ...


@runtime_checkable
class ProviderEraser(Protocol):
    """An adapter that can delete the provider's own copies of messages (erasure)."""

    async def erase_messages(self, provider_ids: Sequence[str]) -> list[str]:
        """Delete these messages (and their media) at the provider; returns the ids that
        cannot be deleted yet (still in flight), to be tried again later."""
        ...


@runtime_checkable
class SentFinder(Protocol):
    """An adapter that can tell whether a send of unknown outcome reached the provider."""

    async def find_sent(self, address: Address, reply: Reply, since: datetime
                        ) -> Receipt | None:
        """Did an earlier attempt to send `reply` to `address`, whose outcome is unknown
        (it timed out, or the connection dropped after the request went out), reach the
        provider after all? Returns that message's `Receipt` (its provider id and its
        status there, never `queued`) if the provider holds a copy created at or after
        `since` (aware UTC; the newest if several), else None. It raises when it cannot
        tell (provider down, slow or refusing); the outbox then keeps the message queued
        and asks again later rather than sending it blind. A copy the provider failed to
        deliver does not count (the recipient never got it, so sending again is right).
        Without `find_sent`, such a message is sent again: at least once, possibly
        twice."""
        ...


@runtime_checkable
class Describing(Protocol):
    """An adapter that sums up its configuration in a line for `werkbot check`."""

    def describe(self) -> str: ...
