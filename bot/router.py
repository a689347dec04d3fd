"""The router tree: observers per event kind, composable filters, first match wins.

aiogram's mechanics without its Telegram-only observers: `router.on((TextEvent, f1, f2))`
registers a handler for one event kind (or a tuple of kinds); mypy checks that the
handler takes what it is registered for (`Handler[E]`). Filters are plain callables
returning a bool or a dict of extracted values (merged into `ctx.match`), composed with
`&`, `|` and `~`; `timer(name)` picks one durable timer. `include_router` nests.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from werkbot.bot.events import Event, TimerEvent

if TYPE_CHECKING:
    from werkbot.bot.context import Context

E = TypeVar("E", bound=Event)
E2 = TypeVar("E2", bound=Event)
E3 = TypeVar("E3", bound=Event)
E4 = TypeVar("E4", bound=Event)
FilterResult = bool | dict[str, Any] | None
FilterFn = Callable[[Any, "Context"], FilterResult | Awaitable[FilterResult]]
Handler = Callable[[E, "Context"], Awaitable[None]]
"""A handler of events of kind `E`: `Handler[TextEvent]`, `Handler[Event]` for any."""


class Filter:
    """A predicate over (event, ctx); `&`, `|` and `~` build new filters."""

    def __init__(self, fn: FilterFn, name: str = "") -> None:
        self._fn = fn
        self.name = name or getattr(fn, "__name__", "filter")

    async def check(self, event: Event, ctx: Context) -> dict[str, Any] | None:
        """Extracted values (possibly empty) on a match, None otherwise."""
        result = self._fn(event, ctx)
        if result is True:  # the common answers first: a filter runs for every event
            return {}
        if result is None or result is False:
            return None
        if inspect.isawaitable(result):
            result = await result
            if result is None or result is False:
                return None
        return result if isinstance(result, dict) else {}

    def __and__(self, other: Filter | FilterFn) -> Filter:
        right = as_filter(other)

        async def both(event: Event, ctx: Context) -> FilterResult:
            first = await self.check(event, ctx)
            if first is None:
                return None
            second = await right.check(event, ctx)
            return None if second is None else {**first, **second}

        return Filter(both, f"({self.name} & {right.name})")

    def __or__(self, other: Filter | FilterFn) -> Filter:
        right = as_filter(other)

        async def either(event: Event, ctx: Context) -> FilterResult:
            first = await self.check(event, ctx)
            return first if first is not None else await right.check(event, ctx)

        return Filter(either, f"({self.name} | {right.name})")

    def __invert__(self) -> Filter:
        async def negated(event: Event, ctx: Context) -> FilterResult:
            return await self.check(event, ctx) is None

        return Filter(negated, f"~{self.name}")


def as_filter(fn: Filter | FilterFn) -> Filter:
    return fn if isinstance(fn, Filter) else Filter(fn)


def timer(name: str) -> Filter:
    """The event is the durable timer `name` coming due (`TimerEvent.name`)."""

    def due(event: Event, ctx: Context) -> bool:
        return isinstance(event, TimerEvent) and event.name == name

    return Filter(due, f"timer({name})")


@dataclass(frozen=True, slots=True)
class Match:
    """A handler the tree chose, its extracted values and the router it sits in."""

    handler: Handler[Any]
    values: dict[str, Any]
    router: str


@dataclass(frozen=True, slots=True)
class _Registration:
    kinds: tuple[type[Event], ...]
    filters: tuple[Filter, ...]
    handler: Handler[Any]


class Router:
    """A node of the router tree. Each `handlers/*.py` module exports one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._registrations: list[_Registration] = []
        self._children: list[Router] = []

    @overload
    def on(self, kind: type[E], /, *filters: Filter | FilterFn
           ) -> Callable[[Handler[E]], Handler[E]]: ...

    @overload
    def on(self, kind: tuple[type[E], type[E2]], /, *filters: Filter | FilterFn
           ) -> Callable[[Handler[E | E2]], Handler[E | E2]]: ...

    @overload
    def on(self, kind: tuple[type[E], type[E2], type[E3]], /, *filters: Filter | FilterFn
           ) -> Callable[[Handler[E | E2 | E3]], Handler[E | E2 | E3]]: ...

    @overload
    def on(self, kind: tuple[type[E], type[E2], type[E3], type[E4]], /,
           *filters: Filter | FilterFn
           ) -> Callable[[Handler[E | E2 | E3 | E4]], Handler[E | E2 | E3 | E4]]: ...

    @overload
    def on(self, kind: tuple[type[Event], ...], /, *filters: Filter | FilterFn
           ) -> Callable[[Handler[Event]], Handler[Event]]: ...

    def on(self, kind: type[Event] | tuple[type[Event], ...], /, *filters: Filter | FilterFn
           ) -> Callable[[Handler[Any]], Handler[Any]]:
        """Register a handler for `kind` (an event class or a tuple of them) when all
        `filters` match. The handler must accept every kind it is registered for: two to
        four kinds make their union, more make `Event`."""
        kinds = kind if isinstance(kind, tuple) else (kind,)
        compiled = tuple(as_filter(f) for f in filters)

        def register(handler: Handler[Any]) -> Handler[Any]:
            self._registrations.append(_Registration(kinds, compiled, handler))
            return handler

        return register

    def include_router(self, router: Router) -> Router:
        if router is self or self in router.walk():
            raise ValueError(f"router {router.name!r} would contain itself")
        self._children.append(router)
        return router

    def walk(self) -> list[Router]:
        found = [self]
        for child in self._children:
            found += child.walk()
        return found

    async def resolve(self, event: Event, ctx: Context) -> Match | None:
        """Depth-first, in registration order: the first handler whose filters all match."""
        for reg in self._registrations:
            if not isinstance(event, reg.kinds):
                continue
            values: dict[str, Any] = {}
            for flt in reg.filters:
                got = await flt.check(event, ctx)
                if got is None:
                    break
                values.update(got)
            else:
                return Match(reg.handler, values, self.name)
        for child in self._children:
            match = await child.resolve(event, ctx)
            if match is not None:
                return match
        return None
