"""Which channel a staff alert takes: one that can deliver it now.

An alert must never wait for a failure report. Twilio reports a WhatsApp message outside
the 24-hour window (63016) only later, in a status callback, and an escalation step
would pass before the next channel was tried. So the channel is chosen before sending,
from what werkbot knows: the address row's `window_until` and the configured templates.
"""

from __future__ import annotations

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.replies import ChoicesReply, TemplateReply
from werkbot.bot.staff_persons import staff_addresses
from werkbot.handlers.emergency.repo import IncidentsRepo

ALERT_TEMPLATE = "alert"  # the `twilio.templates` key of the approved alert template


async def deliverable_now(ctx: Context, staff_id: str, address: Address
                          ) -> tuple[Address, bool] | None:
    """Where a staff alert meant for `address` can be delivered right now.

    Decided before sending, from what werkbot knows of the WhatsApp window (Twilio only
    reports 63016 minutes later, which would cost a whole escalation step): `address`
    itself when its channel is on and (WhatsApp) the staff member wrote within 24 hours;
    else `address` with the approved `alert` template (`twilio.templates`, second item
    True); else the staff member's first other address that can take a free-form
    message now. None when no channel of theirs can.
    """
    if await _free_form_now(ctx, address):
        return address, False
    caps = ctx.capabilities(address.channel)
    if caps is not None and caps.templates and ALERT_TEMPLATE in ctx.settings.twilio.templates:
        return address, True
    staff = ctx.settings.staff_by_id(staff_id)
    for other in staff_addresses(staff) if staff else []:
        if other != address and await _free_form_now(ctx, other):
            return other, False
    return None


async def _free_form_now(ctx: Context, address: Address) -> bool:
    caps = ctx.capabilities(address.channel)
    if caps is None:
        return False
    if not caps.window_hours:
        return True
    until = await ctx.repo(IncidentsRepo).window_until(str(address))
    return until is not None and until > ctx.clock.now()


def as_alert_template(message: ChoicesReply) -> TemplateReply:
    """The alert as the approved `alert` template: its text is the template's variable."""
    return TemplateReply(kind=message.kind, template=ALERT_TEMPLATE,
                         variables={"1": message.text}, fallback_text=message.text)
