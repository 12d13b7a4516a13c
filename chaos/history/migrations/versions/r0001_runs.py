"""The first schema: runs, their hypotheses and their node milestones.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(200), primary_key=True), sa.Column("experiment", sa.String(100)), sa.Column("content_hash", sa.String(32)),
        sa.Column("profile", sa.String(50)), sa.Column("target", sa.String(20)), sa.Column("region", sa.String(30)),
        sa.Column("spotchaos_version", sa.String(30)), sa.Column("started", sa.String(40)), sa.Column("duration_s", sa.Float),
        sa.Column("verdict", sa.String(20)), sa.Column("exit_code", sa.Integer), sa.Column("reason", sa.Text), sa.Column("complete", sa.Boolean),
        sa.Column("requests", sa.Integer), sa.Column("errors", sa.Integer), sa.Column("error_rate", sa.Float), sa.Column("p50_ms", sa.Float),
        sa.Column("p99_ms", sa.Float), sa.Column("max_ms", sa.Float), sa.Column("run_dir", sa.Text),
    )
    op.create_index("ix_runs_experiment", "runs", ["experiment"])
    op.create_index("ix_runs_started", "runs", ["started"])
    op.create_table(
        "hypotheses",
        sa.Column("run_id", sa.String(200)), sa.Column("name", sa.String(100)), sa.Column("check", sa.String(60)), sa.Column("status", sa.String(20)),
        sa.Column("value", sa.Float), sa.Column("bound", sa.String(100)), sa.Column("measured", sa.String(200)),
    )
    op.create_index("ix_hypotheses_run_id", "hypotheses", ["run_id"])
    op.create_table(
        "milestones",
        sa.Column("run_id", sa.String(200)), sa.Column("node", sa.String(200)), sa.Column("instance", sa.String(40)),
        sa.Column("milestone", sa.String(40)), sa.Column("seconds", sa.Float),
    )
    op.create_index("ix_milestones_run_id", "milestones", ["run_id"])


def downgrade() -> None:
    for table in ("milestones", "hypotheses", "runs"):
        op.drop_table(table)
