"""The handler context's split: the part a handler reads is frozen, and acting for another
person or event gives a new context while the one a handler was given stays as it was.

The type check runs mypy on a handler that assigns `ctx.person`, so "cannot assign" is
proved by the checker the project runs, not only at run time.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from mypy import api

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.events import TextEvent, TimerEvent
from werkbot.bot.storage.models import AddressRow, Person

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CUSTOMER = Address("whatsapp", "+4915100000001")
OTHER = Address("telegram", "4711")


def _context() -> Context:
    event = TimerEvent(id="t1", sender=Address("system", "test"), received_at=NOW, name="x")
    services, tx = cast(Any, object()), cast(Any, object())  # not reached by these tests
    return Context.begin(services, tx, event, inbox_id=7)


def _person(person_id: int, name: str) -> Person:
    return Person(id=person_id, kind="customer", display_name=name, language="de",
                  created_at=NOW)


def test_what_a_handler_reads_cannot_be_assigned() -> None:
    ctx = _context()
    with pytest.raises(AttributeError):
        ctx.person = _person(1, "Anna")  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ctx.turn.person = _person(1, "Anna")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.turn = ctx.turn  # type: ignore[misc]
    assert ctx.person is None


def test_acting_for_a_sender_gives_a_new_context_and_leaves_the_old_one() -> None:
    ctx = _context()
    anna = _person(1, "Anna")
    row = AddressRow(person_id=1, address=str(CUSTOMER), channel="whatsapp", position=0)
    acting = ctx.for_sender(anna, CUSTOMER, row)
    assert (acting.person, acting.address, acting.address_row) == (anna, CUSTOMER, row)
    assert acting.event is ctx.event and acting.inbox_id == 7
    assert (ctx.person, ctx.address, ctx.address_row) == (None, None, None)
    # one event's handling: what either queues or keeps in state is the same
    acting.state["step"] = "asked"
    assert ctx.state == {"step": "asked"}
    assert acting.sent is ctx.sent


def test_acting_for_a_stored_event_gives_a_new_context_and_leaves_the_old_one() -> None:
    ctx = _context().for_sender(_person(1, "Anna"), CUSTOMER, None)
    held = TextEvent(id="m9", sender=OTHER, received_at=NOW, text="Hallo")
    batch = ctx.for_event(held, 42)
    assert (batch.event, batch.inbox_id, batch.person) == (held, 42, ctx.person)
    assert isinstance(ctx.event, TimerEvent) and ctx.inbox_id == 7
    matched = batch.with_match({"word": "hallo"})
    assert matched.match == {"word": "hallo"} and batch.match == {}


def test_owning_the_state_of_another_person_changes_the_shared_state() -> None:
    ctx = _context()
    ctx.state["chat"] = "old"
    ctx.scope.own_state(2, '{"step":"asked"}')
    assert ctx.state == {"step": "asked"}
    assert (ctx.scope.state_owner, ctx.scope.stored_state) == (2, '{"step":"asked"}')


HANDLER = '''
from werkbot.bot.context import Context
from werkbot.bot.events import Event
from werkbot.bot.storage.models import Person


async def handler(event: Event, ctx: Context, target: Person) -> None:
    ctx.person = target
    ctx.turn.event = event
'''


def test_mypy_reports_a_handler_assigning_the_person(tmp_path: Path) -> None:
    snippet = tmp_path / "assigning_handler.py"
    snippet.write_text(HANDLER)
    out, _, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                              "--cache-dir", str(ROOT / ".mypy_cache"), str(snippet)])
    assert status == 1
    assert 'Property "person" defined in "Context" is read-only' in out
    assert 'Property "event" defined in "Turn" is read-only' in out
