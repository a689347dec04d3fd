"""What a customer's message says, for the office: text, stored media and notes.

Nothing is dropped. Text, captions, locations, shared contacts (a Telegram contact or a
WhatsApp vCard, read by `bot.vcard`), edits and what werkbot cannot show (a poll, an
unknown WhatsApp message type: named, so the office can ask) become text; photos,
voice notes, videos and documents are downloaded into the media store. Stickers and
animations are named, not filed. An attachment that cannot be fetched becomes a note on
the message ("Foto konnte nicht geladen werden") and the text goes on at once; the
download is tried again in the background (`attachments.schedule_retry`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from werkbot.bot.adapter import MediaTooLarge, MediaUnavailable
from werkbot.bot.context import Context
from werkbot.bot.events import (
    ContactEvent,
    EditEvent,
    Event,
    LocationEvent,
    MediaEvent,
    MediaRef,
    TextEvent,
    UnknownEvent,
)
from werkbot.bot.replies import MediaReply, Reply, TextReply
from werkbot.bot.vcard import ContactCard, VCardError, parse_vcards

log = logging.getLogger(__name__)
FORWARD = "forward"  # the consent gate's kind for customer data going to staff
NAMED_ONLY = frozenset({"sticker", "animation"})  # said, not downloaded or filed
MISSING_KINDS = frozenset({"image", "voice", "audio", "video", "document", "contact"})


@dataclass(frozen=True)
class Content:
    """What the customer sent, as a text part and stored media."""

    text: str
    media_ids: tuple[int, ...] = ()
    media_kinds: tuple[str, ...] = ()

    def reply(self, prefix: str, *, kind: str = FORWARD, thread: str = "") -> Reply:
        text = "\n\n".join(p for p in (prefix, self.text) if p)
        if self.media_ids:
            return MediaReply(kind=kind, media_ids=self.media_ids, caption=text,
                              media_kinds=self.media_kinds, thread=thread)
        return TextReply(kind=kind, text=text, thread=thread)

    def __add__(self, other: Content) -> Content:
        return Content("\n".join(p for p in (self.text, other.text) if p),
                       self.media_ids + other.media_ids, self.media_kinds + other.media_kinds)


async def content_of(event: Event, ctx: Context, *, inbox_id: int | None = None,
                     only: Collection[int] | None = None,
                     failed: Mapping[int, MediaUnavailable] | None = None) -> Content:
    """The event's text and media (downloaded into the media store, notes for the rest).

    `inbox_id`: the stored row the event came from, for retrying a failed download
    (default: the event being handled). `only`: the attachments to take (by position;
    default all), when another feature took the others. `failed`: attachments another
    feature just failed to fetch, with the error (not fetched twice in a row)."""
    if isinstance(event, TextEvent):
        return Content(event.text)
    if isinstance(event, EditEvent):
        return Content(ctx.t("inbox.edited", text=event.text))
    if isinstance(event, LocationEvent):
        label = " ".join(p for p in (event.label, event.address) if p)
        return Content(ctx.t("office.location", lat=f"{event.latitude:.5f}",
                             lon=f"{event.longitude:.5f}", label=label).strip())
    if isinstance(event, ContactEvent):
        return Content(contact_text(ctx, [ContactCard(event.name, (event.phone,))]))
    if isinstance(event, MediaEvent):
        return await _media_content(event, ctx, inbox_id, only, failed or {})
    if isinstance(event, UnknownEvent):
        return Content(ctx.t("inbox.unsupported", type=event.type or "?"))
    return Content("")


async def _media_content(event: MediaEvent, ctx: Context, inbox_id: int | None,
                         only: Collection[int] | None,
                         failed: Mapping[int, MediaUnavailable]) -> Content:
    from werkbot.handlers.office.attachments import schedule_retry  # it imports this module

    ids: list[int] = []
    kinds: list[str] = []
    notes: list[str] = []
    missing: list[int] = []
    for index, ref in enumerate(event.media):
        if only is not None and index not in only:
            continue
        if ref.kind in NAMED_ONLY:
            notes.append(ctx.t(f"inbox.{ref.kind}"))
            continue
        try:
            if index in failed:
                raise failed[index]
            part = await attachment(ctx, event, ref)
        except MediaTooLarge:
            notes.append(ctx.t("inbox.media_too_large", what=missing_word(ctx, ref.kind)))
            continue
        except (MediaUnavailable, LookupError) as exc:
            log.warning("an attachment could not be fetched (%s)", type(exc).__name__)
            notes.append(ctx.t("inbox.media_missing", what=missing_word(ctx, ref.kind)))
            if not getattr(exc, "permanent", True):
                missing.append(index)
            continue
        notes.append(part.text)
        ids.extend(part.media_ids)
        kinds.extend(part.media_kinds)
    row = inbox_id if inbox_id is not None else ctx.inbox_id
    if missing and row is not None and await schedule_retry(ctx, row, missing):
        notes.append(ctx.t("inbox.media_retrying"))
    text = "\n".join(p for p in (event.caption, *notes) if p)
    return Content(text, tuple(ids), tuple(kinds))


async def attachment(ctx: Context, event: MediaEvent, ref: MediaRef) -> Content:
    """One attachment: a contact card as text, anything else stored as a file.
    Raises `MediaUnavailable`, `MediaTooLarge` or `LookupError` (no such channel)."""
    if ref.kind == "contact":
        return Content(await _card_text(ctx, event, ref))
    saved = await ctx.download(ref, channel=event.sender.channel)
    kind = ref.kind if ref.kind in ("voice", "audio", "video") else saved.kind
    return Content("", (saved.id,), (kind,))


def missing_word(ctx: Context, kind: str) -> str:
    """'Foto', 'Sprachnachricht', 'Datei' ... for notes about an attachment."""
    return ctx.t(f"inbox.kinds.{kind if kind in MISSING_KINDS else 'document'}")


async def _card_text(ctx: Context, event: MediaEvent, ref: MediaRef) -> str:
    """A shared vCard as text; never stored as a file (it is a third person's data)."""
    fetch = ctx.services.fetchers.get(event.sender.channel)
    if fetch is None:
        raise MediaUnavailable("no channel to fetch the contact from")
    data, _ = await fetch(ref)
    try:
        return contact_text(ctx, parse_vcards(data))
    except VCardError as exc:
        log.info("a shared contact card was unreadable: %s", exc)
        return ctx.t("inbox.contact_unreadable")


def contact_text(ctx: Context, cards: list[ContactCard]) -> str:
    """'👤 Kontakt: Max Muster, +4917…' for each card."""
    lines = []
    for card in cards:
        details = ", ".join((*card.phones, *card.emails)) or "–"
        lines.append(ctx.t("inbox.contact", name=card.name or "?", details=details))
    return "\n".join(lines)
