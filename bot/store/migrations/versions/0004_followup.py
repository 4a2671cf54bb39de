"""Follow-up rules: each event keeps its verdicts, each plan the rule that proposed it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("verdicts", sa.JSON(), nullable=True))
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("rule", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("rule")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("verdicts")
