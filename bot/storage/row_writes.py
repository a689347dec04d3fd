"""Row writes on the hot paths, without the unit of work.

The dispatcher refreshes its sender's address (an ORM object it loaded) for every event:
`set_columns`. A first message makes a person and an address: `insert_row`. The outbox
records the outcomes of sends on rows it read as plain columns: `write_columns`, one
executemany per set of columns, no object at all.
The ORM's unit of work costs far more Python per flush than SQLite needs for the row
(bench/README.md), so where statements run on SQLite's driver connection
(`inline_sql.py`), `set_columns` runs the UPDATE at once and gives the object the values
as loaded state, and `insert_row` runs one INSERT ... RETURNING and makes the object from
the row as a query would: the commit's flush finds nothing left to do. Elsewhere
(PostgreSQL, an in-memory database, inside a savepoint) the ORM writes them as usual.
Only public SQLAlchemy API is used (`set_committed_value`, `inspect`,
`make_transient_to_detached`, Core `insert` and `update`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from werkbot.bot.storage.inline_sql import Prepared, inline_connection, session_entity

_KEY = "pk_"  # the bound name of the primary key; values are bound as `v_<column>`
_updates: dict[tuple[Mapper[Any], tuple[str, ...]], Prepared] = {}
_inserts: dict[Mapper[Any], tuple[Prepared, list[str], dict[str, Any]]] = {}
Row = TypeVar("Row")


async def insert_row(session: AsyncSession, model: type[Row], /, **values: Any) -> Row:
    """Insert one row of `model` and return the session's persistent object for it.

    Columns not given take their scalar default, or NULL; a column with neither must be
    given (ValueError names it). The primary key comes from the database.
    """
    statement, keys, defaults = _insert(inspect(model))
    unknown = set(values) - set(defaults)
    if unknown:
        raise ValueError(f"insert_row: {sorted(unknown)} are not columns of {model.__name__}")
    row = {**defaults, **values}
    missing = [key for key, value in row.items() if value is _REQUIRED]
    if missing:
        raise ValueError(f"insert_row: {model.__name__} needs {', '.join(missing)}")
    if inline_connection(session) is None:
        entity = model(**row)
        session.add(entity)
        await session.flush()
        return entity
    found = await statement.first(session, row)
    assert found is not None  # RETURNING gives the inserted row
    entity_: Row = session_entity(session.sync_session, model, keys, found)
    return entity_


_REQUIRED = object()


def _insert(mapper: Mapper[Any]) -> tuple[Prepared, list[str], dict[str, Any]]:
    """`INSERT ... RETURNING` every column of `mapper`'s table, compiled once; its
    attribute keys (primary key first) and per column its default (`_REQUIRED`: none)."""
    found = _inserts.get(mapper)
    if found is not None:
        return found
    table = mapper.local_table
    attrs = list(mapper.column_attrs)
    if (not isinstance(table, Table) or len(mapper.primary_key) != 1
            or attrs[0].columns[0] is not mapper.primary_key[0]
            or any(attr.key != attr.columns[0].key for attr in attrs)):
        raise TypeError(f"insert_row: {mapper.class_.__name__} needs one table, one key "
                        "mapped first, and attributes named as their columns")
    defaults: dict[str, Any] = {}
    for attr in attrs[1:]:
        column = attr.columns[0]
        default = column.default
        if default is not None and getattr(default, "is_scalar", False):
            defaults[attr.key] = getattr(default, "arg", None)
        else:
            defaults[attr.key] = None if column.nullable else _REQUIRED
    statement = Prepared(insert(table).returning(*(attr.columns[0] for attr in attrs)),
                         keys=list(defaults))
    found = _inserts[mapper] = (statement, [attr.key for attr in attrs], defaults)
    return found


def set_columns(session: AsyncSession, row: Any, /, **values: Any) -> None:
    """Set plain columns of `row`, a persistent object of `session`, by attribute name."""
    state = inspect(row)
    keys = tuple(values)  # each call site names its columns in one order: one statement
    statement = _update(state.mapper, keys)  # checks the names, wherever it runs
    raw = inline_connection(session)
    if raw is None or not state.persistent:
        for key in keys:
            setattr(row, key, values[key])
        return
    params = statement.params({_KEY: state.identity[0],
                               **{f"v_{key}": values[key] for key in keys}})
    if raw.execute(statement.sql, params).rowcount != 1:  # as the unit of work checks it
        raise StaleDataError(f"UPDATE of {state.mapper.local_table} row {state.identity[0]} "
                             "matched no row")
    for key in keys:
        set_committed_value(row, key, values[key])


async def write_columns(session: AsyncSession, model: type[Any],
                        changes: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
    """Set plain columns of `model` rows by primary key, without loading them: one
    executemany per set of columns (the same statements as `set_columns`). Objects of
    those rows already in the session are not told: use it for rows read as columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for key, values in changes:
        groups.setdefault(tuple(values), []).append(
            {_KEY: key, **{f"v_{name}": value for name, value in values.items()}})
    mapper = inspect(model)
    for keys, params in groups.items():
        await _update(mapper, keys).run_many(session, params)


def _update(mapper: Mapper[Any], keys: tuple[str, ...]) -> Prepared:
    """`UPDATE table SET column = ?, ... WHERE id = ?`, compiled once per set of columns."""
    found = _updates.get((mapper, keys))
    if found is not None:
        return found
    table = mapper.local_table
    if not isinstance(table, Table) or len(mapper.primary_key) != 1:
        raise TypeError(f"set_columns: {mapper.class_.__name__} needs one table and key")
    columns = {}
    for key in keys:
        column = mapper.columns.get(key)
        if column is None or column.table is not table or column.primary_key:
            raise ValueError(f"set_columns: {key!r} is not a plain column of {table.name}")
        columns[column.key] = bindparam(f"v_{key}", type_=column.type)
    key_column = mapper.primary_key[0]
    found = _updates[(mapper, keys)] = Prepared(
        update(table).where(key_column == bindparam(_KEY, type_=key_column.type))
        .values(columns))
    return found
