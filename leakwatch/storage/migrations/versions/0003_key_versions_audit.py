"""Key versions and key checks on datasets; the audit trail.

``dataset.key_version`` (1 for every existing dataset: version 1 is the raw key file they were made
with), ``dataset.key_id`` and ``dataset.key_check`` (NULL for existing datasets: they show as
``unchecked`` until re-imported); table ``audit``.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("uid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=True),
        sa.Column("details", sa.String(), nullable=False),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_action", "audit", ["action"])
    op.create_index("ix_audit_dataset", "audit", ["dataset"])
    with op.batch_alter_table("dataset") as batch:
        batch.add_column(sa.Column("key_version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("key_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("key_check", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset") as batch:
        batch.drop_column("key_check")
        batch.drop_column("key_id")
        batch.drop_column("key_version")
    op.drop_index("ix_audit_dataset", "audit")
    op.drop_index("ix_audit_action", "audit")
    op.drop_index("ix_audit_at", "audit")
    op.drop_table("audit")
