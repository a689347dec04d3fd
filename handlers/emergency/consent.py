"""The emergency side of consent: may staff see this customer's details, and asking.

Vital interests let werkbot give safety advice and the on-call number to anyone
(`kinds.SAFETY`, `kinds.ONCALL_NUMBER` are exempt at the gate); the customer's own data
reach staff only with consent for the `emergency` purpose (GDPR Art. 6(1)(a)), checked
here before any alert carries details (`kinds.ALERT_DETAILS`), also in timer events
where the gate has no customer to look at.
"""

from __future__ import annotations

from werkbot.bot.context import Context
from werkbot.handlers.consent import ask_consent as _ask_consent
from werkbot.handlers.consent import kinds
from werkbot.handlers.consent import may_share as _may_share
from werkbot.handlers.consent.ledger import EMERGENCY

SAFETY = kinds.SAFETY
ONCALL_NUMBER = kinds.ONCALL_NUMBER
ALERT = kinds.ALERT  # content-free: "an emergency came in"
ALERT_DETAILS = kinds.ALERT_DETAILS  # the customer's message, media, location, contact
EMERGENCY_UPDATE = kinds.EMERGENCY_UPDATE  # to the customer: who is coming


async def may_share(ctx: Context, customer_id: int) -> bool:
    """Does the customer consent to their emergency reaching staff (on any channel)?"""
    return await ctx.repo(lambda session: _may_share(session, customer_id, EMERGENCY))


async def ask_consent(ctx: Context) -> None:
    """Ask the sender for consent, in the same breath as the emergency answer."""
    await _ask_consent(ctx)
