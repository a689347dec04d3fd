"""Emergency routing (issue 6): opening hours, the away answer, on-call, alerts, incidents.

`router` sits at position 1 of the root (after the staff commands): staff
acknowledgements and answers to alerts, customers' emergencies (the word, the button,
an emergency phrase anywhere), customers' further messages during an active incident,
and the escalation timers. Importing this package registers `/oncall`, `/hours`,
`/incident` and `/reply` with the command registry.

For others: `send_away_answer(ctx)` and `office_is_open(ctx)` (office inbox),
`on_consent_granted(ctx)` (consent: call after a customer's grant), `BusinessCalendar`,
`ScheduleRepo` (calendar and rota: who is on call, e.g. for statistics).
"""

from __future__ import annotations

from werkbot.bot.context import Context
from werkbot.bot.events import (
    ChoiceEvent,
    CommandEvent,
    ContactEvent,
    Event,
    LocationEvent,
    MediaEvent,
    TextEvent,
    TimerEvent,
)
from werkbot.bot.router import Filter, Router, timer
from werkbot.handlers.emergency import alerts, hours_commands, incident_commands, oncall_commands
from werkbot.handlers.emergency.answer import (
    follow_up,
    office_is_open,
    on_consent_granted,
    raise_emergency,
    send_away_answer,
)
from werkbot.handlers.emergency.calendar import BusinessCalendar
from werkbot.handlers.emergency.detect import emergency, reserved_word
from werkbot.handlers.emergency.fitter import (
    ack_choice,
    ack_word,
    acknowledge,
    answers_alert,
    relay,
)
from werkbot.handlers.emergency.repo import IncidentsRepo, ScheduleRepo
from werkbot.handlers.emergency.rota import Rota
from werkbot.handlers.staff_roles import is_customer, is_staff

__all__ = [
    "BusinessCalendar",
    "IncidentsRepo",
    "Rota",
    "ScheduleRepo",
    "office_is_open",
    "on_consent_granted",
    "router",
    "send_away_answer",
]
_COMMANDS = (hours_commands, incident_commands, oncall_commands)  # registered on import

router = Router("emergency")


async def _active(event: Event, ctx: Context) -> dict[str, int] | None:
    if ctx.person is None or ctx.is_new:  # a person made by this message has no incident
        return None
    incident = await ctx.repo(IncidentsRepo).active_of(ctx.person.id, ctx.clock.now())
    return {"incident": incident.id} if incident else None


active_incident = Filter(_active, "active_incident")

router.on(ChoiceEvent, is_staff, ack_choice)(acknowledge)
router.on((TextEvent, CommandEvent), is_staff, ack_word)(acknowledge)
router.on((TextEvent, MediaEvent), is_staff, answers_alert)(relay)
router.on((TextEvent, CommandEvent, ChoiceEvent, MediaEvent), is_customer, emergency)(
    raise_emergency)


@router.on((TextEvent, MediaEvent, LocationEvent, ContactEvent),
           is_customer, ~reserved_word, active_incident)
async def further_message(event: Event, ctx: Context) -> None:
    incident = await ctx.repo(IncidentsRepo).lock(int(ctx.match["incident"]))
    if incident is not None:
        await follow_up(event, ctx, incident)


@router.on(TimerEvent, timer(alerts.TIMER))
async def escalate(event: TimerEvent, ctx: Context) -> None:
    """The acknowledgement deadline of a stage passed: next stage, unless acknowledged."""
    incident = await ctx.repo(IncidentsRepo).lock(int(event.payload["incident"]))
    if incident is None or incident.status != "open":
        return
    stage = int(event.payload["stage"])
    await alerts.share_details(ctx, incident)
    await ctx.repo(IncidentsRepo).add_step(incident, "escalated", ctx.clock.now(),
                                           detail=f"stage {stage}")
    await alerts.run_stages(ctx, incident, stage)
