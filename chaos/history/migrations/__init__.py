"""The run history's schema as Alembic migrations, applied when a store is opened
(chaos/history/migrate.py).  Each revision is written out in full, never importing today's
tables: a store written by any earlier version upgrades step by step."""
