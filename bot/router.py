"""The router tree: observers per event kind, composable filters, first match wins.

aiogram's mechanics without its Telegram-only observers: `router.on(TextEvent, f1, f2)`
registers a handler; filters are plain callables returning a bool or a dict of extracted
values (merged into `ctx.match`), composed with `&`, `|` and `~`. `include_router` nests;
inner middlewares wrap only the matched handler.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from werkbot.bot.events import Event, TimerEvent

if TYPE_CHECKING:
    from werkbot.bot.context import Context

E = TypeVar("E", bound=Event)
FilterResult = bool | dict[str, Any] | None
FilterFn = Callable[[Any, "Context"], FilterResult | Awaitable[FilterResult]]
Handler = Callable[[Any, "Context"], Awaitable[None]]
Next = Callable[[Event, "Context"], Awaitable[None]]
Middleware = Callable[[Next, Event, "Context"], Awaitable[None]]


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
    """A handler the tree chose, its extracted values and the middlewares around it."""

    handler: Handler
    values: dict[str, Any]
    middlewares: tuple[Middleware, ...]
    router: str


@dataclass(frozen=True, slots=True)
class _Registration:
    kinds: tuple[type[Event], ...]
    filters: tuple[Filter, ...]
    handler: Handler


class Router:
    """A node of the router tree. Each `handlers/*.py` module exports one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._registrations: list[_Registration] = []
        self._children: list[Router] = []
        self._inner: list[Middleware] = []
        self._inner_chain: tuple[Middleware, ...] = ()

    def on(self, *kinds: type[Event], filters: tuple[Filter | FilterFn, ...] = ()
           ) -> Callable[[Handler], Handler]:
        """Register a handler for the given event kinds when all filters match."""
        compiled = tuple(as_filter(f) for f in filters)

        def register(handler: Handler) -> Handler:
            self._registrations.append(_Registration(kinds, compiled, handler))
            return handler

        return register

    def include_router(self, router: Router) -> Router:
        if router is self or self in router.walk():
            raise ValueError(f"router {router.name!r} would contain itself")
        self._children.append(router)
        return router

    def inner_middleware(self, middleware: Middleware) -> Middleware:
        self._inner.append(middleware)
        self._inner_chain = tuple(self._inner)
        return middleware

    def walk(self) -> list[Router]:
        found = [self]
        for child in self._children:
            found += child.walk()
        return found

    async def resolve(self, event: Event, ctx: Context,
                      outer: tuple[Middleware, ...] = ()) -> Match | None:
        """Depth-first, in registration order: the first handler whose filters all match."""
        chain = outer + self._inner_chain if self._inner_chain else outer
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
                return Match(reg.handler, values, chain, self.name)
        for child in self._children:
            match = await child.resolve(event, ctx, chain)
            if match is not None:
                return match
        return None
