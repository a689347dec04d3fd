"""Where the inbox's group commits go: one protocol, one store per database where they differ.

`InboxWriter` (bot/inbox.py) hands a store the rows of one group commit. Every store
inserts them in one transaction, skips de-duplication keys already stored (a provider's
redelivery), and returns the keys it inserted; it returns only once they are committed.

- `SqliteInboxStore` (inbox_sqlite.py): an SQLite file, on a connection and thread of its
  own, one thread hop per commit.
- `PostgresInboxStore` (inbox_postgres.py): one asyncpg statement per commit on a held
  connection, tried once more on a fresh one after a restart.
- `EngineInboxStore` (here): the same through SQLAlchemy's engine, for any other database
  (an in-memory SQLite database, which only the engine's own connection can see).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Executable
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from werkbot.bot.storage.database import Database
from werkbot.bot.storage.models import InboxRow
from werkbot.bot.storage.sqlite_connections import sqlite_file


class InboxStore(Protocol):
    """Stores one group commit of inbox rows."""

    async def insert(self, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """Insert what is new in one transaction; returns the de-duplication keys inserted."""
        ...

    async def close(self) -> None:
        """Let go of what the store holds (connections, threads)."""
        ...


class EngineInboxStore:
    """Through the engine: one INSERT ... ON CONFLICT DO NOTHING RETURNING per commit."""

    def __init__(self, db: Database) -> None:
        self._db = db
        insert = sqlite_insert if db.is_sqlite else pg_insert
        self._statement: Executable = (
            insert(InboxRow).on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(InboxRow.dedup_key))

    async def insert(self, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        async with self._db.connect(urgent=True) as conn:
            result = await conn.execute(self._statement, [dict(row) for row in rows])
            return set(result.scalars())

    async def close(self) -> None:
        return None


def inbox_store(db: Database) -> InboxStore:
    """The store for `db`'s database."""
    if db.is_sqlite:
        if sqlite_file(db.url) is None:
            return EngineInboxStore(db)
        from werkbot.bot.storage.inbox_sqlite import SqliteInboxStore

        return SqliteInboxStore(db)
    from werkbot.bot.storage.inbox_postgres import PostgresInboxStore  # asyncpg only then

    return PostgresInboxStore(db)
