"""The one step later migrations share: nullable text columns added to or dropped from a table
(in batch mode, which SQLite needs to alter a table).  Kept as it is: migrations already applied
must mean the same forever."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


def add_text_columns(table: str, names: Sequence[str], length: int = 60) -> None:
    with op.batch_alter_table(table) as batch:
        for name in names:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))


def drop_columns(table: str, names: Sequence[str]) -> None:
    with op.batch_alter_table(table) as batch:
        for name in names:
            batch.drop_column(name)
