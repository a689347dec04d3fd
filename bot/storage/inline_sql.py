"""Hot statements run straight on SQLite's driver connection, without SQLAlchemy's engine.

SQLAlchemy spends about 85 µs of Python on every statement it executes here (compiled-
cache lookup, parameter processing, two greenlet switches per await, result set-up), while
SQLite itself answers an indexed read in about 5 µs. The dispatcher runs a handful of the
same statements for every event, so on SQLite they are compiled once with SQLAlchemy
and then run on the `sqlite3` connection of the session's own transaction
(`bot/storage/sqlite_connections.py`), with SQLAlchemy's own bind and result processors for
each column: what is stored and read is exactly what the engine would store and read.

Anything else (PostgreSQL, an in-memory SQLite database on aiosqlite's thread, a session
whose transaction has not touched the database yet) runs the same statement through
SQLAlchemy. Raw statements do not autoflush the ORM session, as `Connection.execute`
never does; they join the transaction and its savepoints (it is the same connection).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, event, inspect
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from werkbot.bot.storage.sqlite_connections import sqlite_connection_of

INLINE = "werkbot.inline_sqlite"  # session.info key: the transaction's sqlite3 connection
_DIALECT = sqlite.dialect()
_Processor = Callable[[Any], Any] | None


class InlineSession(Session):
    """The ORM session class `Database` uses: the listeners below see only its sessions."""


def watch_inline_connections() -> None:
    """Let `InlineSession`s remember their inline SQLite connection (`Database` calls this;
    registering twice is a no-op)."""
    if not event.contains(InlineSession, "after_begin", _remember_inline):
        event.listen(InlineSession, "after_begin", _remember_inline)
        event.listen(InlineSession, "after_transaction_end", _forget_inline)


def _remember_inline(session: Session, _transaction: SessionTransaction,
                     connection: Connection) -> None:
    found = sqlite_connection_of(connection.connection.driver_connection)
    if found is not None:
        session.info[INLINE] = found


def _forget_inline(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the connection goes back to the pool
        session.info.pop(INLINE, None)


def inline_connection(session: AsyncSession) -> sqlite3.Connection | None:
    """The sqlite3 connection under `session`'s transaction, if it runs inline.

    None inside a savepoint: the ORM emits SAVEPOINT only when the nested transaction
    first asks for its connection, so those statements go through the session (which
    asks), and roll back with the savepoint.
    """
    found: sqlite3.Connection | None = session.info.get(INLINE)
    if found is not None and session.sync_session.in_nested_transaction():
        return None
    return found


class Prepared:
    """A Core statement, and the same compiled once for SQLite with its processors.

    `keys`: for an INSERT, the columns given (each row must give all of them).
    """

    def __init__(self, statement: Executable, keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=_DIALECT, column_keys=list(keys or ()) or None)
        assert isinstance(compiled, SQLCompiler)
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Python-side defaults are filled in by the engine, not here: give every column.
            raise ValueError(f"{self.__class__.__name__}: give every column of {statement}")
        self.sql = compiled.string
        # Per placeholder, in order: its name, the value bound at compile time (a literal
        # of the statement), and its type's processor.
        self._bound = [(name, compiled.binds[name].value,
                        _bind_processor(compiled.binds[name].type))
                       for name in compiled.positiontup or ()]
        # What it returns: a SELECT's columns, or an INSERT's/UPDATE's RETURNING.
        columns = getattr(statement, "exported_columns", None)
        self._results: list[_Processor] = (
            [_result_processor(column.type) for column in columns] if columns is not None
            else [])
        self._any_result = any(self._results)

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, default, proc in self._bound:
            value = values.get(name, default)
            out.append(proc(value) if proc is not None and value is not None else value)
        return tuple(out)

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self._any_result:
            return raw
        return tuple(value if proc is None or value is None else proc(value)
                     for value, proc in zip(raw, self._results, strict=True))

    async def all(self, session: AsyncSession, values: Mapping[str, Any]
                  ) -> list[tuple[Any, ...]]:
        """Every row the statement selects."""
        raw = inline_connection(session)
        if raw is None:
            result = await (await session.connection()).execute(self.statement, dict(values))
            return [tuple(row) for row in result.all()]
        rows = raw.execute(self.sql, self.params(values)).fetchall()
        return [self.row(row) for row in rows]

    async def first(self, session: AsyncSession, values: Mapping[str, Any]
                    ) -> tuple[Any, ...] | None:
        """The first row selected, or None."""
        raw = inline_connection(session)
        if raw is None:
            result = await (await session.connection()).execute(self.statement, dict(values))
            found = result.first()
            return None if found is None else tuple(found)
        got = raw.execute(self.sql, self.params(values)).fetchone()
        return None if got is None else self.row(got)

    async def scalar(self, session: AsyncSession, values: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        found = await self.first(session, values)
        return None if found is None else found[0]

    async def run(self, session: AsyncSession, values: Mapping[str, Any]) -> int:
        """Run a write; returns the rows it changed."""
        raw = inline_connection(session)
        if raw is None:
            result = await (await session.connection()).execute(self.statement, dict(values))
            return int(getattr(result, "rowcount", 0) or 0)
        return raw.execute(self.sql, self.params(values)).rowcount

    async def run_many(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a write once per row (an INSERT of several rows)."""
        if not rows:
            return
        raw = inline_connection(session)
        if raw is None:
            await (await session.connection()).execute(self.statement,
                                                       [dict(row) for row in rows])
            return
        raw.executemany(self.sql, [self.params(row) for row in rows])


class PreparedEntities:
    """A SELECT of whole mapped rows (several classes side by side), read raw on SQLite.

    Each row becomes the session's own object, exactly as an ORM query would give it: the
    one already in the session's identity map (with any changes not flushed yet), or a new
    persistent object, clean, built from the columns (`make_transient_to_detached`, then
    added). On other databases the ORM query runs.
    """

    def __init__(self, statement: Select[*tuple[Any, ...]],
                 *classes: type[Any]) -> None:
        self.statement = statement  # selects `classes`, in this order
        self._classes: list[tuple[type[Any], list[str]]] = []
        columns: list[Any] = []
        for cls in classes:
            mapper = inspect(cls)
            attrs = list(mapper.column_attrs)
            if len(mapper.primary_key) != 1 or attrs[0].columns[0] is not mapper.primary_key[0]:
                raise ValueError(f"{cls.__name__}: needs a one-column primary key, mapped first")
            self._classes.append((cls, [attr.key for attr in attrs]))
            columns += [attr.columns[0] for attr in attrs]
        self.prepared = Prepared(statement.with_only_columns(*columns))
        widths = [len(keys) for _, keys in self._classes]
        self._slices = [slice(sum(widths[:i]), sum(widths[:i + 1])) for i in range(len(widths))]

    async def all(self, session: AsyncSession, values: Mapping[str, Any]
                  ) -> list[tuple[Any, ...]]:
        """Every row selected, each a tuple of the session's objects."""
        if inline_connection(session) is None:
            return [tuple(row) for row in (await session.execute(self.statement,
                                                                   dict(values))).all()]
        return [self._entities(session, row) for row in await self.prepared.all(session, values)]

    async def first(self, session: AsyncSession, values: Mapping[str, Any]
                    ) -> tuple[Any, ...] | None:
        """The first row selected as a tuple of the session's objects, or None."""
        if inline_connection(session) is None:
            found = (await session.execute(self.statement, dict(values))).first()
            return None if found is None else tuple(found)
        row = await self.prepared.first(session, values)
        return None if row is None else self._entities(session, row)

    def _entities(self, session: AsyncSession, row: tuple[Any, ...]) -> tuple[Any, ...]:
        sync = session.sync_session
        return tuple(session_entity(sync, cls, keys, row[part])
                     for (cls, keys), part in zip(self._classes, self._slices, strict=True))


def session_entity(session: Session, cls: type[Any], keys: Sequence[str],
                   values: Sequence[Any]) -> Any:
    """The session's object for a row of `cls` read as columns (`keys`: its mapped
    attributes, the primary key first): the one in the identity map, or a new persistent,
    clean one, as a query would give it."""
    known = session.identity_map.get(identity_key(cls, values[0]))
    if known is not None:
        expired = inspect(known).expired_attributes
        if expired:  # as a query would: expired attributes are loaded from the row
            for key, value in zip(keys, values, strict=True):
                if key in expired:
                    set_committed_value(known, key, value)
        return known
    # As the ORM's loader does: the values go into the instance's state dict as loaded
    # (no attribute events); made "detached", the object has the identity of its key and
    # no history, and once added to the session it is persistent and clean.
    entity = cls()
    inspect(entity).dict.update(zip(keys, values, strict=True))
    make_transient_to_detached(entity)
    session.add(entity)
    return entity


def _bind_processor(type_: Any) -> _Processor:
    processor: _Processor = type_.dialect_impl(_DIALECT).bind_processor(_DIALECT)
    return processor


def _result_processor(type_: Any) -> _Processor:
    processor: _Processor = type_.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
    return processor
