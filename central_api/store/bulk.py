"""Writing many rows in few statements, without SQLAlchemy's per-row work (the ingest
hot path).

``conn.execute(table.insert(), rows)`` costs more in Python than the database spends
storing the rows: SQLAlchemy builds a parameter dict per row and psycopg, in pipeline
mode, sends each one on its own. Here each column's values are converted once with the
column's own bind processor (so they are stored exactly as SQLAlchemy would store them),
then:

* SQLite gets one ``executemany`` of a plain statement (the driver loops in C), or one
  multi-row ``VALUES`` statement per chunk when rows must be returned;
* PostgreSQL gets ``COPY … FROM STDIN`` in binary format when nothing can conflict and
  nothing is returned (psycopg formats the rows in C, and the server's COPY costs less
  than an INSERT), else ``INSERT … SELECT * FROM unnest(%b::type[], …)``: one array per
  column in binary format, one statement per chunk whatever its size, and the same
  statement text every time, so it is parsed once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Connection, Float, Table
from sqlalchemy.engine import Dialect

from .sql import bind_processor, chunks, rows_per_statement

#: rows per statement on PostgreSQL: arrays have no parameter limit (SQLite's multi-row
#: VALUES, only with RETURNING, follows ``rows_per_statement``)
_PG_CHUNK = 10_000


def _float(v: Any) -> Any:
    # psycopg will not dump a list mixing int and float into one array
    return None if v is None else float(v)


@lru_cache(maxsize=256)
def _converters(
    dialect: Dialect, table: Table, names: tuple[str, ...]
) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    out = []
    for i, name in enumerate(names):
        col = table.c[name]
        proc = bind_processor(dialect, col.type)
        if dialect.name == "postgresql" and isinstance(col.type, Float):
            proc = _float if proc is None else (lambda v, p=proc: _float(p(v)))
        if proc is not None:
            out.append((i, proc))
    return tuple(out)


@lru_cache(maxsize=256)
def _pg_sql(dialect: Dialect, table: Table, names: tuple[str, ...], tail: str) -> str:
    casts = []
    for name in names:
        col_type = table.c[name].type
        if isinstance(col_type, JSON):
            casts.append("%b::text[]::json[]")  # the bind processor has made the text
        else:
            casts.append(f"%b::{col_type.compile(dialect=dialect)}[]")
    cols = ", ".join(names)
    return f"INSERT INTO {table.name} ({cols}) SELECT * FROM unnest({', '.join(casts)}){tail}"


#: psycopg's names of the types columns are written as
_COPY_TYPES = {
    "VARCHAR": "varchar", "TEXT": "text", "BIGINT": "int8", "INTEGER": "int4",
    "SMALLINT": "int2", "BOOLEAN": "bool", "FLOAT": "float8", "DOUBLE PRECISION": "float8",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}  # fmt: skip


@lru_cache(maxsize=256)
def _pg_copy(dialect: Dialect, table: Table, names: tuple[str, ...]) -> tuple[str, list[str]]:
    types = []
    for name in names:
        col_type = table.c[name].type
        if isinstance(col_type, JSON):
            types.append("json")  # the bind processor's Json wrapper says how to dump
        else:
            types.append(_COPY_TYPES[col_type.compile(dialect=dialect).split("(")[0]])
    return f"COPY {table.name} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)", types


def _copy(conn: Connection, sql: str, types: list[str], columns: list[list[Any]]) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            copy.set_types(types)
            for row in zip(*columns, strict=True):
                copy.write_row(row)
    except raw.Error as err:
        # As if SQLAlchemy had run it: the same exception classes (IntegrityError,
        # OperationalError, …), and a lost connection is invalidated.
        conn._handle_dbapi_exception(err, sql, (), None, None)  # raises
        raise


def _fetched(result: Any) -> list[tuple[Any, ...]]:
    # Straight from the driver's cursor, in one call: the values need no conversion,
    # and SQLAlchemy's row-by-row fetch cost more than the rows themselves.
    rows = result.cursor.fetchall()  # tuples, from both drivers
    result.close()
    return rows


def _tail(ignore_conflicts: bool, returning: Sequence[str]) -> str:
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if returning:
        tail += " RETURNING " + ", ".join(returning)
    return tail


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts with the same keys) into ``table``.

    ``ignore_conflicts`` adds ``ON CONFLICT DO NOTHING`` (any unique key). With
    ``returning``, the returned tuples of the rows actually inserted come back (in no
    particular order); otherwise the result is empty.
    """
    if not rows:
        return []
    names = tuple(rows[0])
    columns = [[r[n] for r in rows] for n in names]
    return insert_columns(
        conn, table, names, columns, ignore_conflicts=ignore_conflicts, returning=returning
    )


def insert_columns(
    conn: Connection,
    table: Table,
    names: Sequence[str],
    columns: list[list[Any]],
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """``insert_rows`` for data already laid out one list per column (``names`` order).
    Converted columns replace their entries in ``columns`` (the inner lists are not
    changed)."""
    if not columns or not columns[0]:
        return []
    names = tuple(names)
    dialect = conn.dialect
    for i, proc in _converters(dialect, table, names):
        columns[i] = [proc(v) for v in columns[i]]
    tail = _tail(ignore_conflicts, tuple(returning))
    n = len(columns[0])
    out: list[tuple[Any, ...]] = []
    if dialect.name == "postgresql":
        if not ignore_conflicts and not returning:
            sql, types = _pg_copy(dialect, table, names)
            _copy(conn, sql, types, columns)
            return out
        sql = _pg_sql(dialect, table, names, tail)
        for start in range(0, n, _PG_CHUNK):
            params = tuple(col[start : start + _PG_CHUNK] for col in columns)
            result = conn.exec_driver_sql(sql, params)
            if returning:
                out += _fetched(result)
        return out
    if dialect.name != "sqlite":
        raise ValueError(f"unsupported dialect {dialect.name!r}")
    rows = list(zip(*columns, strict=True))
    cols = ", ".join(names)
    one = "(" + ", ".join("?" * len(names)) + ")"
    if not returning:
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({cols}) VALUES {one}{tail}", rows)
        return out
    per = rows_per_statement(len(names))
    for chunk in chunks(rows, per):
        sql = f"INSERT INTO {table.name} ({cols}) VALUES {', '.join([one] * len(chunk))}{tail}"
        result = conn.exec_driver_sql(sql, tuple(v for row in chunk for v in row))
        out += _fetched(result)
    return out
