"""The versions of the cluster's Kubernetes, NTH, Cluster Autoscaler and Load Balancer Controller
each run ran against.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
COLUMNS = ("kubernetes_version", "nth_version", "cluster_autoscaler_version", "lbc_version")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
