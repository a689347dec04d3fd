"""Durations the way people say them: "30 Sekunden", "1 Minute", "2 Stunden 5 Minuten".

Used wherever staff or customers read how long something took or will take (an
escalation that waited `oncall.ack_timeout`, an acknowledgement after so long), so a
timeout under a minute never reads "0 Minuten". Units and plurals live in the texts
(`emergency.duration.*`); the largest two units that are not zero are named.
"""

from __future__ import annotations

from datetime import timedelta

from werkbot.bot.texts import Texts

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def spoken(texts: Texts, lang: str, duration: timedelta) -> str:
    """`duration` in words, rounded to whole seconds; at most two units."""
    left = max(0, round(duration.total_seconds()))
    parts: list[str] = []
    for unit, size in _UNITS:
        count, left = divmod(left, size)
        if count:
            form = "one" if count == 1 else "other"
            parts.append(texts.get(f"emergency.duration.{unit}_{form}", lang, n=count))
        if len(parts) == 2 or (parts and unit == "minute" and count == 0):
            break  # "2 Stunden 5 Minuten", never the seconds of an hour
    if not parts:
        return texts.get("emergency.duration.second_other", lang, n=0)
    return texts.get("emergency.duration.join", lang, first=parts[0], second=parts[1]) \
        if len(parts) == 2 else parts[0]
