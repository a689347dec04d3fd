"""`/web`: a staff member asks for a one-time sign-in link to the office web app.

Any configured staff member gets one, on the address they wrote from: office and admin
staff open the office, a fitter their own incidents (the app decides by role). People
who are not staff never reach this command (the registry answers staff only). The
message turns link previews off, so no preview fetcher uses the link up.
"""

from __future__ import annotations

from werkbot.bot.context import Context
from werkbot.bot.replies import TextReply
from werkbot.handlers.commands import EVERY_ROLE, commands
from werkbot.handlers.office_web.auth import LINK_TTL, SignInLinks
from werkbot.handlers.staff_roles import staff_of

LINK_KIND = "office_web_link"


@commands.command("web", roles=EVERY_ROLE,
                  help_key="office_web.help")
async def web_link(args: tuple[str, ...], ctx: Context) -> None:
    staff = staff_of(ctx)
    assert staff is not None  # the registry runs commands for staff only
    link = await ctx.repo(SignInLinks).create(ctx.services, staff.id)
    if link is None:
        await ctx.reply(ctx.t("office_web.link_limit"))
        return
    minutes = int(LINK_TTL.total_seconds() // 60)
    await ctx.reply(TextReply(kind=LINK_KIND, text=ctx.t("office_web.link", link=link,
                                                         minutes=minutes),
                              link_preview=False))
