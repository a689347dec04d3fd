"""Claiming replies stays cheap while many are in flight (SQLite's query plan).

When the provider is slow or throttles, rows handed to the sender pile up as `sending`.
The claim that runs with every batch the dispatcher handles looks for expired leases
among them; without an index on the lease it read every one of those rows, every time,
and handling slowed down with the backlog (bench/README.md, bench_drain --batch 1).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.dialects import sqlite

from werkbot.bot.outbox import _claim_statement
from werkbot.bot.storage.migrate import upgrade


def test_the_claim_finds_expired_leases_through_the_lease_index(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    statement = _claim_statement(sqlite=True).compile(dialect=sqlite.dialect())
    with sqlite3.connect(db) as raw:
        plan = [row[3] for row in raw.execute(
            f"EXPLAIN QUERY PLAN {statement}", [None] * len(statement.positiontup or ()))]
    raw.close()
    candidates = [step for step in plan if step.startswith("SEARCH candidate")]
    assert candidates, plan
    # Every way to a candidate is bounded by its index: due queued rows, expired leases.
    assert all("<" in step for step in candidates), plan
    assert any("ix_outbox_lease" in step for step in candidates), plan
