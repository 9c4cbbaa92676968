"""Migrations 0002 (API keys) and 0013 (device keys, order initials) on databases with
data in them, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from central_api.api.keys import KeyRejected, create_key, verify_key
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
        # (0002's columns: today's api_keys has more)
        with write_transaction(engine) as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (key_id, secret_hash, role, created_at) "
                    "VALUES (:k, :h, 'admin', :t)"
                ),
                {"k": "0" * 16, "h": "0" * 64, "t": utcnow()},
            )

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


def test_0012_to_0013_keeps_keys_and_adds_store_bound_device_keys(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0012")
        with write_transaction(engine) as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (key_id, secret_hash, role, created_at) "
                    "VALUES (:k, :h, 'marketer', :t)"
                ),
                {"k": "1" * 16, "h": "1" * 64, "t": utcnow()},
            )
        migrate(engine, "0013_device_keys")
        with engine.connect() as conn:
            old = conn.execute(select(api_keys).where(api_keys.c.key_id == "1" * 16)).one()
        assert (old.role, old.store_id, old.device_id) == ("marketer", None, None)
        new = create_key(engine, "device", store_id="s001", device_id="s001-k1")
        key = verify_key(engine, new.key)
        assert (key.role, key.store_id, key.device_id) == ("device", "s001", "s001-k1")
        cols = {c["name"] for c in inspect(engine).get_columns("order_records")}
        assert "customer_initials" in cols

        _downgrade(engine, "0012")  # device keys cannot exist there: they go
        with engine.connect() as conn:
            assert conn.scalars(select(api_keys.c.role)).all() == ["marketer"]
        assert "store_id" not in {c["name"] for c in inspect(engine).get_columns("api_keys")}
        migrate(engine)
        with pytest.raises(KeyRejected):  # it went with the downgrade
            verify_key(engine, new.key)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("role", "store_id", "device_id"),
    [
        ("device", None, None),  # a device key needs its store
        ("device", None, "s001-k1"),
        ("admin", "s001", None),  # other roles reach every store
        ("integration", None, "s001-k1"),
        ("root", None, None),
    ],
)
def test_store_binding_is_constrained_in_the_database(
    engine: Engine, role: str, store_id: str | None, device_id: str | None
) -> None:
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        conn.execute(
            api_keys.insert().values(
                key_id="2" * 16, secret_hash="2" * 64, role=role, created_at=utcnow(),
                store_id=store_id, device_id=device_id,
            )
        )  # fmt: skip
