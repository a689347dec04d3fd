"""Identity across channels: a Telegram chat joins a person, staff merge two persons.

`router` goes after emergencies and before the consent words (a `/start <payload>` or a
shared own contact must reach it before the gate holds it). `/person` registers with the
staff command registry on import. The WhatsApp-SMS link by number is the core's
(`bot.identity`), made when the first message arrives.
"""

from __future__ import annotations

from werkbot.handlers.identity import command
from werkbot.handlers.identity.joining import router
from werkbot.handlers.identity.links import personal_link

__all__ = ["command", "personal_link", "router"]
