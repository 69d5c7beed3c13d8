"""Heads of shared parts: where, in the dump, the header of the table (or the head of the SQL
statement) a part continues is written, and the ``CREATE TABLE`` statements before it, so that each
part is read with its columns' labels. Offsets only: no text of the dump is stored.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scan_part", sa.Column("head_from", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("scan_part", sa.Column("head_to", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("scan_part", sa.Column("tables", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("scan_part") as batch:
        batch.drop_column("tables")
        batch.drop_column("head_to")
        batch.drop_column("head_from")
