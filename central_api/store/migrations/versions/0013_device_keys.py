"""Device API keys bound to one store (and optionally one device); customer initials on
click-and-collect orders, for the staff screen at pickup.

Revision ID: 0013_device_keys
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_device_keys"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the constraints in tables.py.
OLD_ROLE_NAME = "ck_api_keys_ck_api_keys_role"
OLD_ROLE = "role IN ('admin', 'marketer', 'integration')"
NEW_ROLE = "role IN ('admin', 'marketer', 'integration', 'device')"
DEVICE_STORE = (
    "(role = 'device' AND store_id IS NOT NULL) "
    "OR (role <> 'device' AND store_id IS NULL AND device_id IS NULL)"
)


def upgrade() -> None:
    # SQLite cannot alter a CHECK constraint: batch mode copies the table (env.py), and
    # the old constraint is dropped by name on both backends. 0002 named it
    # "ck_api_keys_role" and the naming convention prefixed that once more.
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("store_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("device_id", sa.String(64), nullable=True))
        batch.drop_constraint(op.f(OLD_ROLE_NAME), type_="check")
        batch.create_check_constraint(op.f("ck_api_keys_role"), NEW_ROLE)
        batch.create_check_constraint(op.f("ck_api_keys_device_store"), DEVICE_STORE)
    with op.batch_alter_table("order_records") as batch:
        batch.add_column(sa.Column("customer_initials", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_records") as batch:
        batch.drop_column("customer_initials")
    # device keys cannot exist under the old schema: they go (they only read store data)
    op.execute("DELETE FROM api_keys WHERE role = 'device'")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("ck_api_keys_device_store"), type_="check")
        batch.drop_constraint(op.f("ck_api_keys_role"), type_="check")
        batch.create_check_constraint(op.f(OLD_ROLE_NAME), OLD_ROLE)
        batch.drop_column("device_id")
        batch.drop_column("store_id")
