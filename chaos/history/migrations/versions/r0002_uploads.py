"""Where `--upload` put each run's files.

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
    op.create_table("uploads", sa.Column("run_id", sa.String(200)), sa.Column("url", sa.Text))
    op.create_index("ix_uploads_run_id", "uploads", ["run_id"])


def downgrade() -> None:
    op.drop_table("uploads")
