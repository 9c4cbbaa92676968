"""Stores, products and stock, each change with a version (the later delta feed).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of the type in inventory_tables.py.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("show_exact_stock", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("stock_version", sa.BigInteger(), nullable=False),
        sa.Column("stock_as_of", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_stores"),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="ck_stores_latitude"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="ck_stores_longitude"),
    )
    op.create_index("ix_stores_latitude", "stores", ["latitude"])
    op.create_table(
        "products",
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("barcode", sa.String(13), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("brand", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("image", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("sku", name="pk_products"),
        sa.UniqueConstraint("barcode", name="uq_products_barcode"),
        sa.CheckConstraint("price_minor >= 0", name="ck_products_price"),
    )
    op.create_index("ix_products_version", "products", ["version"])
    op.create_table(
        "stock",
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("low_threshold", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("removed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("store_id", "sku", name="pk_stock"),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"]),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"]),
        sa.CheckConstraint("quantity >= 0", name="ck_stock_quantity"),
        sa.CheckConstraint("low_threshold >= 0", name="ck_stock_low_threshold"),
    )
    op.create_index("ix_stock_store_id_version", "stock", ["store_id", "version"])
    op.create_index("ix_stock_sku", "stock", ["sku"])
    op.create_table(
        "inventory_versions",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name="pk_inventory_versions"),
    )
    # the counters exist from the start, so a writer only ever updates (and locks) them
    op.bulk_insert(
        sa.table("inventory_versions", sa.column("scope"), sa.column("version")),
        [{"scope": "catalog", "version": 0}, {"scope": "stores", "version": 0}],
    )


def downgrade() -> None:
    op.drop_table("inventory_versions")
    op.drop_index("ix_stock_sku", table_name="stock")
    op.drop_index("ix_stock_store_id_version", table_name="stock")
    op.drop_table("stock")
    op.drop_index("ix_products_version", table_name="products")
    op.drop_table("products")
    op.drop_index("ix_stores_latitude", table_name="stores")
    op.drop_table("stores")
