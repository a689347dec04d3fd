"""What the Telegram adapter remembers in memory, bounded: recent update ids and chat facts.

None of it is needed for correctness across restarts (the inbox de-duplicates durably);
it saves work and lets the plug-ins decide without a database round trip:
- `SeenUpdates`: update ids already fed, so a redelivered update is not parsed, stored
  or its callback query answered a second time;
- `ChatMemory`: the messages werkbot sent per chat, and the reply keyboard it showed
  (the "share my number" button and its companions), so a press on a reply-keyboard
  button, which Telegram delivers as plain text, comes back as the choice it stands for.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping


class SeenUpdates:
    """A bounded set of update ids, oldest forgotten first."""

    def __init__(self, limit: int = 10_000) -> None:
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._limit = limit

    def first_time(self, update_id: int) -> bool:
        """True the first time an id is offered (and remembers it)."""
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        if len(self._ids) > self._limit:
            self._ids.popitem(last=False)
        return True

    def forget(self, update_id: int) -> None:
        """Forget an id whose events could not be stored, so a redelivery is taken."""
        self._ids.pop(update_id, None)


class ChatMemory:
    """Messages werkbot sent and reply keyboards it showed, per chat; bounded LRU."""

    def __init__(self, limit: int = 10_000) -> None:
        self._sent: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._keyboards: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._limit = limit

    def remember_sent(self, chat_id: str, message_id: int) -> None:
        self._sent[(chat_id, message_id)] = None
        if len(self._sent) > self._limit:
            self._sent.popitem(last=False)

    def sent_by_us(self, chat_id: str, message_id: int) -> bool:
        return (chat_id, message_id) in self._sent

    def remember_keyboard(self, chat_id: str, labels: Mapping[str, str]) -> None:
        """The reply keyboard now shown in a chat: button label -> choice value."""
        self._keyboards[chat_id] = {label.strip().lower(): value
                                    for label, value in labels.items()}
        self._keyboards.move_to_end(chat_id)
        if len(self._keyboards) > self._limit:
            self._keyboards.popitem(last=False)

    def keyboard_value(self, chat_id: str, text: str) -> str | None:
        """The choice value a text stands for, if it is a label of the chat's keyboard."""
        return self._keyboards.get(chat_id, {}).get(text.strip().lower())

    def asked_for_contact(self, chat_id: str) -> bool:
        return chat_id in self._keyboards

    def keyboard_done(self, chat_id: str) -> None:
        """The one-time keyboard was used (a contact or a press arrived): forget it."""
        self._keyboards.pop(chat_id, None)
