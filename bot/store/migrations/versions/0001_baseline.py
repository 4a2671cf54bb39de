"""Baseline: the schema of gwbot 0.1 (the last release before migrations).

An empty database gets every table. A database made by gwbot 0.1 (tables from ``create_all``, later columns
added by hand at start, no ``alembic_version``) is recognised by its tables and completed here, once: columns,
indexes and unique constraints it lacks are added (a unique constraint as a unique index: SQLite cannot add
constraints), and every row stays.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def schema() -> sa.MetaData:
    """The tables as gwbot 0.1 defined them (frozen here: later revisions change them, never this)."""
    meta = sa.MetaData()
    sa.Table(
        "candidate_streams", meta,
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("last_digest", sa.Float(), nullable=False),
        sa.Column("map_version", sa.Integer(), nullable=True),
        sa.Column("ended", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    sa.Table(
        "candidates", meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("broker", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("ra", sa.Float(), nullable=False),
        sa.Column("dec", sa.Float(), nullable=False),
        sa.Column("url", sa.String(length=300), nullable=True),
        sa.Column("first_mjd", sa.Float(), nullable=False),
        sa.Column("last_mjd", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=True),
        sa.Column("mag", sa.Float(), nullable=True),
        sa.Column("reliability", sa.Float(), nullable=True),
        sa.Column("host_distance_mpc", sa.Float(), nullable=True),
        sa.Column("host_redshift", sa.Float(), nullable=True),
        sa.Column("map_version", sa.Integer(), nullable=False),
        sa.Column("credible_level", sa.Float(), nullable=False),
        sa.Column("density_per_deg2", sa.Float(), nullable=False),
        sa.Column("distance_cl", sa.Float(), nullable=True),
        sa.Column("density_3d", sa.Float(), nullable=True),
        sa.Column("inside", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Integer(), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("marked_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "broker", "object_id"),
        sa.Index("ix_candidates_event_dec", "event_id", "dec"),
        sa.Index("ix_candidates_event_id", "event_id"),
    )
    sa.Table(
        "channel_ids", meta,
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    sa.Table(
        "coverage_reads", meta,
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("read_at", sa.Float(), nullable=True),
        sa.Column("tried_at", sa.Float(), nullable=False),
        sa.Column("map_version", sa.Integer(), nullable=True),
        sa.Column("problem", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    sa.Table(
        "deliveries", meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lane", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("file", sa.LargeBinary(), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("depends_on", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("started", sa.Float(), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("done_at", sa.Float(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sender", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["depends_on"], ["deliveries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_deliveries_lane", "lane"),
        sa.Index("ix_deliveries_status", "status"),
    )
    sa.Table(
        "events", meta,
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("is_mock", sa.Boolean(), nullable=False),
        sa.Column("channel_name", sa.String(length=80), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("wants_channel", sa.Boolean(), nullable=False),
        sa.Column("summary_channel", sa.String(length=80), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("last_alert_type", sa.String(length=16), nullable=True),
        sa.Column("last_alert_time", sa.String(length=40), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("retracted", sa.Boolean(), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    sa.Table(
        "footprints", meta,
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=True),
        sa.Column("polygons", sa.JSON(), nullable=False),
        sa.Column("fetched", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("instrument_id"),
    )
    sa.Table(
        "handled", meta,
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=True),
        sa.Column("partition", sa.Integer(), nullable=True),
        sa.Column("offset", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("received", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        sa.Index("ix_handled_event_id", "event_id"),
    )
    sa.Table(
        "hermes_seen", meta,
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("uuid"),
        sa.Index("ix_hermes_seen_event_id", "event_id"),
    )
    sa.Table(
        "outbox_senders", meta,
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    sa.Table(
        "plans", meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("skymap_version", sa.Integer(), nullable=True),
        sa.Column("facility", sa.String(length=40), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("group_url", sa.String(length=300), nullable=True),
        sa.Column("request_states", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_plans_event_id", "event_id"),
        sa.Index("ix_plans_status", "status"),
    )
    sa.Table(
        "posts", meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_posts_event_id", "event_id"),
    )
    sa.Table(
        "seen_pointings", meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("tm_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column("ra", sa.Float(), nullable=False),
        sa.Column("dec", sa.Float(), nullable=False),
        sa.Column("pos_angle", sa.Float(), nullable=True),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("depth", sa.Float(), nullable=True),
        sa.Column("depth_unit", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "tm_id"),
        sa.Index("ix_seen_pointings_event_id", "event_id"),
    )
    sa.Table(
        "skymaps", meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("alert_key", sa.String(length=200), nullable=False),
        sa.Column("alert_type", sa.String(length=16), nullable=False),
        sa.Column("fits", sa.LargeBinary(), nullable=False),
        sa.Column("received", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("created", sa.Float(), nullable=True),
        sa.Column("observatory", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_skymaps_event_id", "event_id"),
    )
    sa.Table(
        "topic_progress", meta,
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("last_received", sa.Float(), nullable=False),
        sa.Column("last_offset", sa.Integer(), nullable=True),
        sa.Column("silent", sa.Integer(), nullable=True),
        sa.Column("lag", sa.Integer(), nullable=True),
        sa.Column("rate", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("topic"),
    )
    sa.Table(
        "candidate_detections", meta,
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("mjd", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=True),
        sa.Column("mag", sa.Float(), nullable=True),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"]),
        sa.PrimaryKeyConstraint("key"),
        sa.Index("ix_candidate_detections_candidate_id", "candidate_id"),
    )
    sa.Table(
        "hermes_reports", meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("preload_key", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("prepared_by", sa.String(length=32), nullable=True),
        sa.Column("published_by", sa.String(length=32), nullable=True),
        sa.Column("uuid", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_hermes_reports_event_id", "event_id"),
        sa.Index("ix_hermes_reports_plan_id", "plan_id"),
    )
    sa.Table(
        "shared_pointings", meta,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("ra", sa.Float(), nullable=False),
        sa.Column("dec", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column("central_wave", sa.Float(), nullable=True),
        sa.Column("bandwidth", sa.Float(), nullable=True),
        sa.Column("depth", sa.Float(), nullable=True),
        sa.Column("depth_estimated", sa.Boolean(), nullable=False),
        sa.Column("planned_time", sa.Float(), nullable=False),
        sa.Column("observed_time", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reported", sa.String(length=16), nullable=True),
        sa.Column("tm_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "rank", "band"),
        sa.Index("ix_shared_pointings_event_id", "event_id"),
        sa.Index("ix_shared_pointings_plan_id", "plan_id"),
    )
    return meta


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in schema().sorted_tables:
        if not inspector.has_table(table.name):
            table.create(bind)
            continue
        _complete(bind, inspector, table)


def _complete(bind: sa.Connection, inspector, table: sa.Table) -> None:
    """Bring a table made by gwbot 0.1 to this schema without touching its rows."""
    have = {c["name"] for c in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name not in have:
            op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            index.create(bind)
    unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table.name)}
    unique |= {tuple(i["column_names"]) for i in inspector.get_indexes(table.name) if i["unique"]}
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            columns = tuple(c.name for c in constraint.columns)
            if columns not in unique:
                op.create_index(f"uq_{table.name}_{'_'.join(columns)}", table.name, list(columns), unique=True)


def downgrade() -> None:
    raise NotImplementedError("gwbot does not go back to a schema without migrations")
