"""The version of Karpenter each run ran against (its controller image), beside NTH's, Cluster
Autoscaler's and the Load Balancer Controller's.

Revision ID: 0005
Revises: 0004
"""

from chaos.history.migrations.columns import add_text_columns, drop_columns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
COLUMNS = ("karpenter_version",)


def upgrade() -> None:
    add_text_columns("runs", COLUMNS)


def downgrade() -> None:
    drop_columns("runs", COLUMNS)
