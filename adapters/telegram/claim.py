"""Which updates werkbot takes over when it runs inside a host's aiogram or PTB bot.

The plug-ins must decide per update, without a database round trip, whether werkbot
handles it (and the host's handlers do not see it) or the host does. The rule, in order:

1. a callback query whose data starts with werkbot's prefix `wb:` (werkbot's buttons);
2. a message in the configured office chat (`telegram.office_chat`);
3. an emergency word anywhere in a text or caption (`words.emergency`): safety first;
4. a text that is exactly one werkbot word (any list under `[words]` in `config/texts`:
   `words.help`, `words.yes`, ...), with or without a leading `/`, or a werkbot command
   with arguments (`/job new ...`: every name and alias the handlers registered, passed
   in by whoever builds the rule); the host's reserved commands (default: `start`) stay
   the host's, so its `/start` keeps answering;
5. a job reference `#A-1042` in a text or caption;
6. an answer to werkbot: a reply to a message werkbot sent, a press on werkbot's reply
   keyboard, or a contact shared after werkbot asked for one (remembered in memory by the
   adapter, so lost on restart: then such a message goes to the host).

`my_chat_member` updates are *observed*: werkbot records a block, and the host still sees
them. Everything else belongs to the host, and so does every message in a group other than
the office chat: there werkbot serves nobody (in its own webhook or polling mode it says so
once per group; inside a host's bot the group is the host's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from werkbot.adapters.telegram.parse import CALLBACK_PREFIX, GROUP_TYPES, update_kind
from werkbot.bot.texts import Texts

_JOB_CODE = re.compile(r"#[A-Za-z]+-\d+")
_WORDS = re.compile(r"[\wäöüß]+", re.IGNORECASE)


class Verdict(Enum):
    """What a plug-in does with an update."""

    HOST = "host"  # not werkbot's: the host's handlers get it
    CLAIM = "claim"  # werkbot handles it; the host's handlers do not see it
    OBSERVE = "observe"  # werkbot records it and the host's handlers still get it


class Conversations(Protocol):
    """What the adapter remembers about its own sends (in memory, bounded)."""

    def sent_by_us(self, chat_id: str, message_id: int) -> bool: ...

    def asked_for_contact(self, chat_id: str) -> bool: ...

    def keyboard_value(self, chat_id: str, text: str) -> str | None: ...


@dataclass(frozen=True)
class ClaimRule:
    """The plug-in rule above, over word lists loaded once from `config/texts` and the
    command names the handlers registered."""

    words: frozenset[str]
    emergency: frozenset[str]
    commands: frozenset[str] = frozenset()
    host_commands: frozenset[str] = frozenset({"start"})
    office_chat: int = 0
    bot_username: str = ""
    _emergency_re: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_texts(cls, texts: Texts, *, commands: Iterable[str] = (), office_chat: int = 0,
                   bot_username: str = "", host_commands: Iterable[str] = ("start",)
                   ) -> ClaimRule:
        words: set[str] = set()
        for key in texts.word_keys():
            words |= texts.words(f"words.{key}")
        return cls(words=frozenset(words), emergency=texts.words("words.emergency"),
                   commands=frozenset(c.lower() for c in commands),
                   host_commands=frozenset(c.lower() for c in host_commands),
                   office_chat=office_chat, bot_username=bot_username)

    def __post_init__(self) -> None:
        if self.emergency:
            alternatives = "|".join(re.escape(w) for w in sorted(self.emergency, key=len,
                                                                 reverse=True))
            object.__setattr__(self, "_emergency_re", re.compile(rf"\b(?:{alternatives})\b"))

    def verdict(self, update: Mapping[str, Any], memory: Conversations | None = None
                ) -> Verdict:
        kind = update_kind(update)
        payload = update.get(kind)
        if not isinstance(payload, Mapping):
            return Verdict.HOST
        if kind == "callback_query":
            data = payload.get("data")
            ours = isinstance(data, str) and data.startswith(CALLBACK_PREFIX)
            return Verdict.CLAIM if ours else Verdict.HOST
        if kind == "my_chat_member":
            return Verdict.OBSERVE
        if kind != "message":
            return Verdict.HOST
        return Verdict.CLAIM if self._message_is_ours(payload, memory) else Verdict.HOST

    def _message_is_ours(self, message: Mapping[str, Any], memory: Conversations | None) -> bool:
        chat = message.get("chat")
        chat_id = chat.get("id") if isinstance(chat, Mapping) else None
        if chat_id is None:
            return False
        if self.office_chat and chat_id == self.office_chat:
            return True
        if isinstance(chat, Mapping) and chat.get("type") in GROUP_TYPES:
            return False  # werkbot serves private chats: the host's groups stay the host's
        text = message.get("text") or message.get("caption") or ""
        if isinstance(text, str) and text and self._text_is_ours(text):
            return True
        if memory is None:
            return False
        replied = message.get("reply_to_message")
        if isinstance(replied, Mapping) and memory.sent_by_us(str(chat_id),
                                                              int(replied.get("message_id", 0))):
            return True
        if isinstance(text, str) and memory.keyboard_value(str(chat_id), text) is not None:
            return True  # a press on werkbot's reply keyboard arrives as its label
        return "contact" in message and memory.asked_for_contact(str(chat_id))

    def _text_is_ours(self, text: str) -> bool:
        lowered = text.strip().lower()
        if self._emergency_re is not None:
            spoken = " ".join(_WORDS.findall(lowered))
            if self._emergency_re.search(spoken):
                return True
        if _JOB_CODE.search(text):
            return True
        head, *rest = lowered.split(maxsplit=1)
        is_command = head.startswith("/")
        name, _, target = head.lstrip("/").partition("@")
        if target and self.bot_username and target != self.bot_username.lstrip("@").lower():
            return False
        if name in self.host_commands:
            return False
        if is_command and name in self.commands:
            return True
        return (not rest and name in self.words) or lowered.lstrip("/") in self.words
