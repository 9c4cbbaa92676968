"""Profiles, identity, derived scores and journeys, orders, merges, erasures.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types in profile_tables.py.
TS = sa.DateTime(timezone=True)
AUTO_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _pid(nullable: bool = False) -> sa.Column:
    return sa.Column("profile_id", sa.String(64), sa.ForeignKey("profiles.id"), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("merged_into", sa.String(64), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("grade", sa.String(4), nullable=True),
        sa.Column("lifecycle_stage", sa.String(32), nullable=True),
        sa.Column("funnel_stage", sa.String(32), nullable=True),
        sa.Column("score_raw", sa.Float(), nullable=False, server_default="0"),
        sa.Column("score_ref_sum", sa.Float(), nullable=False, server_default="0"),
        sa.Column("score_ref_at", TS, nullable=True),
        sa.Column("rules_version", sa.String(64), nullable=True),
    )
    op.create_table(
        "profile_aliases",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        _pid(),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value"),
    )
    op.create_index("ix_profile_aliases_profile_id", "profile_aliases", ["profile_id"])
    op.create_table(
        "session_links",
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        _pid(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("linked_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "session_id"),
    )
    op.create_index("ix_session_links_profile_id", "session_links", ["profile_id"])
    op.create_table(
        "profile_events",
        _pid(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "event_id"),
    )
    op.create_index("ix_profile_events_event_id", "profile_events", ["event_id"])
    op.create_table(
        "online_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("v", sa.Integer(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("email_sha256", sa.String(64), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_online_events_type_occurred_at", "online_events", ["type", "occurred_at"])
    op.create_table(
        "consents",
        _pid(),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "event_id", "purpose"),
    )
    op.create_table(
        "score_ledger",
        sa.Column("id", AUTO_BIGINT, primary_key=True, autoincrement=True),
        _pid(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("score_group", sa.String(32), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.UniqueConstraint("profile_id", "event_id", "rule_id", "rules_version"),
    )
    op.create_index(
        "ix_score_ledger_profile_id_occurred_at", "score_ledger", ["profile_id", "occurred_at"]
    )
    op.create_table(
        "touchpoints",
        _pid(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=True),
        sa.Column("store_id", sa.String(64), nullable=True),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("profile_id", "event_id"),
    )
    op.create_index(
        "ix_touchpoints_profile_id_occurred_at", "touchpoints", ["profile_id", "occurred_at"]
    )
    op.create_table(
        "stages_reached",
        _pid(),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("first_reached_at", TS, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("store_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("profile_id", "stage"),
    )
    op.create_index(
        "ix_stages_reached_stage_first_reached_at", "stages_reached", ["stage", "first_reached_at"]
    )
    op.create_table(
        "threshold_crossings",
        _pid(),
        sa.Column("threshold_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("profile_id", "threshold_id", "event_id"),
    )
    op.create_table(
        "merges",
        sa.Column("id", AUTO_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("survivor_id", sa.String(64), nullable=False),
        sa.Column("merged_id", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("undo", sa.JSON(), nullable=False),
        sa.Column("undone_at", TS, nullable=True),
    )
    op.create_table(
        "erasures",
        sa.Column("id", AUTO_BIGINT, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
    )
    op.create_table(
        "campaign_counts",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("campaign_id", "store_id", "day"),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        _pid(),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("placed_at", TS, nullable=False),
        sa.Column("pickup_store_id", sa.String(64), nullable=True),
    )
    op.create_table(
        "order_events",
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "event_id"),
    )
    # Linking a session attaches that session's events: find them by (device, session).
    op.create_index("ix_events_device_id_session_id", "events", ["device_id", "session_id"])


def downgrade() -> None:
    op.drop_index("ix_events_device_id_session_id", table_name="events")
    for table in (
        "order_events", "orders", "campaign_counts", "erasures", "merges", "threshold_crossings",
        "stages_reached", "touchpoints", "score_ledger", "consents", "online_events",
        "profile_events", "session_links", "profile_aliases", "profiles",
    ):  # fmt: skip
        op.drop_table(table)
