"""A fresh PostgreSQL schema per test on the server named by OMK_TEST_POSTGRES_URL.

The URL handed to the test is the server's SQLAlchemy URL plus
``options=-csearch_path=<schema>``: libpq sends it at connect time, so every
connection of every engine (and of subprocesses given the URL) lands in the
test's own schema and unqualified table names never meet another test's.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ENV_VAR = "OMK_TEST_POSTGRES_URL"
SCHEMA_PREFIX = "omk_t_"


def url_from_env() -> str | None:
    """The configured server URL, or None when unset or empty (tests then skip)."""
    return os.environ.get(ENV_VAR) or None


def to_conninfo(url: str) -> str:
    """SQLAlchemy URL -> libpq URI: ``postgresql+psycopg://`` becomes ``postgresql://``."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"{ENV_VAR} is not a PostgreSQL URL: {parsed!r}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def url_for_schema(url: str, schema: str) -> str:
    """``url`` with ``search_path`` set to ``schema`` and the schema as application_name.

    The application_name lets teardown find the test's leftover connections.
    """
    parsed = make_url(url)
    query = dict(parsed.query)
    options = query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    query["options"] = f"{options} -csearch_path={schema}".strip()
    query.setdefault("application_name", schema)
    return parsed.set(query=query).render_as_string(hide_password=False)


def check_server(url: str, timeout: int = 5) -> None:
    """Raise RuntimeError with a clear message when the server cannot be reached."""
    try:
        with psycopg.connect(to_conninfo(url), connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        raise RuntimeError(
            f"{ENV_VAR}={shown} is set but PostgreSQL is not reachable: {exc}\n"
            f"Start the server or unset {ENV_VAR} to skip the PostgreSQL tests."
        ) from exc


def new_schema(conninfo: str) -> str:
    """Create an empty schema ``omk_t_<hex>``; its name."""
    schema = SCHEMA_PREFIX + secrets.token_hex(6)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return schema


@contextmanager
def temp_schema(url: str) -> Iterator[str]:
    """Create ``omk_t_<hex>``, yield a URL bound to it, drop it CASCADE afterwards."""
    conninfo = to_conninfo(url)
    schema = new_schema(conninfo)
    try:
        yield url_for_schema(url, schema)
    finally:
        drop_schema(conninfo, schema)


def end_connections(conn: psycopg.Connection, schema: str) -> None:
    """End the connections a test left open on ``schema``.

    A leaked connection idle in a transaction holds locks that would make a DROP or a
    TRUNCATE wait forever; the test is over, so its connections (found by the
    application_name set in ``url_for_schema``) have no more use.
    """
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = %s AND pid <> pg_backend_pid()",
        (schema,),
    )


def drop_schema(conninfo: str, schema: str) -> None:
    """Drop the schema, first ending connections the test left open."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        end_connections(conn, schema)
        conn.execute("SET lock_timeout = '30s'")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
