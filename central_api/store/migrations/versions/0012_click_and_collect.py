"""Click-and-collect orders: records, history, pickup confirmations, conflicts, pushes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types in order_tables.py.
TS = sa.DateTime(timezone=True)
AUTO_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "order_records",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("revision", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("placed_at", TS, nullable=False),
        sa.Column("placed_event_id", sa.String(36), nullable=False),
        sa.Column("ready_at", TS, nullable=True),
        sa.Column("state_at", TS, nullable=False),
        sa.Column("code_text", sa.Text(), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("code_not_after", sa.Date(), nullable=True),
        sa.Column("picked_up_at", TS, nullable=True),
        sa.Column("picked_up_by", sa.String(64), nullable=True),
        sa.Column("picked_up_device", sa.String(64), nullable=True),
        sa.Column("pickup_event_id", sa.String(36), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_records"),
        sa.UniqueConstraint("external_id", name="uq_order_records_external_id"),
        sa.CheckConstraint(
            "state IN ('placed', 'ready_for_pickup', 'picked_up', 'no_show', 'cancelled')",
            name="ck_order_records_state",
        ),
    )
    op.create_index(
        "ix_order_records_store_id_state_id", "order_records", ["store_id", "state", "id"]
    )
    op.create_index("ix_order_records_state_ready_at", "order_records", ["state", "ready_at"])
    op.create_index("ix_order_records_profile_id", "order_records", ["profile_id"])
    op.create_table(
        "order_history",
        sa.Column("id", AUTO_BIGINT, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(16), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_order_history"),
    )
    op.create_index("ix_order_history_order_id_id", "order_history", ["order_id", "id"])
    op.create_table(
        "order_confirmations",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "event_id", name="pk_order_confirmations"),
    )
    op.create_table(
        "order_conflicts",
        sa.Column("id", AUTO_BIGINT, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("winner_event_id", sa.String(36), nullable=True),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_conflicts"),
        sa.UniqueConstraint("order_id", "event_id", name="uq_order_conflicts_order_id_event_id"),
    )
    op.create_index("ix_order_conflicts_store_id_id", "order_conflicts", ["store_id", "id"])
    op.create_table(
        "pickup_pushes",
        sa.Column("id", AUTO_BIGINT, autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(16), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pickup_pushes"),
    )


def downgrade() -> None:
    op.drop_table("pickup_pushes")
    op.drop_index("ix_order_conflicts_store_id_id", table_name="order_conflicts")
    op.drop_table("order_conflicts")
    op.drop_table("order_confirmations")
    op.drop_index("ix_order_history_order_id_id", table_name="order_history")
    op.drop_table("order_history")
    op.drop_index("ix_order_records_profile_id", table_name="order_records")
    op.drop_index("ix_order_records_state_ready_at", table_name="order_records")
    op.drop_index("ix_order_records_store_id_state_id", table_name="order_records")
    op.drop_table("order_records")
