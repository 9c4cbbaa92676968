"""Events, dead letters, counters and devices.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types in tables.py: a migration must not change when tables.py does.
TS = sa.DateTime(timezone=True)
AUTO_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("v", sa.Integer(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("mono_ns", sa.BigInteger(), nullable=False),
        sa.Column("boot_id", sa.String(64), nullable=False),
        sa.Column("clock_synced", sa.Boolean(), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("device_id", "seq", name="uq_events_device_id_seq"),
    )
    op.create_index("ix_events_type_occurred_at", "events", ["type", "occurred_at"])

    op.create_table(
        "dead_letters",
        sa.Column("id", AUTO_BIGINT, autoincrement=True, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column("store_id", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.Text(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_reason", "dead_letters", ["reason"])
    op.create_index("ix_dead_letters_device_id_seq", "dead_letters", ["device_id", "seq"])

    op.create_table(
        "device_type_counts",
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "type", name="pk_device_type_counts"),
    )

    op.create_table(
        "ingest_counters",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_ingest_counters"),
    )

    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), server_default="unknown", nullable=False),
        sa.Column("state_changed_at", TS, nullable=True),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("first_seen_at", TS, nullable=True),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("boot_id", sa.Text(), nullable=True),
        sa.Column("version", sa.Text(), nullable=True),
        sa.Column("config_version", sa.BigInteger(), nullable=True),
        sa.Column("queue_depth", sa.BigInteger(), nullable=True),
        sa.Column("queue_bytes", sa.BigInteger(), nullable=True),
        sa.Column("oldest_unsent_age_s", sa.Float(), nullable=True),
        sa.Column("evicted_total", sa.BigInteger(), nullable=True),
        sa.Column("dead_letters_device", sa.BigInteger(), nullable=True),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=True),
        sa.Column("clock_synced", sa.Boolean(), nullable=True),
        sa.Column("inflight_batches", sa.BigInteger(), nullable=True),
        sa.Column("uptime_s", sa.Float(), nullable=True),
        sa.Column("last_heartbeat_at", TS, nullable=True),
        sa.Column("last_status_at", TS, nullable=True),
        sa.Column("db_recovered", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", name="pk_devices"),
        sa.CheckConstraint("state IN ('online', 'offline', 'unknown')", name="ck_devices_state"),
    )

    # The counters exist from the start so stats show zeros rather than nothing.
    op.bulk_insert(
        sa.table(
            "ingest_counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger)
        ),
        [
            {"name": name, "value": 0}
            for name in ("events_stored", "duplicates_ignored", "dead_letters", "messages")
        ],
    )


def downgrade() -> None:
    op.drop_table("devices")
    op.drop_table("ingest_counters")
    op.drop_table("device_type_counts")
    op.drop_table("dead_letters")
    op.drop_table("events")
