"""The consent words router: yes, no, other ways, stop, stop everything, start.

Sits early in the tree (after emergencies) and takes these words, typed or pressed as
buttons (`ja`, `nein`, `andere`), only from customers and only where they concern
consent: a customer who already consented on this channel passes `ja` and `nein` on,
staff pass everything. While a request is open, the numbers of a numbered-text
rendering (`1`, `2`, `3`) count too.

Other features that ask their own yes/no question of people without consent (the
erasure confirmation) pass a filter that is true while their question is open:
`words_router(yield_to=(rights.erasure_pending,))`; yes/no/other then go on to them.
Withdrawal words are never yielded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, CommandEvent, Event, TextEvent
from werkbot.bot.router import Filter, Router
from werkbot.handlers.consent import dialogue
from werkbot.handlers.consent.repo import ConsentRepo
from werkbot.handlers.consent.status import ChannelStatus, is_customer
from werkbot.handlers.filters import spoken

_WORDS = (TextEvent, CommandEvent, ChoiceEvent)
_NUMBERED = {"1": "yes", "2": "no", "3": "other"}
_SPACES = re.compile(r"\s+")
_ANY = frozenset(ChannelStatus)
_OPEN = frozenset({ChannelStatus.PENDING, ChannelStatus.UNKNOWN, ChannelStatus.REFUSED})
_PENDING = frozenset({ChannelStatus.PENDING})


def said(event: Event) -> str:
    """What the person said: lower case, no slash, no trailing punctuation or extra spaces."""
    return _SPACES.sub(" ", spoken(event).strip(" .!?,;:")).strip()


def words_router(*, yield_to: Sequence[Filter] = ()) -> Router:
    """The consent words router; `yield_to` filters take yes/no/other away from it."""
    router = Router("consent.words")

    def on(key: str, statuses: frozenset[ChannelStatus] = _ANY, *, yields: bool = True
           ) -> Filter:
        return _word(key, statuses, tuple(yield_to) if yields else ())

    router.on(_WORDS, on("stop_all", yields=False))(stop_everything)
    router.on(_WORDS, on("stop", yields=False))(stop)
    router.on(_WORDS, on("yes", _OPEN))(yes)
    router.on(_WORDS, on("no", _PENDING))(no)
    router.on(_WORDS, on("no", frozenset({ChannelStatus.UNKNOWN})))(ask)
    router.on(_WORDS, on("no", frozenset({ChannelStatus.REFUSED})))(silence)
    router.on(_WORDS,
              on("other", frozenset({ChannelStatus.PENDING, ChannelStatus.UNKNOWN})))(other)
    router.on(_WORDS, on("resume", _OPEN))(resume)
    return router


def _word(key: str, statuses: frozenset[ChannelStatus], yield_to: tuple[Filter, ...]
          ) -> Filter:
    """A customer said one of `words.<key>` (or, while a request is open, its number),
    stands in one of `statuses` on this channel, and no `yield_to` filter claims it."""

    async def matches(event: Event, ctx: Context) -> bool:
        if not is_customer(ctx):
            return False
        text = said(event)
        if not text:
            return False
        listed = text in ctx.texts.words(f"words.{key}")
        numbered = _NUMBERED.get(text) == key
        if not (listed or numbered):
            return False
        for other_question in yield_to:
            if await other_question.check(event, ctx) is not None:
                return False
        status = await _status(ctx)
        if numbered and not listed and status is not ChannelStatus.PENDING:
            return False
        return status in statuses

    return Filter(matches, f"consent_word({key})")


async def _status(ctx: Context) -> ChannelStatus:
    assert ctx.person is not None and ctx.address is not None
    return await ctx.repo(ConsentRepo).channel_status(ctx.person.id, ctx.address.channel)


async def stop_everything(event: Event, ctx: Context) -> None:
    """`stop alles` / `stop all`: every purpose on every channel, one confirmation."""
    await dialogue.withdraw(ctx, everywhere=True)


async def stop(event: Event, ctx: Context) -> None:
    """`stop` / `widerruf` / `abmelden` / `unsubscribe`: this channel, one confirmation."""
    await dialogue.withdraw(ctx)


async def yes(event: Event, ctx: Context) -> None:
    """Yes to an open request grants; without one (never asked, or said no) re-asks."""
    _use_language_of(ctx, event, "yes")
    if await _status(ctx) is ChannelStatus.PENDING:
        await dialogue.grant(ctx)
    else:
        await dialogue.ask_consent(ctx)


async def no(event: Event, ctx: Context) -> None:
    _use_language_of(ctx, event, "no")
    await dialogue.refuse(ctx)


async def ask(event: Event, ctx: Context) -> None:
    """`nein` from someone never asked answers nothing yet: show them the question."""
    await dialogue.ask_consent(ctx)


async def silence(event: Event, ctx: Context) -> None:
    """Declined already: nothing more on this channel."""


async def other(event: Event, ctx: Context) -> None:
    _use_language_of(ctx, event, "other")
    await dialogue.other_ways(ctx)


async def resume(event: Event, ctx: Context) -> None:
    """`start` without consent on this channel: show the request (again)."""
    await dialogue.ask_consent(ctx, again=True)


def _use_language_of(ctx: Context, event: Event, key: str) -> None:
    """Answer in the language of the word the person used."""
    text = said(event)
    for lang in ("de", "en"):
        raw = ctx.texts.raw(f"words.{key}", lang)
        if isinstance(raw, list) and text in {str(w).lower() for w in raw}:
            if ctx.person is not None and ctx.person.language != lang:
                ctx.person.language = lang
            return


router = words_router()
"""The router with no other questions to yield to."""
