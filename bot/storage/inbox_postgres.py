"""The inbox store on PostgreSQL: a connection of its own, one statement per commit.

Through the engine, every group commit checked a connection out of the pool and pinged
it (a round trip), began a transaction, ran SQLAlchemy's insert-many (parameter
processing, greenlet switches on every await) and committed: under a webhook flood a
fifth of werkbot's time. Here one asyncpg connection, kept checked out of the engine's
pool (so it is made with the engine's own connect arguments), runs one prepared
statement per group commit: the rows as one array per column through `unnest`, known
de-duplication keys skipped, the inserted keys returned. A single statement commits on
its own, so a commit stores every row or none.

The insert is idempotent (known keys are skipped), so when it fails the connection is
dropped and the insert is tried once more on a fresh one (pinged by the pool): after a
PostgreSQL restart the first webhooks are stored at once instead of being answered 503.
If that fails too (PostgreSQL still down), the error reaches the webhook (503, the
provider delivers again). The values are processed by the columns' own bind processors,
so what is stored is what SQLAlchemy would store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from werkbot.bot.storage.database import Database
from werkbot.bot.storage.models import InboxRow

log = logging.getLogger(__name__)


class PostgresInboxStore:
    """Inserts inbox rows on a dedicated connection, skipping known de-duplication keys."""

    def __init__(self, db: Database) -> None:
        self._engine: AsyncEngine = db.engine
        self._held: AsyncConnection | None = None
        self._driver: Any = None  # the asyncpg connection under `_held`
        table = InboxRow.__table__
        dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
        columns = [c for c in table.columns if c.name not in ("id", "handled_at")]
        self._columns = [c.name for c in columns]
        self._processors: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
        arrays = ", ".join(f"${i}::{c.type.compile(dialect=dialect)}[]"
                           for i, c in enumerate(columns, start=1))
        # Column names and types come from the model; every value is bound.
        self._sql = (f"INSERT INTO inbox ({', '.join(self._columns)}) "  # noqa: S608
                     f"SELECT * FROM unnest({arrays}) "
                     "ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key")

    async def insert(self, rows: Sequence[Mapping[str, Any]]) -> set[str]:
        """Insert in one statement; returns the keys that were new."""
        arrays = self._arrays(rows)
        try:
            return await self._run(arrays)
        except Exception as exc:
            await self._drop()
            log.info("inbox insert failed on its connection (%s); trying a fresh one",
                     type(exc).__name__)
        try:
            return await self._run(arrays)
        except Exception:
            await self._drop()
            raise

    async def close(self) -> None:
        if self._held is not None:
            await self._held.close()
        self._held, self._driver = None, None

    async def _run(self, arrays: list[list[Any]]) -> set[str]:
        if self._driver is None:
            held = await self._engine.connect()
            try:
                self._driver = (await held.get_raw_connection()).driver_connection
            except BaseException:
                await held.close()
                raise
            self._held = held
        records = await self._driver.fetch(self._sql, *arrays)
        return {record[0] for record in records}

    async def _drop(self) -> None:
        held, self._held, self._driver = self._held, None, None
        if held is not None:
            try:
                await held.invalidate()
                await held.close()
            except Exception:  # already broken: nothing to give back
                log.debug("closing a broken inbox connection failed", exc_info=True)

    def _arrays(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        arrays: list[list[Any]] = []
        for name, process in zip(self._columns, self._processors, strict=True):
            values = [row[name] for row in rows]
            if process is not None:
                values = [None if v is None else process(v) for v in values]
            arrays.append(values)
        return arrays
