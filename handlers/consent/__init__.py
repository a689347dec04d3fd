"""Consent: the append-only ledger, the gate, and the dialogues around them.

What the lead wires (see `handlers/__init__.py`):

- `words_router(yield_to=(rights.erasure_pending,))` (or the plain `words`): yes / no /
  other ways / stop / stop everything / start, before the rights router; `gate`: the
  catch-all for customers without consent, after it. `gate` also carries the consent
  timers and the delivery fallback.
- `build_policy(services)`: the `DeliveryPolicy` for `HandlerBundle.policy`.
- `setup(services)`: records staff commitments and schedules the daily retention sweep.

What other handlers call:

- `ask_consent(ctx)`: send the consent request on the sender's channel (emergencies).
- `consent_status(session, person_id)`: the whole picture, for admin commands.
- `may_share(session, customer_id, purpose)`: may this customer's data reach staff?
- `release_held(session, person_id, now)`: re-dispatch held messages (after a web
  consent); `forget(session, person_id)`: drop held messages and open requests (erasure;
  `erase_consent_records` is the same for `hooks(services, rights.ERASERS).add("consent", ...)`).
- `send_or_tell_office(ctx, person_id, reply)`: reach a person on an allowed channel,
  or tell the office (content-free) that it was not possible; `tell_office` alone.
- `kinds`: the message kinds the gate knows (exempt kinds, purposes, staff data).
- `ON_GRANTED`, `KEEP_MEDIA` (bot/hooks.py keys): run after a chat consent (e.g. emergency
  details to the fitter) and media a job still needs, registered from a `setup`.
"""

from __future__ import annotations

from werkbot.bot.services import Services
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent.commitments import record_commitments
from werkbot.handlers.consent.delivery import send_or_tell_office, tell_office
from werkbot.handlers.consent.dialogue import ask_consent
from werkbot.handlers.consent.gate import router as gate
from werkbot.handlers.consent.holds import erase_consent_records, forget, is_released, release_held
from werkbot.handlers.consent.hooks import KEEP_MEDIA, ON_GRANTED
from werkbot.handlers.consent.policy import ConsentPolicy, build_policy
from werkbot.handlers.consent.retention import evidence_media, schedule_next, sweep
from werkbot.handlers.consent.status import ChannelStatus, ConsentStatus, consent_status, may_share
from werkbot.handlers.consent.words import router as words
from werkbot.handlers.consent.words import words_router

__all__ = [
    "KEEP_MEDIA",
    "ON_GRANTED",
    "ChannelStatus",
    "ConsentPolicy",
    "ConsentStatus",
    "ask_consent",
    "build_policy",
    "consent_status",
    "erase_consent_records",
    "evidence_media",
    "forget",
    "gate",
    "is_released",
    "kinds",
    "may_share",
    "release_held",
    "send_or_tell_office",
    "setup",
    "sweep",
    "tell_office",
    "words",
    "words_router",
]


async def setup(services: Services) -> None:
    """Start-up: staff commitments on record, today's retention sweep scheduled."""
    await record_commitments(services)
    async with services.db.session() as session:
        await schedule_next(session, services, services.clock.now(), today=True)
