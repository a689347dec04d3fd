"""Help and menu: the answer to `hilfe`/`help`, and to anything nobody else took.

The menu answers in the language of the word the person used (German first), and
offers the main choices as buttons where the channel has them.
"""

from __future__ import annotations

from werkbot.bot.context import Context
from werkbot.bot.events import ChoiceEvent, CommandEvent, Event, TextEvent
from werkbot.bot.replies import Choice, ChoicesReply, TextReply
from werkbot.bot.router import Router
from werkbot.handlers.filters import language_of_word, word
from werkbot.handlers.staff_roles import staff_of

STAFF_HINT = "staff_hint"

router = Router("menu")
fallback = Router("fallback")


def menu_reply(ctx: Context) -> ChoicesReply:
    return ChoicesReply(
        kind="menu",
        text=ctx.t("menu.text", business=ctx.settings.business.name),
        choices=(
            Choice(ctx.t("menu.emergency"), "notfall"),
            Choice(ctx.t("menu.export"), "auskunft"),
            Choice(ctx.t("menu.help"), "hilfe"),
        ),
    )


@router.on((TextEvent, CommandEvent, ChoiceEvent), word("help"))
async def show_menu(event: Event, ctx: Context) -> None:
    lang = language_of_word(ctx, event, "help")
    if lang and ctx.person is not None and ctx.person.language != lang:
        ctx.person.language = lang
    await ctx.reply(menu_reply(ctx))


@fallback.on((TextEvent, CommandEvent, ChoiceEvent))
async def unknown_input(event: Event, ctx: Context) -> None:
    """Anything no other handler took is answered, never with silence.

    A customer gets the menu. A staff member gets a short hint instead: their free text
    is neither a command nor a reply to a forwarded message, and the customer menu
    (consent, export, erasure) is not for them.
    """
    if staff_of(ctx) is not None:
        await ctx.reply(TextReply(kind=STAFF_HINT, text=ctx.t("office.staff_hint")))
        return
    await ctx.reply(menu_reply(ctx))
