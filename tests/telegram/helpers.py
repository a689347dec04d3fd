"""Small helpers shared by the Telegram tests: posting webhooks and reading the inbox."""

from __future__ import annotations

import copy
from typing import Any, Protocol

from aiohttp import ClientResponse, web
from sqlalchemy import select

from tests.telegram.conftest import SECRET
from werkbot.adapters.telegram.adapter import SECRET_HEADER, WEBHOOK_PATH
from werkbot.bot.codec import loads_event
from werkbot.bot.events import Event
from werkbot.bot.server import SERVICES
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.testing import Harness


async def post_update(harness: Harness, update: dict[str, Any],
                      secret: str | None = SECRET) -> ClientResponse:
    assert harness.client is not None
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return await harness.client.post(WEBHOOK_PATH, json=update, headers=headers)


class HasApp(Protocol):
    app: web.Application


async def stored_events(owner: HasApp) -> list[Event]:
    """Every event the channel stored in the inbox of an app, in order (timers left out)."""
    async with owner.app[SERVICES].db.session() as session:
        rows = (await session.scalars(select(InboxRow).where(InboxRow.kind != "TimerEvent")
                                      .order_by(InboxRow.id))).all()
        return [loads_event(row.payload) for row in rows]


def text_update(update_id: int, text: str, chat_id: int = 7001, **message: Any
                ) -> dict[str, Any]:
    user = {"id": 7001, "is_bot": False, "first_name": "Alice", "language_code": "de"}
    chat: dict[str, Any] = ({"id": chat_id, "type": "private", "first_name": "Alice"}
                            if chat_id > 0 else
                            {"id": chat_id, "type": "supergroup", "title": "Büro",
                             "is_forum": True})
    if text.startswith("/"):  # Telegram marks commands; offsets count UTF-16 code units
        head = text.split(maxsplit=1)[0]
        message.setdefault("entities", [{"type": "bot_command", "offset": 0,
                                         "length": len(head.encode("utf-16-le")) // 2}])
    return {"update_id": update_id, "message": {
        "message_id": update_id % 100000, "date": 1764666000, "from": user, "chat": chat,
        "text": text, **message}}


def album(first_update_id: int, count: int, group: str = "album-1") -> list[dict[str, Any]]:
    base = {"message_id": 0, "date": 1764666000, "media_group_id": group,
            "from": {"id": 7001, "is_bot": False, "first_name": "Alice"},
            "chat": {"id": 7001, "type": "private", "first_name": "Alice"}}
    out = []
    for i in range(count):
        message = copy.deepcopy(base)
        message["message_id"] = 300 + i
        message["photo"] = [{"file_id": f"album-{i}-small", "file_unique_id": f"s{i}",
                             "width": 90, "height": 90},
                            {"file_id": f"album-{i}-large", "file_unique_id": f"l{i}",
                             "width": 1280, "height": 960, "file_size": 1000 + i}]
        if i == 0:
            message["caption"] = "Wasser im Keller"
        out.append({"update_id": first_update_id + i, "message": message})
    return out


def blocked_update(update_id: int, chat_id: int = 7001) -> dict[str, Any]:
    bot_user = {"id": 555000111, "is_bot": True, "first_name": "Fitter Bot"}
    return {"update_id": update_id, "my_chat_member": {
        "chat": {"id": chat_id, "type": "private", "first_name": "Alice"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Alice"}, "date": 1764666000,
        "old_chat_member": {"status": "member", "user": bot_user},
        "new_chat_member": {"status": "kicked", "until_date": 0, "user": bot_user}}}
