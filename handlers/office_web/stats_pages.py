"""The statistics as charts, and as CSV: counts and durations only, never content.

Messages per channel and day (a bar chart drawn as SVG on the server: no script, no
chart library), first-response times, emergencies and acknowledgement times, consent
and decline rates for the chosen period; `stats.csv` is the `/stats csv` table of the
chat command plus the per-day counts. The figures come from the admin feature's
`figures.collect`, the same numbers `/stats` gives in chat.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from werkbot.handlers.admin.figures import Figures, collect
from werkbot.handlers.admin.reports import rows
from werkbot.handlers.office_web.guard import Call, office_page
from werkbot.handlers.staff_roles import OFFICE_ROLES

PERIODS = (7, 14, 30)
CHANNEL_COLOURS = {"whatsapp": "#25a244", "sms": "#0b5cad", "telegram": "#2aa1da",
                   "sandbox": "#8a6d3b"}
CHART_HEIGHT = 160


@dataclass
class Bar:
    x: int
    y: int
    height: int
    colour: str
    label: str


def _days(call: Call) -> int:
    value = call.request.query.get("days", "14")
    return int(value) if value.isdigit() and int(value) in PERIODS else 14


async def _figures(call: Call, days: int) -> tuple[Figures, list[tuple[str, Figures]]]:
    zone = ZoneInfo(call.services.settings.business.timezone)
    today = call.services.clock.now().astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    whole = await collect(call.session, call.services, start, end)
    daily = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        day_start = datetime.combine(day, time(0), tzinfo=zone)
        daily.append((day.strftime("%d.%m."), await collect(
            call.session, call.services, day_start, day_start + timedelta(days=1))))
    return whole, daily


def _bars(daily: list[tuple[str, Figures]], width: int) -> tuple[list[Bar], int]:
    top = max([sum(f.messages_in.values()) for _, f in daily] + [1])
    bars = []
    for index, (label, figures) in enumerate(daily):
        y = CHART_HEIGHT
        for channel, count in sorted(figures.messages_in.items()):
            height = round(count / top * (CHART_HEIGHT - 10))
            y -= height
            bars.append(Bar(index * width + 4, y, height,
                            CHANNEL_COLOURS.get(channel, "#777"), f"{label} {channel}: {count}"))
    return bars, top


@office_page(roles=OFFICE_ROLES)
async def stats(call: Call) -> web.StreamResponse:
    days = _days(call)
    whole, daily = await _figures(call, days)
    width = max(12, 840 // days)
    bars, top = _bars(daily, width)
    channels = sorted({c for _, f in daily for c in f.messages_in})
    await call.audit("stats", detail=str(days))
    return call.page("stats.html", days=days, periods=PERIODS, figures=whole, bars=bars,
                     top=top, width=width, chart_width=width * days, daily=daily,
                     chart_height=CHART_HEIGHT,
                     legend=[(c, CHANNEL_COLOURS.get(c, "#777")) for c in channels],
                     minutes=lambda s: "–" if s is None else f"{round(s / 60)}")


@office_page(roles=OFFICE_ROLES)
async def stats_csv(call: Call) -> web.StreamResponse:
    days = _days(call)
    whole, daily = await _figures(call, days)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "key", "value"))
    writer.writerows(rows(whole))
    for label, figures in daily:
        writer.writerows(("in_per_day", f"{label} {channel}", str(count))
                         for channel, count in sorted(figures.messages_in.items()))
    await call.audit("stats_csv", detail=str(days))
    name = f"stats-{days}d.csv"
    return web.Response(text=buffer.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Cache-Control": "no-store"})
