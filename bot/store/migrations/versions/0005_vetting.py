"""Candidate vetting: each candidate's kilonova score, message and the team's verdict; each broker object's light
curve, scores and stamps; every vote.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("kn_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("kn_reasons", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("detail", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="new"))
        batch.add_column(sa.Column("status_reason", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("status_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("status_at", sa.Float(), nullable=True))
    op.create_table(
        "candidate_evidence",
        sa.Column("broker", sa.String(length=40), primary_key=True),
        sa.Column("object_id", sa.String(length=80), primary_key=True),
        sa.Column("photometry", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("stamps_mjd", sa.Float(), nullable=True),
        sa.Column("science", sa.LargeBinary(), nullable=True),
        sa.Column("template", sa.LargeBinary(), nullable=True),
        sa.Column("difference", sa.LargeBinary(), nullable=True),
    )
    op.create_table(
        "candidate_votes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("candidates.id"), nullable=False),
        sa.Column("voter", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_candidate_votes_candidate_id", "candidate_votes", ["candidate_id"])


def downgrade() -> None:
    op.drop_index("ix_candidate_votes_candidate_id", table_name="candidate_votes")
    op.drop_table("candidate_votes")
    op.drop_table("candidate_evidence")
    with op.batch_alter_table("candidates") as batch:
        for name in ("status_at", "status_by", "status_reason", "status", "detail", "kn_reasons", "kn_score"):
            batch.drop_column(name)
