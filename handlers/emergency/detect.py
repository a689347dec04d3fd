"""Recognising an emergency: the word, the button, or an emergency phrase anywhere.

The words are `words.emergency` and `emergency.phrases` of every language (contract §5:
an emergency word counts anywhere in a message); `emergency.danger.<kind>` phrases
also pick the safety advice that goes out first.
"""

from __future__ import annotations

from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, CommandEvent, Event, MediaEvent, TextEvent
from werkbot.bot.router import Filter
from werkbot.handlers.filters import mentions_any, spoken

DANGERS = ("gas", "electric", "water")  # in order of precedence: gas first
RESERVED = ("yes", "no", "other", "stop", "export", "delete", "help")  # others' words


def said(event: Event) -> str:
    """The text an event carries, whatever its kind."""
    if isinstance(event, TextEvent):
        return event.text
    if isinstance(event, CommandEvent):
        return event.text or " ".join((event.name, *event.args))
    if isinstance(event, MediaEvent):
        return event.caption
    if isinstance(event, ChoiceEvent):
        return event.value
    return ""


def _phrases(ctx: Context, lang: str | None = None) -> frozenset[str]:
    if lang is None:
        return ctx.texts.words("words.emergency") | ctx.texts.words("emergency.phrases") | (
            frozenset().union(*(ctx.texts.words(f"emergency.danger.{d}") for d in DANGERS)))
    found: set[str] = set()
    for key in ("words.emergency", "emergency.phrases",
                *(f"emergency.danger.{d}" for d in DANGERS)):
        raw = ctx.texts.raw(key, lang)
        if isinstance(raw, list):
            found.update(str(w).lower() for w in raw)
    return frozenset(found)


def danger_of(ctx: Context, text: str) -> str:
    return next((d for d in DANGERS
                 if mentions_any(text, ctx.texts.words(f"emergency.danger.{d}"))), "")


def language_of(ctx: Context, text: str) -> str | None:
    """The one language whose emergency words the text uses, if it is just one."""
    langs = [lang for lang in ("de", "en") if mentions_any(text, _phrases(ctx, lang))]
    return langs[0] if len(langs) == 1 else None


def _emergency(event: Event, ctx: Context) -> dict[str, str] | None:
    if isinstance(event, ChoiceEvent):
        value = event.value.lower()
        hit = value in ctx.texts.words("words.emergency") or value == "notfall"
        return {"danger": ""} if hit else None
    text = said(event)
    if not text or not mentions_any(text, _phrases(ctx)):
        return None
    return {"danger": danger_of(ctx, text)}


def _reserved(event: Event, ctx: Context) -> bool:
    word = spoken(event)
    return bool(word) and any(word in ctx.texts.words(f"words.{key}") for key in RESERVED)


def is_emergency(event: Event, ctx: Context) -> bool:
    """Does the event raise an emergency? (Flood protection never holds one back.)"""
    return _emergency(event, ctx) is not None


emergency = Filter(_emergency, "emergency")
reserved_word = Filter(_reserved, "reserved_word")
