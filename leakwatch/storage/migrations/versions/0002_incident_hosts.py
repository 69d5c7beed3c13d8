"""Look-alike hosts on incidents: the defanged host names that look-alike domain findings named.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident", sa.Column("hosts", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("hosts")
