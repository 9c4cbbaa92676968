"""Derived attributes per profile, and a time-invariant score order for listing by score.

``score_sign``/``score_key`` (``domain.scoring.scoring.score_order``) sort profiles by decayed
score the same way at every instant, so a listing by score can use an index and a
keyset cursor. Existing profiles get 0/0 until they are next re-derived (central
re-derives every profile whose ``rules_version`` is stale at start; this migration
clears ``rules_version`` so that happens).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("profiles") as batch:
        batch.add_column(sa.Column("derived_attributes", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("score_sign", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("score_key", sa.Float(), nullable=False, server_default="0"))
        batch.create_index("ix_profiles_score", ["score_sign", "score_key", "id"])
    op.execute("UPDATE profiles SET rules_version = NULL")


def downgrade() -> None:
    with op.batch_alter_table("profiles") as batch:
        batch.drop_index("ix_profiles_score")
        batch.drop_column("score_key")
        batch.drop_column("score_sign")
        batch.drop_column("derived_attributes")
