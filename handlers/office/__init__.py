"""The office inbox (human takeover): customers' messages reach the office, answers return.

Two routers, because the two sides sit at different places in the root:

- `replies_router` goes FIRST (before the staff commands): messages in the office's
  Telegram forum group and staff replies to forwarded messages. The group's sender is
  the group chat, which is no staff member and must never meet the consent gate.
- `router` goes at position 7 (after consent gate, menu and jobs): consented customers'
  messages, forwarded to the office.

`answer_customer` is THE office answer path (chat, `/reply <n>`, the office web app):
consent gate and WhatsApp window included. Importing this package registers `/reply`.
`erase_office_records` is for the rights feature's eraser registry.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from werkbot.bot import hooks as plug_in_points
from werkbot.bot.services import Services
from werkbot.handlers.office import reply_command
from werkbot.handlers.office.hooks import optional
from werkbot.handlers.office.inbox import router
from werkbot.handlers.office.replies import OfficeAnswer, answer_customer
from werkbot.handlers.office.replies import router as replies_router
from werkbot.handlers.office.store import ConversationsRepo, erase_office_records

__all__ = ["ConversationsRepo", "OfficeAnswer", "answer_customer", "erase_office_records",
           "register", "replies_router", "router"]
_COMMANDS = (reply_command,)  # registered on import


async def _erase(session: AsyncSession, services: Services, person_id: int) -> None:
    await erase_office_records(session, person_id)


def register(services: Services) -> None:
    """Erasure takes the office's records of the person along (when rights is installed)."""
    key = optional("werkbot.handlers.rights.registry", "ERASERS")
    if key is not None:
        plug_in_points.hooks(services, key).add("office", _erase)
