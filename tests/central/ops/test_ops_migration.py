"""Migration 0004 (rules versions, webhooks) on a database at 0003, on both backends."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from central_api.store import make_engine, migrate, write_transaction
from central_api.store.db import alembic_config, current_revision
from central_api.store.ops_tables import rules_active, rules_versions
from central_api.store.profile_tables import profiles
from edge_sync.protocol import utcnow

NEW = {"rules_versions", "rules_active", "webhooks", "webhook_deliveries"}


def test_0003_to_0004_keeps_data_adds_tables_and_goes_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, "0003")
        assert not NEW & set(inspect(engine).get_table_names())
        now = utcnow()
        with write_transaction(engine) as conn:
            conn.execute(
                profiles.insert().values(id="p-1", created_at=now, updated_at=now, attributes={})
            )
        migrate(engine, "0004")
        assert current_revision(engine) == "0004"
        assert set(inspect(engine).get_table_names()) >= NEW
        indexes = {i["name"] for i in inspect(engine).get_indexes("webhook_deliveries")}
        assert "ix_webhook_deliveries_status_next_attempt_at" in indexes
        with engine.connect() as conn:
            assert conn.scalars(select(profiles.c.id)).all() == ["p-1"]
        with write_transaction(engine) as conn:
            command.downgrade(alembic_config(conn), "0003")
        assert not NEW & set(inspect(engine).get_table_names())
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= NEW
    finally:
        engine.dispose()


def test_only_one_row_can_name_the_active_version(engine: Engine) -> None:
    now = utcnow()
    with write_transaction(engine) as conn:
        conn.execute(rules_versions.insert().values(version="v1", text="", created_at=now))
        conn.execute(rules_active.insert().values(id=1, version="v1", activated_at=now))
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        conn.execute(rules_active.insert().values(id=2, version="v1", activated_at=now))
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        conn.execute(rules_active.update().values(version="no-such-version"))
