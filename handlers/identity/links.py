"""Personal Telegram links: `https://t.me/<bot>?start=<payload>`, signed and expiring.

The payload names one customer (a short token from `Signer.sign_short`: 32 characters of
`[A-Za-z0-9_-]`, inside Telegram's 64) and works for `LINK_TTL`. werkbot gives it only
on the person's own WhatsApp or SMS chat: in the "no" and "other ways" answers and when
they ask (`telegram`). Whoever opens it in Telegram joins that person with their chat.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from werkbot.bot.services import Services

PURPOSE = "telegram-join"
LINK_TTL = timedelta(hours=24)


def personal_link(services: Services, person_id: int) -> str:
    """The bot's t.me link that joins the opener's Telegram chat to `person_id`; "" when
    Telegram is off or has no bot username."""
    username = services.settings.telegram.bot_username.lstrip("@")
    if not username or "telegram" not in services.channels:
        return ""
    payload = services.signer.sign_short(PURPOSE, person_id, LINK_TTL, services.clock.now())
    return f"https://t.me/{username}?start={payload}"


def person_of_payload(services: Services, payload: str, now: datetime) -> int | None:
    """The person a `start` payload names, or None (forged, expired, something else)."""
    return services.signer.verify_short(PURPOSE, payload, now)
