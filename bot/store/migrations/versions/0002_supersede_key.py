"""Deliveries get a supersede key: a queued edit of a message that a newer queued edit replaces is dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("supersede_key", sa.String(length=120), nullable=True))
        batch.create_index("ix_deliveries_supersede_key", ["supersede_key"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_supersede_key")
        batch.drop_column("supersede_key")
