"""What the writers share: version counters, reading stored rows by key, and writing
only the rows that differ from what is stored (so a re-import changes nothing)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, select

from ...store.bulk import insert_rows
from ...store.inventory_tables import inventory_versions
from ...store.sql import chunks

#: keys per ``IN (…)`` list
_IN_CHUNK = 5000


def lock_version(conn: Connection, scope: str) -> int:
    """The counter's value, locked until the transaction ends (PostgreSQL row lock;
    SQLite's write transaction already holds the database)."""
    q = select(inventory_versions.c.version).where(inventory_versions.c.scope == scope)
    return int(conn.execute(q.with_for_update()).scalar_one())


def set_version(conn: Connection, scope: str, version: int) -> None:
    c = inventory_versions.c
    conn.execute(inventory_versions.update().where(c.scope == scope).values(version=version))


def read_by_key(
    conn: Connection, table: Table, key: str, keys: Iterable[Hashable], columns: Sequence[str]
) -> dict[Any, tuple[Any, ...]]:
    """``{key: (columns…)}`` of the stored rows among ``keys`` (one-column keys)."""
    out: dict[Any, tuple[Any, ...]] = {}
    cols = [table.c[n] for n in columns]
    for part in chunks(sorted(set(keys)), _IN_CHUNK):  # type: ignore[type-var]
        for row in conn.execute(select(table.c[key], *cols).where(table.c[key].in_(part))):
            out[row[0]] = tuple(row[1:])
    return out


@dataclass
class Diff:
    """Rows (dicts of columns) to insert and to update; ``unchanged`` counts the rest."""

    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0

    def __bool__(self) -> bool:
        return bool(self.new or self.changed)


def diff(
    stored: Mapping[Any, tuple[Any, ...]], incoming: Mapping[Any, tuple[Any, ...]],
    names: Sequence[str],
) -> Diff:  # fmt: skip
    """``incoming`` (key → the values of ``names``, key columns first) against what is
    stored (key → the same values)."""
    out = Diff()
    for k, values in incoming.items():
        have = stored.get(k)
        if have == values:
            out.unchanged += 1
        else:
            (out.new if have is None else out.changed).append(dict(zip(names, values, strict=True)))
    return out


def write(
    conn: Connection,
    table: Table,
    keys: Sequence[str],
    d: Diff,
    stamp: Mapping[str, Any],
    new_only: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``d.new`` and update ``d.changed`` (matched on ``keys``), each with the
    ``stamp`` columns (version, time) added; ``new_only`` is added to inserts only."""
    if d.new:
        extra = {**stamp, **(new_only or {})}
        insert_rows(conn, table, [{**r, **extra} for r in d.new])
    if d.changed:
        names = [n for n in d.changed[0] if n not in keys] + list(stamp)
        stmt = (
            table.update()
            .where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys)))
            .values({n: bindparam(f"v_{n}") for n in names})
        )
        params = [
            {**{f"k_{k}": r[k] for k in keys}, **{f"v_{n}": {**r, **stamp}[n] for n in names}}
            for r in d.changed
        ]
        for part in chunks(params, _IN_CHUNK):
            conn.execute(stmt, list(part))
