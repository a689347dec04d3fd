"""On SQLite, a flush of changed rows runs as a few UPDATE statements on the driver connection.

The ORM's unit of work costs about a millisecond of Python per flush, however little it
writes: it sorts the mappers, builds a dependency graph and compiles each UPDATE again.
At a commit in the hot paths the only pending changes are plain column values of rows
loaded earlier: an inbox row marked done, an address's last contact, an outbox row's
send record. With batches of one or two events, that flush was most of a batch's cost.

So, when a session running inline (`bot/storage/inline_sql.py`) flushes, this
`before_flush` hook writes those changes itself: one executemany per table and set of
changed columns, each UPDATE compiled once by SQLAlchemy with the columns' own bind
processors, and then marks the objects clean exactly as the unit of work does after its
own UPDATEs. The flush then has nothing left to do. The writes run inside a
subtransaction of the session's, as the unit of work's do: if one fails, the session
must be rolled back, as after any failed flush.

Everything else is left to the unit of work, whole: new or deleted objects in the
session (their order against the updates matters for foreign keys), a changed
relationship or primary key, a SQL expression assigned, a mapper with inheritance,
update events, a version counter or an `onupdate` default, a savepoint, or no inline
connection (PostgreSQL, in-memory databases).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, bindparam, inspect, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, Session, UOWTransaction
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.sql.expression import ClauseElement

from werkbot.bot.storage.inline_sql import INLINE, Prepared

_KEY = "pk_"  # the bound name of the primary key in the UPDATEs below
# Per mapper: attribute key -> column key, of the attributes that may be written here;
# None for a mapper whose rows the unit of work must always write.
_writable: dict[Mapper[Any], dict[str, str] | None] = {}
_statements: dict[tuple[Mapper[Any], tuple[str, ...]], Prepared] = {}  # by changed columns

_Change = tuple[InstanceState[Any], Any, tuple[Any, ...]]  # object, key, changed values


def flush_updates_inline(session: Session, _context: UOWTransaction, _objects: Any) -> None:
    """`before_flush` of `InlineSession`: write plain column changes inline."""
    raw: sqlite3.Connection | None = session.info.get(INLINE)
    if raw is None or session.new or session.deleted or session.in_nested_transaction():
        return
    groups = _plan(session.dirty)
    if not groups:  # nothing changed, or something the unit of work must write
        return
    transaction = session.get_transaction()
    assert transaction is not None  # the inline connection belongs to one
    subtransaction = transaction._begin()
    try:
        for (mapper, keys), changes in groups.items():
            if not keys:
                continue  # set to the values they had: nothing to write
            statement = _statement(mapper, keys)
            names = [_name(key) for key in keys]
            params = [statement.params({_KEY: key, **dict(zip(names, values, strict=True))})
                      for _, key, values in changes]
            try:
                cursor = raw.executemany(statement.sql, params)
            except sqlite3.Error as exc:  # as the engine raises it: IntegrityError, ...
                raise DBAPIError.instance(statement.sql, params, exc, sqlite3.Error) from exc
            if cursor.rowcount != len(changes):  # as the unit of work checks it
                raise StaleDataError(
                    f"UPDATE statement on table '{mapper.local_table}' expected to update "
                    f"{len(changes)} row(s); {cursor.rowcount} were matched.")
        InstanceState._commit_all_states(
            [(state, state.dict) for changes in groups.values() for state, _, _ in changes],
            instance_dict=session.identity_map)
        subtransaction.commit()
    except BaseException:
        subtransaction.rollback(_capture_exception=True)
        raise


def _plan(dirty: Iterable[Any]) -> dict[tuple[Mapper[Any], tuple[str, ...]], list[_Change]] | None:
    """The changed objects grouped by table and changed columns; None if any of them is
    not a plain column change (then the unit of work writes them all)."""
    groups: dict[tuple[Mapper[Any], tuple[str, ...]], list[_Change]] = {}
    for obj in dirty:
        state: InstanceState[Any] = inspect(obj)
        writable = _writable_keys(state.mapper)
        identity = state.key
        if writable is None or state.expired or identity is None:
            return None
        current = state.dict
        keys: list[str] = []
        values: list[Any] = []
        for key, before in state.committed_state.items():
            if key not in writable or key not in current:
                return None  # a relationship, the primary key, an attribute deleted
            value = current[key]
            if isinstance(value, ClauseElement):
                return None
            if before is not NO_VALUE and before == value:
                continue  # the unit of work would not write an unchanged value either
            keys.append(writable[key])
            values.append(value)
        order = sorted(range(len(keys)), key=keys.__getitem__)
        group = (state.mapper, tuple(keys[i] for i in order))
        groups.setdefault(group, []).append((state, identity[1][0],
                                             tuple(values[i] for i in order)))
    return groups


def _writable_keys(mapper: Mapper[Any]) -> dict[str, str] | None:
    try:
        return _writable[mapper]
    except KeyError:
        pass
    table = mapper.local_table
    plain = (isinstance(table, Table) and mapper.inherits is None and not mapper.polymorphic_map
             and len(mapper.primary_key) == 1 and mapper.version_id_col is None
             and not mapper.dispatch.before_update and not mapper.dispatch.after_update
             and all(column.onupdate is None and column.server_onupdate is None
                     for column in table.columns))
    found: dict[str, str] | None = None
    if plain:
        key_column = mapper.primary_key[0]
        found = {prop.key: prop.columns[0].key for prop in mapper.column_attrs
                 if len(prop.columns) == 1 and prop.columns[0] is not key_column
                 and prop.columns[0].table is table}
    _writable[mapper] = found
    return found


def _statement(mapper: Mapper[Any], keys: tuple[str, ...]) -> Prepared:
    """`UPDATE table SET key = ?, ... WHERE id = ?`, compiled once per set of columns."""
    found = _statements.get((mapper, keys))
    if found is None:
        table = mapper.local_table
        assert isinstance(table, Table)  # as _writable_keys checked
        columns = table.columns
        key_column = mapper.primary_key[0]
        found = _statements[(mapper, keys)] = Prepared(
            update(table)
            .where(key_column == bindparam(_KEY, type_=key_column.type))
            .values({key: bindparam(_name(key), type_=columns[key].type) for key in keys}))
    return found


def _name(key: str) -> str:
    """A column's bound name: not its own, which SQLAlchemy keeps for the SET clause."""
    return f"v_{key}"
