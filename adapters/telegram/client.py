"""The Bot API client: aiogram's `Bot` behind a few calls werkbot needs, errors translated.

This is the only module besides `sender.py` that imports aiogram, and it is imported only
when the Telegram channel starts: aiogram and pydantic's models are large in memory
(bench/README.md), so a server without Telegram never loads them. After the first import
the heap is frozen (`gc.freeze()`), which keeps those long-lived objects out of every later
full collection.
"""

from __future__ import annotations

import gc
import io
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiohttp import ClientError

from werkbot.bot.adapter import MediaTooLarge, MediaUnavailable, SendError

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile serves files up to 20 MB to bots
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
_frozen = False


def freeze_heap_once() -> None:
    """Freeze the heap once after aiogram's import (see the module docstring)."""
    global _frozen  # a process-wide, one-time switch
    if not _frozen:
        gc.freeze()
        _frozen = True


ACCEPTED_UNREADABLE = "accepted-unreadable"


class AcceptedUnreadable(ClientDecodeError):
    """An answer with a 2xx status whose body cannot be read: the Bot API answers 2xx only
    when it carried out the call, so a send behind it was sent (never send it again)."""


class _AnswerAwareSession(AiohttpSession):
    """aiogram's session, telling an unreadable success from an unreadable failure (aiogram
    reads the body before the status, so both would be one `ClientDecodeError`)."""

    def check_response(self, bot: Any, method: Any, status_code: int, content: str) -> Any:
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError as exc:
            if 200 <= status_code < 300:
                raise AcceptedUnreadable(exc.message, exc.original, exc.data) from exc
            raise


class TelegramClient:
    """One `Bot` (one HTTP session) per adapter; every call maps failures to `SendError`."""

    def __init__(self, token: str, api_base: str) -> None:
        freeze_heap_once()
        session = _AnswerAwareSession(api=TelegramAPIServer.from_base(api_base))
        self.bot = Bot(token, session=session)

    async def close(self) -> None:
        await self.bot.session.close()

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one API call; any failure becomes a `SendError` the outbox understands."""
        try:
            return await make()
        except TelegramRetryAfter as exc:
            raise SendError("rate limited", code="429", retryable=True,
                            retry_after=float(exc.retry_after)) from exc
        except TelegramForbiddenError as exc:
            # Blocked by the user, kicked from the group, or the user deleted the account.
            raise SendError("bot blocked or removed", code="403", unreachable=True) from exc
        except TelegramMigrateToChat as exc:
            raise SendError("group became a supergroup", code="migrated") from exc
        except TelegramServerError as exc:
            raise SendError("Telegram server error", code="5xx", retryable=True) from exc
        except TelegramNetworkError as exc:
            raise SendError("network error", code="network", retryable=True) from exc
        except TelegramBadRequest as exc:
            raise SendError(f"bad request: {exc.message}", code="400") from exc
        except TelegramAPIError as exc:
            raise SendError(f"{type(exc).__name__}: {exc.message}",
                            code=type(exc).__name__) from exc
        except AcceptedUnreadable as exc:  # Telegram said 200: it took the call
            raise SendError("the Bot API accepted the call; its answer was unreadable",
                            code=ACCEPTED_UNREADABLE) from exc
        except ClientDecodeError as exc:  # a proxy's HTML error page, a truncated body
            raise SendError("unreadable answer from the Bot API", code="decode",
                            retryable=True) from exc

    async def ensure_webhook(self, url: str, secret: str) -> bool:
        """Set the webhook unless Telegram already has it; True if it was (re)set.

        The secret cannot be read back, so a changed secret is noticed through Telegram's
        last delivery error (our 401/403): then the webhook is set again.
        """
        info = await self.call(self.bot.get_webhook_info)
        rejected = any(code in (info.last_error_message or "") for code in ("401", "403"))
        same_updates = sorted(info.allowed_updates or ()) == sorted(ALLOWED_UPDATES)
        if info.url == url and same_updates and not rejected:
            return False
        await self.call(lambda: self.bot.set_webhook(
            url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)))
        return True

    async def delete_webhook(self) -> None:
        await self.call(lambda: self.bot.delete_webhook(drop_pending_updates=False))

    async def get_updates(self, offset: int | None, wait: int) -> list[dict[str, Any]]:
        updates = await self.call(lambda: self.bot.get_updates(
            offset=offset, timeout=wait, allowed_updates=list(ALLOWED_UPDATES),
            request_timeout=wait + 10))
        # Back to Telegram's own JSON shape ("from", not "from_user") for the one parser.
        return [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in updates]

    async def answer_callback(self, query_id: str) -> None:
        try:
            await self.call(lambda: self.bot.answer_callback_query(query_id))
        except SendError as exc:
            # Only the button's spinner is at stake; the choice itself is stored.
            log.warning("answerCallbackQuery failed: %s", exc.code)

    async def delete_copies(self, provider_ids: Sequence[str]) -> list[str]:
        """Delete werkbot's own sent messages (`<chat>:<message>` ids, erasure); return the
        ids to try again later. Telegram refuses some for good (no right to delete there,
        already gone): those are logged and dropped, since asking again cannot help."""
        remaining: list[str] = []
        for provider_id in provider_ids:
            parts = provider_id.split(":")
            if len(parts) < 2 or not parts[-1].isdigit():
                continue
            chat, message = parts[-2], int(parts[-1])
            try:
                await self.call(partial(self.bot.delete_message, chat_id=chat,
                                        message_id=message))
            except SendError as exc:
                if exc.retryable:
                    remaining.append(provider_id)
                else:
                    log.info("a Telegram copy could not be deleted (%s)", exc.code)
        return remaining

    async def download(self, file_id: str, size_hint: int | None) -> tuple[bytes, str]:
        """getFile, then the file's bytes; over 20 MB raises `MediaTooLarge`."""
        if size_hint and size_hint > MAX_DOWNLOAD:
            raise MediaTooLarge(f"{size_hint} bytes over Telegram's 20 MB download limit")
        try:
            file = await self.bot.get_file(file_id)
        except TelegramBadRequest as exc:
            if "too big" in exc.message.lower():
                raise MediaTooLarge("over Telegram's 20 MB download limit") from exc
            raise MediaUnavailable(f"getFile answered 400: {exc.message[:80]}") from exc
        except (TelegramAPIError, ClientError, ClientDecodeError) as exc:
            raise MediaUnavailable(f"getFile failed: {type(exc).__name__}") from exc
        if (file.file_size or 0) > MAX_DOWNLOAD:
            raise MediaTooLarge("over Telegram's 20 MB download limit")
        if not file.file_path:
            raise MediaUnavailable("getFile gave no file path")
        buffer = io.BytesIO()
        try:
            await self.bot.download_file(file.file_path, destination=buffer)
        except (TelegramAPIError, ClientError, ClientDecodeError) as exc:
            raise MediaUnavailable(f"file download failed: {type(exc).__name__}") from exc
        data = buffer.getvalue()
        if len(data) > MAX_DOWNLOAD:
            raise MediaTooLarge("over Telegram's 20 MB download limit")
        return data, _content_type_of(file.file_path)


def _content_type_of(path: str) -> str:
    # The Bot API gives no content type for a file; the media store sniffs the bytes anyway.
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return _SUFFIX_TYPES.get(suffix, "application/octet-stream")


_SUFFIX_TYPES: Mapping[str, str] = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "oga": "audio/ogg", "ogg": "audio/ogg", "mp3": "audio/mpeg", "m4a": "audio/mp4",
    "mp4": "video/mp4", "pdf": "application/pdf",
}


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
