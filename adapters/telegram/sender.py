"""Replies to Bot API calls: texts, inline and contact keyboards, media and albums.

Media is uploaded from the media store once; the `file_id` Telegram returns is cached in
memory and sent instead of the bytes from then on (a stale id falls back to an upload).
Button values travel as callback data `wb:<value>` (at most 64 bytes), the prefix that
lets the plug-ins tell werkbot's buttons from the host bot's.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaAudio,
    InputMediaDocument,
    InputMediaLivePhoto,
    InputMediaPhoto,
    InputMediaVideo,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyParameters,
)

from werkbot.adapters.telegram.client import ACCEPTED_UNREADABLE, TelegramClient, chunks
from werkbot.adapters.telegram.memory import ChatMemory
from werkbot.adapters.telegram.parse import CALLBACK_PREFIX
from werkbot.bot.adapter import MediaAccess, Receipt, SendError
from werkbot.bot.addresses import mask
from werkbot.bot.replies import ChoicesReply, MediaReply, Reply, TemplateReply, TextReply, text_of

log = logging.getLogger(__name__)
MAX_CALLBACK_BYTES = 64
NEW_TOPIC = "new:"  # a reply thread "new:<key>" asks for a new forum topic (office inbox)
TOPIC_NAME_MAX = 128
ALBUM_MAX = 10
# Telegram albums mix photos and videos; documents and audio only group with their own kind.
_ALBUM_FAMILY = {"image": "visual", "video": "visual", "document": "document", "audio": "audio"}
InputMedia = (InputMediaAudio | InputMediaDocument | InputMediaLivePhoto | InputMediaPhoto
              | InputMediaVideo)


class ReplySender:
    """Sends one reply to one chat; returns the receipt of its first message."""

    def __init__(self, client: TelegramClient, media: MediaAccess, memory: ChatMemory,
                 cache_limit: int = 10_000) -> None:
        self._client = client
        self._bot = client.bot
        self._media = media
        self._memory = memory
        self._file_ids: OrderedDict[int, str] = OrderedDict()
        self._topics: dict[str, str] = {}  # "<chat>/new:<key>" -> forum topic id
        self._cache_limit = cache_limit

    async def send(self, chat_id: str, reply: Reply) -> Receipt:
        """Send `reply`; an accepted call whose answer was unreadable counts as sent (with
        no message id): sending it again would show the person the message twice."""
        try:
            return await self._send(chat_id, reply)
        except SendError as exc:
            if exc.code != ACCEPTED_UNREADABLE:
                raise
            log.warning("telegram accepted a send to %s with an unreadable answer; "
                        "recorded as sent", mask(chat_id))
            return Receipt(provider_id="", status="sent", thread=reply.thread
                           if reply.thread.isdigit() else "")

    async def _send(self, chat_id: str, reply: Reply) -> Receipt:
        where: dict[str, Any] = {"chat_id": chat_id}
        thread = reply.thread
        if thread.startswith(NEW_TOPIC):
            thread = await self._topic(chat_id, thread, reply)
        if thread.isdigit():
            where["message_thread_id"] = int(thread)
        if reply.reply_to:
            target = reply.reply_to.rsplit(":", 1)[-1]
            if target.isdigit():
                where["reply_parameters"] = ReplyParameters(
                    message_id=int(target), allow_sending_without_reply=True)
        if isinstance(reply, MediaReply):
            sent = await self._send_media(reply, where)
        elif isinstance(reply, ChoicesReply):
            sent = [await self._send_text(reply.text, where, self._markup(chat_id, reply))]
        elif isinstance(reply, TextReply):
            if not reply.link_preview:
                where["link_preview_options"] = LinkPreviewOptions(is_disabled=True)
            sent = [await self._send_text(reply.text, where)]
        elif isinstance(reply, TemplateReply):  # Telegram has no templates: say it plainly
            sent = [await self._send_text(reply.fallback_text, where)]
        else:
            raise SendError(f"cannot render {type(reply).__name__}", code="unsupported")
        for message in sent:
            self._memory.remember_sent(chat_id, message.message_id)
        return Receipt(provider_id=f"{chat_id}:{sent[0].message_id}", thread=thread)

    async def _topic(self, chat_id: str, marker: str, reply: Reply) -> str:
        """The forum topic for a `new:<key>` marker, opened on first use (named after the
        first line of the message, which the office inbox makes a header)."""
        key = f"{chat_id}/{marker}"
        if key not in self._topics:
            first_line = (text_of(reply).strip().splitlines() or ["werkbot"])[0]
            topic = await self._client.call(lambda: self._bot.create_forum_topic(
                chat_id=chat_id, name=first_line[:TOPIC_NAME_MAX] or "werkbot"))
            self._topics[key] = str(topic.message_thread_id)
        return self._topics[key]

    async def _send_text(self, text: str, where: dict[str, Any],
                         markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
                         ) -> Message:
        # parse_mode=None: werkbot's texts are plain; '<' or '*' must not turn into markup.
        return await self._client.call(lambda: self._bot.send_message(
            text=text, parse_mode=None, reply_markup=markup, **where))

    def _markup(self, chat_id: str, reply: ChoicesReply
                ) -> InlineKeyboardMarkup | ReplyKeyboardMarkup:
        if reply.share_contact:
            first, *others = reply.choices or ()
            label = first.label if reply.choices else "📱"
            rows = [[KeyboardButton(text=label, request_contact=True)]]
            rows += [[KeyboardButton(text=c.label)] for c in others]
            # Telegram sends a reply-keyboard press as plain text: remember what it means.
            self._memory.remember_keyboard(chat_id, {c.label: c.value for c in others})
            return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True,
                                       one_time_keyboard=True)
        buttons = []
        for choice in reply.choices:
            data = CALLBACK_PREFIX + choice.value
            if len(data.encode()) > MAX_CALLBACK_BYTES:
                raise SendError(f"choice value over {MAX_CALLBACK_BYTES - len(CALLBACK_PREFIX)}"
                                " bytes", code="callback-data-too-long")
            buttons.append([InlineKeyboardButton(text=choice.label, callback_data=data)])
        return InlineKeyboardMarkup(inline_keyboard=buttons)

    async def _send_media(self, reply: MediaReply, where: dict[str, Any]) -> list[Message]:
        kinds = reply.media_kinds or ("image",) * len(reply.media_ids)
        items = list(zip(reply.media_ids, kinds, strict=True))
        sent: list[Message] = []
        for run in _runs(items):
            for part in chunks(run, ALBUM_MAX):
                caption = reply.caption if not sent else ""
                try:
                    sent += await self._send_part(part, caption, where)
                except SendError as exc:
                    if exc.code != "400" or not any(m in self._file_ids for m, _ in part):
                        raise
                    log.info("cached file_id refused; uploading again")
                    for media_id, _ in part:
                        self._file_ids.pop(media_id, None)
                    sent += await self._send_part(part, caption, where)
        return sent

    async def _send_part(self, part: Sequence[tuple[int, str]], caption: str,
                         where: dict[str, Any]) -> list[Message]:
        if len(part) == 1:
            media_id, kind = part[0]
            message = await self._send_one(media_id, kind, caption, where)
            self._cache(media_id, message)
            return [message]
        album: list[InputMedia] = []
        for i, (media_id, kind) in enumerate(part):
            file = await self._file(media_id)
            text = caption if i == 0 and caption else None
            album.append(_input_media(kind, file, text))
        messages = await self._client.call(lambda: self._bot.send_media_group(
            media=album, **_without_markup(where)))
        for (media_id, _), message in zip(part, messages, strict=False):
            self._cache(media_id, message)
        return messages

    async def _send_one(self, media_id: int, kind: str, caption: str,
                        where: dict[str, Any]) -> Message:
        file = await self._file(media_id)
        text = caption or None
        bot = self._bot
        if kind == "image":
            return await self._client.call(lambda: bot.send_photo(
                photo=file, caption=text, parse_mode=None, **where))
        if kind == "voice":
            return await self._client.call(lambda: bot.send_voice(
                voice=file, caption=text, parse_mode=None, **where))
        if kind == "audio":
            return await self._client.call(lambda: bot.send_audio(
                audio=file, caption=text, parse_mode=None, **where))
        if kind == "video":
            return await self._client.call(lambda: bot.send_video(
                video=file, caption=text, parse_mode=None, **where))
        return await self._client.call(lambda: bot.send_document(
            document=file, caption=text, parse_mode=None, **where))

    async def _file(self, media_id: int) -> str | BufferedInputFile:
        cached = self._file_ids.get(media_id)
        if cached is not None:
            self._file_ids.move_to_end(media_id)
            return cached
        try:
            stored = await self._media.read(media_id)
        except FileNotFoundError as exc:
            raise SendError(f"media {media_id} is not stored", code="media-missing") from exc
        return BufferedInputFile(stored.data, filename=stored.filename)

    def _cache(self, media_id: int, message: Message) -> None:
        file_id = _file_id_of(message)
        if file_id:
            self._file_ids[media_id] = file_id
            if len(self._file_ids) > self._cache_limit:
                self._file_ids.popitem(last=False)


def _runs(items: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Consecutive items that may share an album; voice notes always go alone."""
    runs: list[list[tuple[int, str]]] = []
    family_of_last = ""
    for media_id, kind in items:
        family = _ALBUM_FAMILY.get(kind, f"alone-{media_id}")
        if runs and family == family_of_last:
            runs[-1].append((media_id, kind))
        else:
            runs.append([(media_id, kind)])
        family_of_last = family
    return runs


def _input_media(kind: str, file: str | BufferedInputFile, caption: str | None) -> InputMedia:
    if kind == "image":
        return InputMediaPhoto(media=file, caption=caption, parse_mode=None)
    if kind == "video":
        return InputMediaVideo(media=file, caption=caption, parse_mode=None)
    if kind == "audio":
        return InputMediaAudio(media=file, caption=caption, parse_mode=None)
    return InputMediaDocument(media=file, caption=caption, parse_mode=None)


def _without_markup(where: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in where.items() if k != "reply_markup"}


def _file_id_of(message: Message) -> str:
    if message.photo:
        return message.photo[-1].file_id
    for item in (message.document, message.voice, message.audio, message.video):
        if item is not None:
            return item.file_id
    return ""

