"""`/reply <n> <text>` (`/antwort`): answer a customer through the bot, by number.

`<n>` is what the staff member sees: the `#<n>` of an emergency alert, or the customer's
`#<n>` in the header of an office forward. The incident wins for whoever its alert
reached (the on-call fitter answering "their" emergency); office and admin staff then
answer the customer `#<n>` through the office path (`replies.answer_customer`: consent
gate, WhatsApp window), and an incident `#<n>` if there is no such customer. A fitter
whom the alert did not reach is refused.
"""

from __future__ import annotations

from werkbot.bot.context import Context
from werkbot.handlers.commands import EVERY_ROLE, UsageError, commands
from werkbot.handlers.emergency.fitter import send_answer
from werkbot.handlers.emergency.repo import IncidentsRepo
from werkbot.handlers.office.replies import answer_customer, tell_outcome
from werkbot.handlers.staff_roles import has_role, staff_of


@commands.command("reply", aliases=("antwort",), roles=EVERY_ROLE,
                  help_key="office.help.reply")
async def reply(args: tuple[str, ...], ctx: Context) -> None:
    staff = staff_of(ctx)
    if len(args) < 2 or not args[0].lstrip("#").isdigit() or staff is None:
        raise UsageError("missing", what="<Nr> <Text>")
    number, text = int(args[0].lstrip("#")), " ".join(args[1:])
    incidents = ctx.repo(IncidentsRepo)
    incident = await incidents.lock(number)
    if incident is not None and await incidents.reached(number, staff.id):
        await send_answer(ctx, incident, text, [])
        return
    if not has_role(ctx, "admin", "office"):
        key = "emergency.errors.not_yours" if incident else "emergency.errors.no_incident"
        raise UsageError(key, id=number)
    customer = await ctx.people.get(number)
    if customer is not None and customer.kind == "customer" and customer.erased_at is None:
        outcome = await answer_customer(ctx, number, text, staff.id)
        await tell_outcome(ctx, outcome, confirm=True)
        return
    if incident is not None:
        await send_answer(ctx, incident, text, [])
        return
    raise UsageError("office.errors.no_customer", id=number)
