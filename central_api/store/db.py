"""Engines, write transactions and migrations for central's database.

SQLite is the embedded default, PostgreSQL (``postgresql+psycopg://``) the scale-out store.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from pydantic_core import PydanticSerializationError, to_json
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: seconds a SQLite writer waits for another writer before "database is locked"
SQLITE_BUSY_TIMEOUT_S = 30.0

#: first key of the PostgreSQL advisory lock that serialises ``migrate`` (the second key
#: is the schema, so tests with a schema each do not wait for each other)
_MIGRATE_LOCK_KEY = 0x6F6D6B  # "omk"

_WRITE_OPTION = "omk_write"


class DatabaseProblem(Exception):
    """A database central cannot use, said in one line with what to check (the CLI
    prints it without a traceback)."""


class DatabaseUnreachable(DatabaseProblem):
    """Connecting failed: the server is down, the address or credentials are wrong."""


class DatabaseMissing(DatabaseProblem):
    """A command that only reads was pointed at a database that does not exist (or holds
    no central schema, or an older one); it is never created for it."""


def _where(engine_or_url: Engine | str) -> str:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=True)


def ping(engine: Engine) -> None:
    """Connect once, so that a database that cannot be reached is one clear error
    (``DatabaseUnreachable``) before any work starts."""
    try:
        with engine.connect():
            pass
    except (OperationalError, InterfaceError) as err:
        reason = str(err.orig or err).strip().splitlines()[0]
        check = (
            "check that PostgreSQL runs and accepts connections there"
            if engine.dialect.name == "postgresql"
            else "check that the file and its folder are readable and writable"
        )
        raise DatabaseUnreachable(
            f"cannot connect to the database {_where(engine)}: {reason}; {check}, "
            "and [database] url in the config or OMK_DATABASE_URL"
        ) from err


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def open_existing(url: str) -> Engine:
    """An engine for commands that only read: the database must exist and be at the
    schema this code needs. Nothing is created, not even a folder, so a mistyped path is
    an error (``DatabaseMissing``), not an empty database reporting zeros."""
    u = make_url(url)
    path = u.database if u.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not path.startswith("file:") and not Path(path).is_file():
        raise DatabaseMissing(
            f"no central database at {u.database} ({_where(url)}); check --config, "
            "[database] url or OMK_DATABASE_URL (central creates it when it first starts)"
        )
    engine = make_engine(url)
    try:
        ping(engine)
        have, need = current_revision(engine), head_revision()
    except BaseException:
        engine.dispose()
        raise
    if have != need:
        engine.dispose()
        if have is None:
            raise DatabaseMissing(
                f"{_where(url)} holds no central database; check [database] url or "
                "OMK_DATABASE_URL (central creates its tables when it first starts)"
            )
        raise DatabaseMissing(
            f"{_where(url)} is at schema {have}, this version needs {need}: start central "
            "once to migrate it"
        )
    return engine


def json_text(value: Any) -> str:
    """JSON columns' serializer: pydantic-core's encoder (several times faster than
    ``json.dumps``, and UTF-8 rather than ``\\u`` escapes); ``json.dumps`` for what it
    cannot encode (a lone surrogate in a string). NaN and infinities stay as
    ``json.dumps`` writes them."""
    try:
        return to_json(value, inf_nan_mode="constants").decode()
    except PydanticSerializationError:
        return json.dumps(value)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql+psycopg://…``.

    SQLite runs in WAL mode with ``synchronous=FULL``: central acks a batch only after
    its commit returns, so a committed transaction must survive a power loss, or the
    device would drop events that central no longer has.
    """
    u = make_url(url)
    backend = u.get_backend_name()
    kwargs.setdefault("json_serializer", json_text)
    if backend == "sqlite":
        if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, pool_pre_ping=True, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        if u.get_driver_name() != "psycopg":
            raise ValueError("PostgreSQL URLs must use the psycopg driver: postgresql+psycopg://")
        return create_engine(u, pool_pre_ping=True, **kwargs)
    raise ValueError(f"unsupported database URL scheme {u.drivername!r}")


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN does
    # not cover SELECTs, so a read-then-write transaction would not be one transaction).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _sqlite_wal(cur)
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
    finally:
        cur.close()


def _sqlite_wal(cur: Any) -> None:
    # WAL is a property of the file, set once. Switching needs an exclusive lock and
    # SQLite does not wait for it (busy_timeout does not apply), so when several
    # processes open a new file at once, the losers retry here.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL").fetchall()
            return  # (an in-memory database stays "memory")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_on_begin(conn: Connection) -> None:
    # A writer takes the write lock up front (BEGIN IMMEDIATE): a deferred transaction
    # that reads first and writes later can fail with SQLITE_BUSY without waiting for
    # busy_timeout when another process wrote in between.
    if conn.get_execution_options().get(_WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One read-write transaction; commits on success, rolls back on an exception.

    On SQLite it holds the database's write lock from the start (waiting up to the busy
    timeout for it); on PostgreSQL it is a plain READ COMMITTED transaction.
    """
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's config built in code: no alembic.ini is needed at runtime."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: the newest).

    Safe to run from several processes at once: all migrations run in one transaction
    that first takes a lock (the SQLite write lock, or a PostgreSQL advisory lock), so a
    second process waits and then finds nothing left to do. On PostgreSQL the tables and
    Alembic's version table land in the connection's current schema (``search_path``).
    """
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                {"key": _MIGRATE_LOCK_KEY},
            )
        command.upgrade(alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
