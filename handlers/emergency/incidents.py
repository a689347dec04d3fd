"""Incidents' escalation plans: who is alerted in which stage, fixed at creation.

The plan is fixed when the incident is created (a later rota change does not move a
running escalation): a list of stages, each a list of `[staff id, address]` alerted
together. Stage 0 is the on-call fitter's first channel (or the office staff during
opening hours), then the fitter's other channels, then each id of `oncall.escalation`,
and the admins last if nobody before them is an admin. With nobody reachable the plan
is the admins alone. The incidents themselves are stored and found through
`IncidentsRepo` (handlers/emergency/repo.py).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from werkbot.bot.settings import Settings
from werkbot.bot.staff_persons import staff_addresses
from werkbot.handlers.emergency.models import Incident

FOLLOW_UP_FOR = timedelta(hours=24)  # an incident older than this takes no follow-ups
ACTIVE = ("open", "acknowledged")
Stage = list[tuple[str, str]]


def build_plan(settings: Settings, mode: str, oncall: str | None) -> tuple[str, list[Stage]]:
    """The mode actually used (oncall, office or fallback) and its stages."""
    stages: list[Stage] = []
    if mode == "office":
        office = [s for s in settings.staff if "office" in s.roles and staff_addresses(s)]
        stages.append([(s.id, str(staff_addresses(s)[0])) for s in office])
    elif oncall is not None and (fitter := settings.staff_by_id(oncall)) is not None:
        addresses = [str(a) for a in staff_addresses(fitter)]
        if addresses:
            stages.append([(fitter.id, addresses[0])])
        if addresses[1:]:
            stages.append([(fitter.id, a) for a in addresses[1:]])
    stages = [stage for stage in stages if stage]
    if not stages:
        mode = "fallback"
    planned = {staff for stage in stages for staff, _ in stage}
    for staff_id in settings.oncall.escalation:
        person = settings.staff_by_id(staff_id)
        if person is None or staff_id in planned:
            continue
        stage = [(staff_id, str(a)) for a in staff_addresses(person)]
        if stage:
            stages.append(stage)
            planned.add(staff_id)
    admins = [s for s in settings.staff if "admin" in s.roles]
    if not any(s.id in planned for s in admins):
        final = [(s.id, str(a)) for s in admins for a in staff_addresses(s)]
        if final:
            stages.append(final)
    return mode, stages


def plan_of(incident: Incident) -> list[Stage]:
    return [[(str(s), str(a)) for s, a in stage] for stage in json.loads(incident.plan)]


def ids_of(text: str) -> list[Any]:
    value = json.loads(text or "[]")
    return value if isinstance(value, list) else []
