"""Outbound replies: what werkbot says, before any channel has shaped it.

Handlers build these; `bot.capabilities.degrade` fits them to a channel; adapters render
them. `kind` names the message kind (e.g. "consent_request", "alert") so that a channel
with rules such as WhatsApp's 24-hour window can pick an approved template for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Choice:
    """One button: the label people see and the stable value that comes back."""

    label: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """Base of every outbound reply."""

    kind: str = "reply"
    reply_to: str = ""  # provider id of the message this answers, where the channel threads
    thread: str = ""  # target thread (a Telegram forum topic), where the channel has them
    ephemeral: bool = False  # forget address and content once sent (e.g. erasure's last word)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextReply(Reply):
    text: str
    # False: the channel shows no preview of a link in the text, so no preview fetcher
    # opens it (a one-time sign-in link must reach the person unused)
    link_preview: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoicesReply(Reply):
    text: str
    choices: tuple[Choice, ...]
    share_contact: bool = False  # ask the person to share their own number (Telegram)


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaReply(Reply):
    """Media from the media store by id, with a caption; several make an album."""

    media_ids: tuple[int, ...]
    caption: str = ""
    media_kinds: tuple[str, ...] = ()  # "image", "document", ... one per media id


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateReply(Reply):
    """A provider-approved template (WhatsApp outside the 24-hour window)."""

    template: str
    variables: dict[str, str] = field(default_factory=dict)
    fallback_text: str = ""


def text_of(reply: Reply) -> str:
    """The words a reply carries: its text, caption or a template's fallback text."""
    if isinstance(reply, TextReply | ChoicesReply):
        return reply.text
    if isinstance(reply, MediaReply):
        return reply.caption
    if isinstance(reply, TemplateReply):
        return reply.fallback_text
    return ""


REPLY_TYPES: dict[str, type[Reply]] = {
    cls.__name__: cls for cls in (TextReply, ChoicesReply, MediaReply, TemplateReply)
}
