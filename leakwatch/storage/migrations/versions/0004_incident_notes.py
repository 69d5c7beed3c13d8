"""Incident notes: the analysts' append-only notes on an incident (``incidents note``), each with its
time and author; they feed the DPO's draft (``incidents report``).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_note",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
    )
    op.create_index("ix_incident_note_incident_id", "incident_note", ["incident_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_note_incident_id", table_name="incident_note")
    op.drop_table("incident_note")
