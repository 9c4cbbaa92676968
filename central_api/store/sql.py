"""Small dialect-aware helpers shared by central's writers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Text,
    bindparam,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

T = TypeVar("T")

#: SQLite (>= 3.32) allows 32766 bound variables per statement, PostgreSQL 65535
MAX_PARAMS = 32000

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


def insert_for(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing`` / ``…_do_update``."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported dialect {name!r}")


def insert_ignore(conn: Connection, table: Table) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` on any unique key, in the connection's dialect."""
    return insert_for(conn, table).on_conflict_do_nothing()


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bind_processor(dialect: Dialect, type_: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """How SQLAlchemy converts a value of ``type_`` for ``dialect``'s driver (None: as
    it is), for the writers that send values without SQLAlchemy's per-row handling."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def rows_per_statement(columns: int) -> int:
    """How many rows one multi-row VALUES statement may carry."""
    return max(1, min(1000, MAX_PARAMS // max(1, columns)))


def add_counts(
    conn: Connection,
    table: Table,
    key_columns: Sequence[str],
    value_column: str,
    rows: Iterable[dict[str, Any]],
) -> None:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET value = value + excluded.value``.

    Rows are sent sorted by key so that concurrent workers lock counter rows in the
    same order and cannot deadlock each other.
    """
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in key_columns))
    if not ordered:
        return
    ins = insert_for(conn, table)
    stmt = ins.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={value_column: table.c[value_column] + ins.excluded[value_column]},
    )
    for chunk in chunks(ordered, rows_per_statement(len(ordered[0]))):
        conn.execute(stmt, list(chunk))


def clean_text(value: str, limit: int) -> str:
    """Text as any database can store it (no NUL for PostgreSQL, no lone surrogate for
    the UTF-8 encoders) and at most ``limit`` UTF-8 bytes."""
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
        raw = value.encode("utf-8")
    if len(raw) <= limit:
        return value
    return raw[:limit].decode("utf-8", "ignore")


def pairs_in(
    conn: Connection, a: ColumnElement[Any], b: ColumnElement[Any], pairs: Iterable[tuple[Any, Any]]
) -> ColumnElement[bool]:
    """``(a, b) IN pairs`` (see ``tuples_in``)."""
    return tuples_in(conn, (a, b), pairs)


def tuples_in(
    conn: Connection, columns: Sequence[ColumnElement[Any]], keys: Iterable[tuple[Any, ...]]
) -> ColumnElement[bool]:
    """``(c1, c2, …) IN keys``. On PostgreSQL the keys travel as one array per column,
    ``unnest``ed into a semi-join: a literal list of thousands of row values is slow to
    plan."""
    keys = sorted(set(keys))
    if conn.dialect.name == "sqlite":
        return _sqlite_tuples_in(conn, columns, keys)
    if conn.dialect.name != "postgresql":
        return tuple_(*columns).in_(keys)
    names = [f"k{i}" for i in range(len(columns))]
    arrays = [
        bindparam(None, [k[i] for k in keys], type_=postgresql.ARRAY(col.type))
        for i, col in enumerate(columns)
    ]
    rows = func.unnest(*arrays).table_valued(*names).render_derived()
    return tuple_(*columns).in_(select(*(rows.c[n] for n in names)))


def _sqlite_tuples_in(
    conn: Connection, columns: Sequence[ColumnElement[Any]], keys: list[tuple[Any, ...]]
) -> ColumnElement[bool]:
    # SQLite scans the whole table for ``(a, b) IN ((?, ?), …)`` but searches the index
    # for ``(a, b) IN (SELECT …)``: the keys travel as one JSON array of arrays, each
    # value converted by its column's bind processor as a plain parameter would be.
    procs = [bind_processor(conn.dialect, col.type) for col in columns]
    if any(procs):
        keys = [
            tuple(v if p is None else p(v) for v, p in zip(k, procs, strict=True)) for k in keys
        ]
    rows = func.json_each(bindparam(None, json.dumps(keys), type_=Text)).table_valued("value")
    parts = [
        func.json_extract(rows.c.value, literal_column(f"'$[{i}]'")) for i in range(len(columns))
    ]
    return tuple_(*columns).in_(select(*parts))


def lock_keys(conn: Connection, keys: Mapping[str, Iterable[str]]) -> None:
    """Hold a lock on each ``namespace:key`` (``keys``: namespace → keys) until the
    transaction ends (PostgreSQL advisory locks, taken in one sorted pass; SQLite's write
    lock already serialises writers, so nothing is needed there).

    For facts that meet across transactions, such as a session's QR link and the
    session's other events: the transaction that writes one and then looks for the
    other takes the lock first, so two concurrent ones cannot both miss each other.
    """
    if conn.dialect.name != "postgresql":
        return
    names = sorted({f"{namespace}:{k}" for namespace, ks in keys.items() for k in ks})
    if names:
        conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(n, 0) AS k"
            " FROM unnest(%s::text[]) AS n ORDER BY 1) AS ks",
            (names,),
        )
