"""Where each run ran, beyond local or eks: the AWS account, the kubeconfig context and the
cluster's name.

Revision ID: 0004
Revises: 0003
"""

from chaos.history.migrations.columns import add_text_columns, drop_columns

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
COLUMNS = ("account", "context", "cluster")


def upgrade() -> None:
    add_text_columns("runs", COLUMNS)


def downgrade() -> None:
    drop_columns("runs", COLUMNS)
