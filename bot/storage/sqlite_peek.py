"""A read that tells a worker whether a claim can find anything, before it opens one.

The dispatcher and the outbox sender look for due rows after every round and at every
poll, and most looks find nothing. A claim is a write transaction (the writer's turn, a
session, `BEGIN IMMEDIATE`, the claim, `COMMIT`), while one indexed read on a `sqlite3`
connection of its own answers in microseconds: in WAL mode a reader never waits for the
writer. So on an SQLite file a worker asks here first and claims only when a row is due.

This changes what a look costs, never when one happens: the read sees everything
committed, and whatever is committed after it wakes the worker as before. What the
read cannot answer (PostgreSQL, an in-memory database, any SQLite error) is "maybe", and
the worker claims as it would without it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from werkbot.bot.storage.inline_sql import Prepared
from werkbot.bot.storage.sqlite_connections import open_file

log = logging.getLogger(__name__)


class DuePeek:
    """Answers "might this SELECT find a row?" on a read connection to one SQLite file."""

    def __init__(self, path: str | None) -> None:
        self._path = path  # None: nothing to read on its own (PostgreSQL, in memory)
        self._connection: sqlite3.Connection | None = None
        self._failed = False  # the last read failed: said once, not at every look

    def finds(self, statement: Prepared, values: Mapping[str, Any]) -> bool:
        """False only when `statement` (a SELECT) finds no row in what is committed now;
        True when it finds one or this cannot tell."""
        if self._path is None:
            return True
        try:
            connection = self._connection or self._open(self._path)
            cursor = connection.execute(statement.sql, statement.params(values))
            try:
                found = cursor.fetchone() is not None
            finally:
                cursor.close()  # ends the read: no snapshot held that a checkpoint waits for
        except sqlite3.Error as exc:
            if not self._failed:
                log.warning("looking for due rows failed (%s); claiming instead",
                            type(exc).__name__)
            self._failed = True
            self.close()  # opened afresh on the next look
            return True
        self._failed = False
        return found

    def _open(self, path: str) -> sqlite3.Connection:
        # Never waits for a lock (busy timeout 0): an answer that would have to wait is
        # "maybe", and the claim waits instead, as it always did.
        connection = open_file(path, 0)
        connection.execute("PRAGMA query_only=ON")
        self._connection = connection
        return connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
