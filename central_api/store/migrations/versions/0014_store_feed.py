"""Staff per store, and each store's feed: versions, snapshots kept, deltas.

Revision ID: 0014
Revises: 0013_device_keys
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013_device_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of the type in feed_tables.py.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("pin_hash", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("removed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("store_id", "staff_id", name="pk_staff"),
    )
    op.create_index("ix_staff_store_id_version", "staff", ["store_id", "version"])
    op.create_table(
        "store_feeds",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("catalog_version", sa.BigInteger(), nullable=False),
        sa.Column("stock_version", sa.BigInteger(), nullable=False),
        sa.Column("staff_version", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("store_id", name="pk_store_feeds"),
    )
    op.create_table(
        "store_snapshots",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("built_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("store_id", "version", name="pk_store_snapshots"),
    )
    op.create_table(
        "store_deltas",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("to_version", sa.BigInteger(), nullable=False),
        sa.Column("from_version", sa.BigInteger(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.PrimaryKeyConstraint("store_id", "to_version", name="pk_store_deltas"),
    )
    op.create_index(
        "ix_store_deltas_published_at_store_id_to_version",
        "store_deltas",
        ["published_at", "store_id", "to_version"],
    )
    # the staff counter exists from the start, like the catalog's and the stores'
    op.bulk_insert(
        sa.table("inventory_versions", sa.column("scope"), sa.column("version")),
        [{"scope": "staff", "version": 0}],
    )


def downgrade() -> None:
    op.execute("DELETE FROM inventory_versions WHERE scope = 'staff'")
    op.drop_index("ix_store_deltas_published_at_store_id_to_version", table_name="store_deltas")
    op.drop_table("store_deltas")
    op.drop_table("store_snapshots")
    op.drop_table("store_feeds")
    op.drop_index("ix_staff_store_id_version", table_name="staff")
    op.drop_table("staff")
