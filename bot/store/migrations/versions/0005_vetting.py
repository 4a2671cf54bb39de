"""Candidate vetting: each candidate's light curve, broker scores, kilonova score, message, and the team's verdict;
its cutouts; every vote.

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
        batch.add_column(sa.Column("photometry", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("scores", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("kn_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("kn_reasons", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("detail", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="new"))
        batch.add_column(sa.Column("status_reason", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("status_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("status_at", sa.Float(), nullable=True))
    op.create_table(
        "candidate_cutouts",
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("candidates.id"), primary_key=True),
        sa.Column("broker", sa.String(length=40), nullable=False),
        sa.Column("mjd", sa.Float(), nullable=False),
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
    op.drop_table("candidate_cutouts")
    with op.batch_alter_table("candidates") as batch:
        for name in ("status_at", "status_by", "status_reason", "status", "detail", "kn_reasons", "kn_score",
                     "scores", "photometry"):
            batch.drop_column(name)
