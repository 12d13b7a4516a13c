"""The versions of the cluster's Kubernetes, NTH, Cluster Autoscaler and Load Balancer Controller
each run ran against.

Revision ID: 0003
Revises: 0002
"""

from chaos.history.migrations.columns import add_text_columns, drop_columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
COLUMNS = ("kubernetes_version", "nth_version", "cluster_autoscaler_version", "lbc_version")


def upgrade() -> None:
    add_text_columns("runs", COLUMNS)


def downgrade() -> None:
    drop_columns("runs", COLUMNS)
