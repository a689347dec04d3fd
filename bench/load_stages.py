"""Where a half-load message's time went, read from the server's own SQLite database.

For the webhooks stored during `bench_load`'s open loop, the timestamps werkbot keeps
anyway: the inbox row's `created_at` (stored) and `handled_at` (the clock of the
dispatcher round that handled it), and, of its first reply that went out, the outbox
row's `created_at` (queued by the handler) and `updated_at` (the send recorded). The
spans between them show whether a tail waits for a round, inside the round, or for the
send; rows sharing a `handled_at` were handled in one round, which gives the round sizes.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STAGES = (("stored → its round", 0, 1), ("round → reply queued", 1, 2),
          ("reply queued → send recorded", 2, 3), ("stored → send recorded", 0, 3))
_QUERY = """
SELECT inbox.id, inbox.created_at, inbox.handled_at, outbox.created_at, outbox.updated_at
FROM inbox JOIN outbox ON outbox.inbound_id = inbox.id
WHERE inbox.created_at >= ? AND inbox.created_at < ? AND inbox.handled_at IS NOT NULL
  AND outbox.status NOT IN ('queued', 'sending')
ORDER BY inbox.id, outbox.id
"""


def _stored(at: datetime) -> str:
    """A UTC time as SQLAlchemy stores a DATETIME on SQLite (compared as text)."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def stages(db_file: Path, since: datetime, until: datetime) -> dict[str, Any]:
    """Percentiles (ms) of each span and the round sizes, for the messages stored
    between `since` and `until`; an empty dict when the database cannot tell."""
    try:
        with closing(sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)) as conn:
            found = conn.execute(_QUERY, (_stored(since), _stored(until))).fetchall()
    except sqlite3.Error:
        return {}
    first: dict[int, list[datetime]] = {}
    for inbox_id, *times in found:  # each message's first reply that went out
        if inbox_id not in first and None not in times:
            first[inbox_id] = [datetime.fromisoformat(t) for t in times]
    if not first:
        return {}
    spans: dict[str, Any] = {}
    for name, start, end in STAGES:
        ms = sorted((t[end] - t[start]).total_seconds() * 1e3 for t in first.values())
        spans[name] = {q: round(ms[min(len(ms) - 1, int(p * len(ms)))], 1)
                       for q, p in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))}
    rounds = Counter(Counter(t[1] for t in first.values()).values())
    return {"messages": len(first), "spans": spans,
            "round_sizes": {str(size): count for size, count in sorted(rounds.items())}}


def describe(name: str, found: dict[str, Any]) -> list[str]:
    """Report lines for one row."""
    if not found:
        return []
    lines = [f"\n{name}: {found['messages']} messages of the open loop, ms p50 / p90 / p99"]
    for span, q in found["spans"].items():
        lines.append(f"  {span:30s} {q['p50']:7.1f} {q['p90']:7.1f} {q['p99']:7.1f}")
    sizes = ", ".join(f"{size}: {count}" for size, count in found["round_sizes"].items())
    lines.append(f"  rounds by events handled: {sizes}")
    return lines
