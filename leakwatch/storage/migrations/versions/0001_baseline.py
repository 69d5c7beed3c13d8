"""Baseline: the schema of the last release without migrations (commit 23c7443), pinned here.

Every table is created only if it is missing: a database made by that release (tables, no version)
is upgraded by this revision without a change, and one made by an older release gains the tables it
lacked, as ``create_all`` used to do.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

META = sa.MetaData()

sa.Table(
    "dataset", META,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("name", sa.String(), nullable=False, index=True, unique=True),
    sa.Column("purpose", sa.String(), nullable=False),
    sa.Column("label", sa.String(), nullable=True),
    sa.Column("ref_field", sa.String(), nullable=False),
    sa.Column("kinds", sa.String(), nullable=False),
    sa.Column("record_count", sa.Integer(), nullable=False),
    sa.Column("skipped_rows", sa.Integer(), nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source_name", sa.String(), nullable=False),
)
sa.Table(
    "incident", META,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("status", sa.String(), nullable=False),
    sa.Column("severity", sa.String(), nullable=False),
    sa.Column("alerted_severity", sa.String(), nullable=True),
    sa.Column("dataset", sa.String(), nullable=True),
    sa.Column("datasets", sa.String(), nullable=False),
    sa.Column("kinds", sa.String(), nullable=False),
    sa.Column("terms", sa.String(), nullable=False),
    sa.Column("records", sa.Integer(), nullable=False),
    sa.Column("high", sa.Integer(), nullable=False),
    sa.Column("medium", sa.Integer(), nullable=False),
    sa.Column("low", sa.Integer(), nullable=False),
    sa.Column("canaries", sa.Integer(), nullable=False),
    sa.Column("sightings", sa.Integer(), nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("first_published", sa.DateTime(timezone=True), nullable=True),
    sa.Column("detection_seconds", sa.Float(), nullable=True),
    sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
)
sa.Table(
    "outbox", META,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("alert_key", sa.String(), nullable=False, index=True),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("severity", sa.String(), nullable=False),
    sa.Column("incident_id", sa.Integer(), nullable=True, index=True),
    sa.Column("route_key", sa.String(), nullable=False, index=True),
    sa.Column("route_label", sa.String(), nullable=False),
    sa.Column("title", sa.String(), nullable=False),
    sa.Column("body", sa.String(), nullable=False),
    sa.Column("status", sa.String(), nullable=False, index=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.String(), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.String(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint('alert_key', 'route_key'),
)
sa.Table(
    "source_content_scan", META,
    sa.Column("content_hash", sa.String(), primary_key=True, nullable=False),
    sa.Column("findings", sa.String(), nullable=False),
    sa.Column("first_source", sa.String(), nullable=False),
    sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    "source_seen_item", META,
    sa.Column("source", sa.String(), primary_key=True, nullable=False),
    sa.Column("key", sa.String(), primary_key=True, nullable=False),
    sa.Column("content_hash", sa.String(), nullable=False, index=True),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    "source_state", META,
    sa.Column("source", sa.String(), primary_key=True, nullable=False),
    sa.Column("cursor", sa.String(), nullable=True),
    sa.Column("health", sa.String(), nullable=False),
    sa.Column("health_reason", sa.String(), nullable=False),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.String(), nullable=False),
    sa.Column("last_new_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("gap_mean", sa.Float(), nullable=True),
    sa.Column("gap_count", sa.Integer(), nullable=False),
    sa.Column("items_seen", sa.Integer(), nullable=False),
    sa.Column("validators", sa.String(), nullable=False),
)
sa.Table(
    "watch_term", META,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("term", sa.String(), nullable=False),
    sa.Column("kind", sa.String(), nullable=False),
    sa.Column("normal", sa.String(), nullable=False, index=True, unique=True),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Table(
    "fingerprint_chunk", META,
    sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id"), primary_key=True, nullable=False),
    sa.Column("kind", sa.String(), primary_key=True, nullable=False),
    sa.Column("chunk_no", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("hashes", sa.LargeBinary(), nullable=False),
    sa.Column("rec_nos", sa.LargeBinary(), nullable=False),
)
sa.Table(
    "incident_ref", META,
    sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), primary_key=True, nullable=False),
    sa.Column("dataset", sa.String(), primary_key=True, nullable=False),
    sa.Column("ref", sa.String(), primary_key=True, nullable=False, index=True),
    sa.Column("type", sa.String(), nullable=False),
    sa.Column("fields", sa.String(), nullable=False),
    sa.Column("confidence", sa.String(), nullable=False),
    sa.Column("label", sa.String(), nullable=True),
)
sa.Table(
    "record", META,
    sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("dataset.id"), primary_key=True, nullable=False),
    sa.Column("rec_no", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("ref", sa.String(), nullable=False),
    sa.Column("salt", sa.LargeBinary(), nullable=False),
    sa.Column("scoped", sa.LargeBinary(), nullable=False),
)
sa.Table(
    "sighting", META,
    sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
    sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), nullable=False, index=True),
    sa.Column("source", sa.String(), nullable=False),
    sa.Column("item_key", sa.String(), nullable=False),
    sa.Column("url", sa.String(), nullable=True),
    sa.Column("content_key", sa.String(), nullable=True, index=True),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("records", sa.Integer(), nullable=False),
    sa.Column("canaries", sa.Integer(), nullable=False),
    sa.Column("terms", sa.String(), nullable=False),
    sa.Column("kinds", sa.String(), nullable=False),
)


def upgrade() -> None:
    META.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    META.drop_all(op.get_bind())
