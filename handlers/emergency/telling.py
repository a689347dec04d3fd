"""What the emergency customer is told, and how staff are named to them.

The customer is never left alone: at each escalation step that reaches somebody they
hear that werkbot is still reaching someone and whom (`still_trying`), and when nobody
could be reached they get the office number (`exhaust`). Everything goes to the address
the emergency came from first, then the customer's other addresses.
"""

from __future__ import annotations

import logging

from werkbot.bot.addresses import Address
from werkbot.bot.context import Context
from werkbot.bot.replies import Reply, TextReply
from werkbot.handlers.emergency import consent as kinds
from werkbot.handlers.emergency import incidents
from werkbot.handlers.emergency.durations import spoken
from werkbot.handlers.emergency.models import Incident
from werkbot.handlers.emergency.repo import IncidentsRepo
from werkbot.handlers.phones import phone_values

log = logging.getLogger(__name__)


def staff_name(ctx: Context, staff_id: str) -> str:
    staff = ctx.settings.staff_by_id(staff_id)
    return (staff.name or staff.id) if staff else staff_id


async def customer_language(ctx: Context, incident: Incident) -> str:
    person = await ctx.people.get(incident.customer_id) if incident.customer_id else None
    return person.language if person else ctx.settings.business.language


async def still_trying(ctx: Context, incident: Incident, plan: list[incidents.Stage],
                       index: int) -> None:
    """Tell the customer that nobody has taken it yet and whom werkbot reaches now.

    Sent at each escalation step that reaches somebody (vital interests, like the
    on-call number: no consent needed), with a number they can call themselves: the
    first phone of the people alerted now, else the business phone.
    """
    earlier = list(dict.fromkeys(s for stage in plan[:index] for s, _ in stage))
    now_ids = list(dict.fromkeys(s for s, _ in plan[index]))
    lang = await customer_language(ctx, incident)
    phones = [p for s in now_ids if (p := getattr(ctx.settings.staff_by_id(s), "phone", ""))]
    values = phone_values(phones[0] if phones else ctx.settings.business.phone)
    earlier_names = ", ".join(staff_name(ctx, s) for s in earlier)
    key = "still_trying_same" if set(now_ids) <= set(earlier) else "still_trying_next"
    text = ctx.texts.get(f"emergency.customer.{key}", lang, waited=spoken(
        ctx.texts, lang, ctx.settings.oncall.ack_timeout), earlier=earlier_names,
        who=", ".join(staff_name(ctx, s) for s in now_ids), **values)
    if await to_customer(ctx, incident, TextReply(kind=kinds.EMERGENCY_UPDATE, text=text)):
        await ctx.repo(IncidentsRepo).add_step(incident, "customer_told", ctx.clock.now(),
                                               detail=f"stage {index}")


async def customer_addresses(ctx: Context, incident: Incident) -> list[Address]:
    """The customer's addresses, the one the emergency came from first."""
    if incident.customer_id is None:
        return []
    rows = await ctx.people.addresses(incident.customer_id)
    found = [Address.parse(r.address) for r in rows if r.unreachable_at is None]
    return sorted(found, key=lambda a: a.channel != incident.channel)


async def to_customer(ctx: Context, incident: Incident, reply: Reply) -> bool:
    """Tell the customer something about their emergency, where they wrote from."""
    for address in await customer_addresses(ctx, incident):
        if await ctx.send(address, reply, person_id=incident.customer_id):
            return True
    return False


async def exhaust(ctx: Context, incident: Incident) -> None:
    """Nobody took it: the timeline says so and the customer gets the office number."""
    now = ctx.clock.now()
    await ctx.repo(IncidentsRepo).add_step(incident, "exhausted", now)
    log.warning("incident %s: nobody acknowledged", incident.id)
    lang = await customer_language(ctx, incident)
    text = ctx.texts.get("emergency.customer.unanswered", lang,
                         **phone_values(ctx.settings.business.phone))
    await to_customer(ctx, incident, TextReply(kind=kinds.ONCALL_NUMBER, text=text))
