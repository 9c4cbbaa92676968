"""A migrated central database per test without running Alembic per test.

``migrate`` plus a fresh database costs most of a second per test on PostgreSQL (and a
few tenths on SQLite), paid by ~1,000 tests through central's ``engine`` fixture. Each
pytest process now runs the real ``migrate`` once per backend and hands every test a
database in exactly the migrated state:

* SQLite: the migrated file, copied to the test's own path.
* PostgreSQL: a migrated schema of this process, emptied between tests. After a test its
  leftover connections are ended, every table but ``alembic_version`` is truncated
  (sequences restarted) and the rows the migrations insert are put back. When the
  test changed the schema's structure (a fingerprint of its catalog entries and its
  Alembic revision differs from the migrated one's), the schema is dropped instead and
  the next test gets a newly migrated one.

Tests of ``migrate`` itself (``test_store``, the migration tests) still get an empty
database through ``db_url`` (they do not use ``engine``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from central_api.store import make_engine, migrate
from tests.support import pg


def sqlite_template(folder: Path) -> Path:
    """A migrated SQLite file in ``folder`` (all in the main file: no WAL left over)."""
    path = folder / "central.db"
    eng = make_engine(f"sqlite:///{path}")
    try:
        migrate(eng)
    finally:
        eng.dispose()
    leftovers = [p for p in folder.iterdir() if p != path]
    assert not leftovers, f"the migrated template left {leftovers}"
    return path


def copy_sqlite_template(template: Path, db_url: str) -> None:
    """The migrated file at ``db_url``'s path (which must not exist yet)."""
    target = Path(make_url(db_url).database or "")
    assert not target.exists(), f"{target} exists before the engine fixture made it"
    shutil.copyfile(template, target)


#: every catalog entry of a schema that migrations (or a test) could add, change or drop
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(x, E'\\n' ORDER BY x), '')) FROM (
  SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(a.attname, '') || ' '
         || coalesce(format_type(a.atttypid, a.atttypmod), '') || ' '
         || coalesce(a.attnotnull::text, '') || ' '
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS x
    FROM pg_class c
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
   WHERE c.relnamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT 'idx ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT 'trg ' || t.tgname || ' ' || t.tgrelid::regclass::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT 'fn ' || p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = %(ns)s::regnamespace
  UNION ALL
  SELECT 'type ' || typname || ' ' || typtype::text FROM pg_type
   WHERE typnamespace = %(ns)s::regnamespace
) entries
"""

_TABLES = """
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""
_SEQUENCES = """
SELECT c.relname FROM pg_class c WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'S'
"""

VERSION_TABLE = "alembic_version"


class _Migrated:
    """One migrated schema: its name, the fingerprint and rows it had when migrated."""

    def __init__(self, conninfo: str, server_url: str) -> None:
        self.conninfo = conninfo
        self.schema = pg.new_schema(conninfo)
        self.url = pg.url_for_schema(server_url, self.schema)
        try:
            self._migrate()
        except BaseException:
            self.drop()
            raise

    def _migrate(self) -> None:
        eng = make_engine(self.url)
        try:
            migrate(eng)
        finally:
            eng.dispose()
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            self.fingerprint = self._fingerprint(conn)
            self.tables = [r[0] for r in conn.execute(_TABLES, (self.schema,))]
            self.sequences = [r[0] for r in conn.execute(_SEQUENCES, (self.schema,))]
            #: rows the migrations insert (counters, the version row): table -> columns, rows
            self.rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
            for table in self.tables:
                cur = conn.execute(sql.SQL("SELECT * FROM {}").format(self._ident(table)))
                rows = cur.fetchall()
                if rows:
                    self.rows[table] = ([c.name for c in cur.description or ()], rows)

    def _ident(self, name: str) -> sql.Composable:
        return sql.Identifier(self.schema, name)

    def _fingerprint(self, conn: psycopg.Connection[Any]) -> tuple[str, list[tuple[Any, ...]]]:
        (digest,) = conn.execute(_FINGERPRINT, {"ns": self.schema}).fetchone() or ("",)
        try:
            with conn.transaction():
                version = conn.execute(
                    sql.SQL("SELECT * FROM {} ORDER BY 1").format(self._ident(VERSION_TABLE))
                ).fetchall()
        except psycopg.errors.UndefinedTable:
            version = []
        return digest, version

    def reset(self) -> bool:
        """Back to the migrated state; False (and the schema dropped) when it cannot be."""
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                pg.end_connections(conn, self.schema)
                conn.execute("SET lock_timeout = '30s'")
                if self._fingerprint(conn) != self.fingerprint:
                    raise RuntimeError("the test changed the schema")
                with conn.transaction():
                    emptied = [self._ident(t) for t in self.tables if t != VERSION_TABLE]
                    conn.execute(
                        sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                            sql.SQL(", ").join(emptied)
                        )
                    )
                    for seq in self.sequences:  # sequences no column owns, too
                        conn.execute(sql.SQL("ALTER SEQUENCE {} RESTART").format(self._ident(seq)))
                    for table, (columns, rows) in self.rows.items():
                        if table == VERSION_TABLE:
                            continue
                        conn.cursor().executemany(
                            sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                                self._ident(table),
                                sql.SQL(", ").join(map(sql.Identifier, columns)),
                                sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                            ),
                            rows,
                        )
            return True
        except (psycopg.Error, RuntimeError):
            self.drop()
            return False

    def drop(self) -> None:
        pg.drop_schema(self.conninfo, self.schema)


class MigratedSchemas:
    """This process's migrated PostgreSQL schemas, lent to one test at a time."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.conninfo = pg.to_conninfo(server_url)
        self.free: list[_Migrated] = []

    def lend(self) -> _Migrated:
        return self.free.pop() if self.free else _Migrated(self.conninfo, self.server_url)

    def give_back(self, schema: _Migrated) -> None:
        if schema.reset():
            self.free.append(schema)

    def close(self) -> None:
        while self.free:
            self.free.pop().drop()
