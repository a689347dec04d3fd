"""Plug-in points: named callbacks one feature runs on behalf of others, one set per app.

A feature that lets others take part in its work declares a `HookKey` (consent: after a
grant, media to keep; rights: exporters, erasers, signing hooks). Other features add a
callback under their name at start-up (`hooks(services, ERASERS).add("jobs", erase_jobs)`)
and the owner runs them in that order. The set lives on `Services`, so each app (and each
test's app) has its own and nothing registers at import time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from werkbot.bot.services import ServiceKey, Services

F = TypeVar("F")


class Hooks(Generic[F]):
    """Named callbacks in registration order; a name is registered once."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._items: dict[str, F] = {}

    def add(self, name: str, fn: F) -> F:
        if name in self._items and self._items[name] is not fn:
            raise ValueError(f"{self._what} {name!r} registered twice")
        self._items[name] = fn
        return fn

    def remove(self, name: str) -> None:
        self._items.pop(name, None)

    def get(self, name: str) -> F | None:
        return self._items.get(name)

    def items(self) -> Iterator[tuple[str, F]]:
        return iter(list(self._items.items()))

    def __iter__(self) -> Iterator[F]:
        return iter(list(self._items.values()))


class HookKey(Generic[F]):
    """Names one plug-in point; `what` names a single callback in errors ("eraser")."""

    def __init__(self, name: str, what: str) -> None:
        self.name = name
        self.what = what
        self.service_key: ServiceKey[Hooks[Any]] = ServiceKey(name, Hooks)


def hooks(services: Services, key: HookKey[F]) -> Hooks[F]:
    """The app's callbacks for `key`, created on first use."""
    try:
        found: Hooks[F] = services.get(key.service_key)
    except LookupError:
        found = Hooks(key.what)
        services.provide(key.service_key, found)
    return found
