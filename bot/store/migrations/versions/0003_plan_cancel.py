"""Plans can be cancelled at the facility (a person's Cancel, or a retraction): who and when.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("cancelled_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("cancelled_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("cancelled_at")
        batch.drop_column("cancelled_by")
