"""App-wide services handed to every handler context, built once at start-up.

Handlers add their own services under typed keys (`ServiceKey`), in the spirit of
aiohttp's `web.AppKey`: `services.get(CALENDAR)` is typed, and a missing service fails
with its name instead of passing `None` along.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from werkbot.bot.adapter import ProviderEraser
from werkbot.bot.addresses import Address
from werkbot.bot.capabilities import Capabilities
from werkbot.bot.clock import Clock
from werkbot.bot.events import MediaRef
from werkbot.bot.media import MediaStore
from werkbot.bot.metrics import Metrics
from werkbot.bot.replies import Reply
from werkbot.bot.settings import Settings
from werkbot.bot.storage.database import Database
from werkbot.bot.texts import Texts
from werkbot.bot.tokens import Signer

if TYPE_CHECKING:
    from werkbot.bot.context import Context

T = TypeVar("T")
MediaFetcher = Callable[[MediaRef], Awaitable[tuple[bytes, str]]]


class ServiceKey(Generic[T]):
    """A typed key for a handler-provided service."""

    def __init__(self, name: str, kind: type[T]) -> None:
        self.name = name
        self.kind = kind

    def __repr__(self) -> str:
        return f"ServiceKey({self.name!r})"


class DeliveryPolicy(Protocol):
    """The consent gate on the way out: may this go there, and where does it go?"""

    async def allows(self, ctx: Context, address: Address, reply: Reply) -> bool:
        """May `reply` be sent to `address` now?"""
        ...

    async def choose(self, ctx: Context, person_id: int, reply: Reply) -> Address | None:
        """The address to reach a person on for `reply`, or None if there is none."""
        ...


@dataclass
class Services:
    """Everything a handler may use besides its session: settings, texts, clock, stores."""

    settings: Settings
    texts: Texts
    clock: Clock
    db: Database
    media: MediaStore
    signer: Signer
    metrics: Metrics
    channels: dict[str, Capabilities]
    policy: DeliveryPolicy
    fetchers: dict[str, MediaFetcher] = field(default_factory=dict)
    provider_erasers: dict[str, ProviderEraser] = field(default_factory=dict)
    wake_outbox: Callable[[], None] = lambda: None
    _extras: dict[str, Any] = field(default_factory=dict)

    def provide(self, key: ServiceKey[T], value: T) -> None:
        self._extras[key.name] = value

    def get(self, key: ServiceKey[T]) -> T:
        try:
            value = self._extras[key.name]
        except KeyError:
            raise LookupError(f"service {key.name!r} was not provided") from None
        if not isinstance(value, key.kind):
            raise TypeError(f"service {key.name!r} is not a {key.kind.__name__}")
        return value
