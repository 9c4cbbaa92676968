"""Revoked QR code scopes, pushed to the kiosks with the public keys.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of the type in token_tables.py.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "token_revocations",
        sa.Column("scope_hash", sa.String(32), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("revoked_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("scope_hash", name="pk_token_revocations"),
    )
    op.create_index("ix_token_revocations_until", "token_revocations", ["until"])


def downgrade() -> None:
    op.drop_index("ix_token_revocations_until", table_name="token_revocations")
    op.drop_table("token_revocations")
