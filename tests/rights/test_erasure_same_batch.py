"""Erasure confirmed while the same person's next message waits in the same batch.

The erasure deletes that message with everything else of theirs; the dispatcher, which
claimed it for the batch already, must then leave it alone: handling it would bring the
erased number back as a new customer, and on SQLite it would mark whatever row got the
deleted row's id since (here the erasure's own scrub timer) as handled.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.rights.helpers import dump_all_rows
from tests.rights.test_erasure import ALICE, RecordingEraser, _alice_with_history
from werkbot.bot.hooks import hooks
from werkbot.bot.server import DISPATCHER
from werkbot.bot.storage.models import AddressRow
from werkbot.bot.testing import Harness, text
from werkbot.handlers.rights.registry import PROVIDER_ERASERS


async def test_a_message_behind_the_confirmation_in_one_batch_is_not_handled(
        h: Harness) -> None:
    eraser = RecordingEraser()
    hooks(h.services, PROVIDER_ERASERS).add("whatsapp", eraser)
    await _alice_with_history(h)
    await h.say(ALICE, "löschen")
    before = len(h.adapters["whatsapp"].to(ALICE))
    await h.feed(text(ALICE, "ja", at=h.clock.now()),
                 text(ALICE, "Noch etwas: Alice-Z9Q4", at=h.clock.now()))
    assert await h.app[DISPATCHER].handle_batch() == 2  # one batch: both claimed together
    await h.run()
    got = [s.text for s in h.adapters["whatsapp"].to(ALICE)[before:]]
    assert len(got) == 1 and "gelöscht" in got[0]  # the confirmation, no consent request
    async with h.services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(AddressRow).where(
            AddressRow.address == str(ALICE))) == 0  # no new customer from the number
    await h.advance(timedelta(minutes=5))
    assert eraser.calls  # the scrub ran: the provider's copies are deleted
    rows = await dump_all_rows(h)
    assert "Alice-Z9Q4" not in rows and ALICE.id not in rows
