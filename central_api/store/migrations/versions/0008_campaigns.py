"""Campaigns and their change log (the version of the lists pushed to stores).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types in campaign_tables.py.
TS = sa.DateTime(timezone=True)
AUTO_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("all_stores", sa.Boolean(), nullable=False),
        sa.Column("stores", sa.JSON(), nullable=False),
        sa.Column("landing_url", sa.Text(), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.CheckConstraint(
            "channel IN ('direct_mail', 'email', 'poster')", name="ck_campaigns_channel"
        ),
        sa.CheckConstraint("ends_on >= starts_on", name="ck_campaigns_dates"),
    )
    op.create_table(
        "campaign_changes",
        sa.Column("seq", AUTO_BIGINT, autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_campaign_changes"),
        sa.CheckConstraint(
            "action IN ('created', 'updated', 'ended')", name="ck_campaign_changes_action"
        ),
    )
    op.create_index(
        "ix_campaign_changes_campaign_id_seq", "campaign_changes", ["campaign_id", "seq"]
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_changes_campaign_id_seq", table_name="campaign_changes")
    op.drop_table("campaign_changes")
    op.drop_table("campaigns")
