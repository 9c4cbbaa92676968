"""Migration 0002 (API keys) on a database already at 0001, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from central_api.api.keys import create_key, verify_key
from central_api.store import make_engine, migrate, write_transaction
from central_api.store.db import alembic_config, current_revision
from central_api.store.tables import api_keys, devices
from edge_sync.protocol import utcnow


def test_0001_to_0002_keeps_data_and_adds_api_keys(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0001")
        assert current_revision(engine) == "0001"
        assert "api_keys" not in inspect(engine).get_table_names()
        with write_transaction(engine) as conn:
            conn.execute(devices.insert().values(device_id="s1-k1", store_id="s1"))

        migrate(engine, "0002")
        assert current_revision(engine) == "0002"
        assert "api_keys" in inspect(engine).get_table_names()
        indexes = {i["name"] for i in inspect(engine).get_indexes("api_keys")}
        assert "ix_api_keys_created_at_key_id" in indexes
        with engine.connect() as conn:
            assert conn.scalars(select(devices.c.device_id)).all() == ["s1-k1"]
        new = create_key(engine, "admin")
        assert verify_key(engine, new.key).key_id == new.info.key_id

        _downgrade(engine, "0001")
        assert "api_keys" not in inspect(engine).get_table_names()
        migrate(engine)  # and up again to head
        assert "api_keys" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_role_is_constrained_in_the_database(engine: Engine) -> None:
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        conn.execute(
            api_keys.insert().values(
                key_id="0" * 16, secret_hash="0" * 64, role="root", created_at=utcnow()
            )
        )


def _downgrade(engine: Engine, revision: str) -> None:
    with write_transaction(engine) as conn:
        command.downgrade(alembic_config(conn), revision)
