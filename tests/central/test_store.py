"""Engines and migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from central_api.domain.fleet.counters import read_ingest_counters
from central_api.ingest import is_retryable
from central_api.store import make_engine, migrate, write_transaction
from central_api.store.bulk import insert_rows
from central_api.store.db import alembic_config, current_revision
from central_api.store.sql import pairs_in, tuples_in
from central_api.store.tables import COUNTER_NAMES, devices, events, metadata

TABLES = {"events", "dead_letters", "device_type_counts", "ingest_counters", "devices"}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrate_from_empty_then_again(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        migrate(engine)
        assert current_revision(engine) == HEAD
        assert TABLES | {"alembic_version"} <= set(inspect(engine).get_table_names())
        migrate(engine)  # at head already: nothing to do, nothing breaks
        assert current_revision(engine) == HEAD
        with engine.connect() as conn:
            assert read_ingest_counters(conn) == dict.fromkeys(COUNTER_NAMES, 0)
    finally:
        engine.dispose()


def test_migrations_match_tables_py(engine: Engine) -> None:
    """tables.py and the migrations describe the same schema (no pending autogenerate diff)."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrate_from_several_processes_at_once(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            barrier.wait()
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == []
        assert current_revision(engines[0]) == HEAD
    finally:
        for e in engines:
            e.dispose()


def test_postgres_tables_and_version_table_land_in_the_search_path_schema(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            schema = conn.scalar(text("SELECT current_schema()"))
            assert schema.startswith("omk_t_")
            found = set(
                conn.scalars(
                    text(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                    ),
                    {"s": schema},
                )
            )
            in_public = set(
                conn.scalars(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'public' AND table_name = 'alembic_version'"
                    )
                )
            )
        assert TABLES | {"alembic_version"} <= found
        assert not in_public
    finally:
        engine.dispose()


def test_sqlite_engine_is_durable_and_creates_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deep" / "central.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert path.exists()
    finally:
        engine.dispose()


def test_make_engine_refuses_other_databases() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        make_engine("mysql://u@h/db")
    with pytest.raises(ValueError, match="psycopg"):
        make_engine("postgresql+psycopg2://u@h/db")


def test_timestamps_come_back_timezone_aware_in_utc(engine: Engine) -> None:
    local = datetime(2026, 11, 23, 12, 30, 1, 250000, tzinfo=timezone(timedelta(hours=2)))
    with write_transaction(engine) as conn:
        conn.execute(devices.insert().values(device_id="d1", store_id="s1", last_seen_at=local))
    with engine.connect() as conn:
        got = conn.scalar(select(devices.c.last_seen_at))
    assert got == local
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)
    assert got == datetime(2026, 11, 23, 10, 30, 1, 250000, tzinfo=UTC)
    with pytest.raises(Exception, match="naive"), write_transaction(engine) as conn:
        conn.execute(
            devices.insert().values(
                device_id="d2", store_id="s1", last_seen_at=datetime(2026, 1, 1)
            )
        )


def _event_rows(n: int) -> list[dict[str, object]]:
    t0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    return [
        {"id": f"e-{i}", "device_id": f"s1-k{i % 3}", "store_id": "s1", "seq": i, "type": "t",
         "v": 1, "occurred_at": t0 + timedelta(seconds=i), "received_at": t0, "mono_ns": i,
         "boot_id": "b", "clock_synced": True, "session_id": f"sess-{i // 8}", "data": {}}
        for i in range(1, n + 1)
    ]  # fmt: skip


def test_tuples_in_matches_exactly_the_keys_of_any_type(engine: Engine) -> None:
    """Text, integer and timestamp keys, present and absent, and more keys than one
    statement's bound-variable limit would take as a plain list."""
    rows = _event_rows(2000)
    with write_transaction(engine) as conn:
        insert_rows(conn, events, rows)
    c = events.c
    wanted = rows[::7]
    absent = [("s1-k9", 5, rows[0]["occurred_at"]), ("s1-k1", 1, rows[1]["occurred_at"])]
    keys = [(r["device_id"], r["seq"], r["occurred_at"]) for r in wanted] + absent
    keys += [("nobody", i, rows[0]["occurred_at"]) for i in range(12_000)]
    with engine.connect() as conn:
        got = conn.execute(
            select(c.id).where(tuples_in(conn, (c.device_id, c.seq, c.occurred_at), keys))
        ).scalars()
        assert sorted(got) == sorted(r["id"] for r in wanted)
        sessions = {("s1-k1", "sess-3"), ("s1-k2", "sess-3"), ("s1-k0", "sess-999")}
        got = conn.execute(
            select(c.id).where(pairs_in(conn, c.device_id, c.session_id, sessions))
        ).scalars()
        want = [r["id"] for r in rows if (r["device_id"], r["session_id"]) in sessions]
        assert len(want) == 5 and sorted(got) == sorted(want)


def test_sqlite_key_lists_search_the_index_not_the_table(tmp_path: Path) -> None:
    """SQLite plans ``(a, b) IN ((?, ?), …)`` as a scan of the whole table, which grows
    with every event stored; the form ``tuples_in`` writes must search the index."""
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        migrate(engine)
        c = events.c
        with engine.connect() as conn:
            q = select(c.id).where(pairs_in(conn, c.device_id, c.session_id, [("d", "s")] * 3))
            compiled = q.compile(dialect=conn.dialect)
            params = [compiled.params[k] for k in compiled.positiontup or ()]
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(params)).all()
        details = [r[-1] for r in plan]
        assert any(d.startswith("SEARCH events USING INDEX") for d in details), details
        assert not any(d.startswith("SCAN events") for d in details), details
    finally:
        engine.dispose()


def test_bulk_writes_fail_as_sqlalchemy_statements_do(engine: Engine, db_url: str) -> None:
    """A key taken twice is an IntegrityError (the events path falls back on it), and
    on PostgreSQL a connection lost mid-write is an invalidated, retryable DBAPIError
    (bulk writes there bypass SQLAlchemy's execute)."""
    rows = _event_rows(3)
    with write_transaction(engine) as conn:
        insert_rows(conn, events, rows)
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        insert_rows(conn, events, rows[1:2])
    if engine.dialect.name != "postgresql":
        return
    killer = make_engine(db_url)
    try:
        with pytest.raises(DBAPIError) as lost, write_transaction(engine) as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with killer.connect() as k:
                k.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            insert_rows(conn, events, _event_rows(5)[3:])
        assert lost.value.connection_invalidated and is_retryable(lost.value)
    finally:
        killer.dispose()
    with engine.connect() as conn:  # the pool has let the dead connection go
        assert conn.scalar(select(func.count()).select_from(events)) == 3
