"""Filters the handlers share: words people type (contract §5), in any language.

A word matches case-insensitively, with or without a leading '/', as a text or as a
command; a button press matches by its value. Word lists come from `config/texts`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, CommandEvent, Event, TextEvent
from werkbot.bot.router import Filter

_WORD = re.compile(r"[\wäöüß]+", re.IGNORECASE)


def spoken(event: Event) -> str:
    """The normalised word(s) an event carries: lower case, no leading slash."""
    if isinstance(event, TextEvent):
        return event.text.strip().lstrip("/").strip().lower()
    if isinstance(event, CommandEvent):
        return event.name.lower() if not event.args else ""
    if isinstance(event, ChoiceEvent):
        return event.value.lower()
    return ""


def word(key: str) -> Filter:
    """The event is exactly one of the words listed under `words.<key>`."""

    def matches(event: Event, ctx: Context) -> bool:
        said = spoken(event)
        if not said:
            return False
        words = ctx.texts.words(f"words.{key}")
        return said in words or said == key

    return Filter(matches, f"word({key})")


def language_of_word(ctx: Context, event: Event, key: str) -> str | None:
    """Which language's list the word came from, to answer in the language people use."""
    said = spoken(event)
    for lang in ("de", "en"):
        raw = ctx.texts.raw(f"words.{key}", lang)
        if isinstance(raw, list) and said in {str(w).lower() for w in raw}:
            return lang
    return None


def mentions_any(text: str, phrases: frozenset[str]) -> bool:
    """True if any phrase occurs in `text` as whole words, case-insensitively."""
    if not phrases:
        return False
    return _any_of(phrases).search(" ".join(_WORD.findall(text.lower()))) is not None


@lru_cache(maxsize=256)
def _any_of(phrases: frozenset[str]) -> re.Pattern[str]:
    """One pattern for a word list (the lists come from `config/texts` and do not change)."""
    longest_first = sorted(phrases, key=lambda p: (-len(p), p))
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in longest_first) + r")\b")
