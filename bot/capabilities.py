"""What a channel can render, and the one function that fits a reply to it.

Handlers never branch on the channel: they say what they mean (choices, media, long
text) and `degrade` rewrites it once, here, for the channel that will carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from werkbot.bot.gsm7 import to_gsm7
from werkbot.bot.replies import ChoicesReply, MediaReply, Reply, TemplateReply, TextReply


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one channel renders. `window_hours` is WhatsApp's customer-service window."""

    buttons: bool = False
    max_buttons: int = 0
    max_text: int = 4096
    media_kinds: frozenset[str] = frozenset()
    max_media_bytes: int = 0
    media_group: bool = False
    templates: bool = False
    window_hours: int | None = None
    share_contact: bool = False
    gsm7: bool = False  # SMS: text fitted to GSM-7 (no emoji), 160 characters a segment


def degrade(reply: Reply, caps: Capabilities,
            media_link: MediaLinker | None = None) -> list[Reply]:
    """Rewrite `reply` into one or more replies the channel with `caps` can carry."""
    if caps.gsm7:
        reply = _in_gsm7(reply)
    if isinstance(reply, ChoicesReply):
        if caps.buttons and len(reply.choices) <= caps.max_buttons:
            if reply.share_contact and not caps.share_contact:
                reply = replace(reply, share_contact=False)
            return [reply] if len(reply.text) <= caps.max_text else _choices_split(reply, caps)
        return split_text(_numbered(reply), caps, reply)
    if isinstance(reply, TextReply):
        return split_text(reply.text, caps, reply)
    if isinstance(reply, MediaReply):
        return _degrade_media(reply, caps, media_link)
    if isinstance(reply, TemplateReply):
        if caps.templates:
            return [reply]
        return split_text(reply.fallback_text, caps, reply)
    raise TypeError(f"unknown reply type {type(reply).__name__}")


def _in_gsm7(reply: Reply) -> Reply:
    """The reply's words in GSM-7 (`bot.gsm7`): an emoji turns a whole SMS into UCS-2."""
    if isinstance(reply, TextReply):
        return replace(reply, text=to_gsm7(reply.text))
    if isinstance(reply, ChoicesReply):
        return replace(reply, text=to_gsm7(reply.text), choices=tuple(
            replace(c, label=to_gsm7(c.label)) for c in reply.choices))
    if isinstance(reply, MediaReply):
        return replace(reply, caption=to_gsm7(reply.caption))
    if isinstance(reply, TemplateReply):
        return replace(reply, fallback_text=to_gsm7(reply.fallback_text))
    return reply


class MediaLinker:
    """Turns a stored media id into a public link, for channels that cannot carry it."""

    def link(self, media_id: int) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _numbered(reply: ChoicesReply) -> str:
    lines = [reply.text, ""]
    lines += [f"{i}) {c.label}" for i, c in enumerate(reply.choices, start=1)]
    return "\n".join(lines)


def _choices_split(reply: ChoicesReply, caps: Capabilities) -> list[Reply]:
    parts = split_text(reply.text, caps, reply)
    last = parts[-1]
    assert isinstance(last, TextReply)
    return [*parts[:-1], replace(reply, text=last.text)]


def _degrade_media(
    reply: MediaReply, caps: Capabilities, media_link: MediaLinker | None
) -> list[Reply]:
    kinds = reply.media_kinds or ("image",) * len(reply.media_ids)
    carried = [m for m, k in zip(reply.media_ids, kinds, strict=True) if k in caps.media_kinds]
    linked = [m for m, k in zip(reply.media_ids, kinds, strict=True) if k not in caps.media_kinds]
    out: list[Reply] = []
    if carried:
        carried_kinds = tuple(k for k in kinds if k in caps.media_kinds)
        if caps.media_group:
            out.append(replace(reply, media_ids=tuple(carried), media_kinds=carried_kinds))
        else:
            for i, (media_id, kind) in enumerate(zip(carried, carried_kinds, strict=True)):
                caption = reply.caption if i == 0 else ""
                out.append(
                    replace(reply, media_ids=(media_id,), media_kinds=(kind,), caption=caption)
                )
    if linked:
        links = [media_link.link(m) if media_link else f"#media-{m}" for m in linked]
        head = reply.caption if not carried else ""
        text = "\n".join([head, *links]).strip()
        out.extend(split_text(text, caps, reply))
    return out


def split_text(text: str, caps: Capabilities, like: Reply) -> list[Reply]:
    """Split text at paragraph, line or word boundaries into chunks the channel takes."""
    limit = max(caps.max_text, 16)
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _best_cut(rest, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks.append(rest)
    preview = like.link_preview if isinstance(like, TextReply) else True
    return [TextReply(text=c, kind=like.kind, reply_to=like.reply_to, thread=like.thread,
                      link_preview=preview) for c in chunks]


def _best_cut(text: str, limit: int) -> int:
    window = text[:limit]
    for sep in ("\n\n", "\n", ". ", " "):
        pos = window.rfind(sep)
        if pos > limit // 2:
            return pos + len(sep)
    return limit
