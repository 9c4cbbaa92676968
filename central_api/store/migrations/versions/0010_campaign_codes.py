"""Campaign recipient codes issued for direct mail, and each campaign's code generation.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of the type in code_tables.py.
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaign_codes",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(400), nullable=False),
        sa.Column("fallback", sa.String(12), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "profile_id", name="pk_campaign_codes"),
    )
    op.create_index("ix_campaign_codes_profile_id", "campaign_codes", ["profile_id"])
    op.create_table(
        "campaign_code_generations",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("rotated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_campaign_code_generations"),
    )


def downgrade() -> None:
    op.drop_table("campaign_code_generations")
    op.drop_index("ix_campaign_codes_profile_id", table_name="campaign_codes")
    op.drop_table("campaign_codes")
