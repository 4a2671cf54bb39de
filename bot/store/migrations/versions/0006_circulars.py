"""GCN Circular drafts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "circulars",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("table_csv", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("drafted_by", sa.String(length=32), nullable=True),
        sa.Column("drafted_at", sa.Float(), nullable=False),
        sa.Column("edited_by", sa.String(length=32), nullable=True),
        sa.Column("edited_at", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_by", sa.String(length=32), nullable=True),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("hermes_uuid", sa.String(length=64), nullable=True),
        sa.Column("gcn_id", sa.String(length=40), nullable=True),
        sa.Column("problem", sa.String(length=1000), nullable=True),
        sa.Column("place", sa.JSON(), nullable=False),
    )
    op.create_index("ix_circulars_event_id", "circulars", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_circulars_event_id", table_name="circulars")
    op.drop_table("circulars")
