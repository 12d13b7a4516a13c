"""Alembic's environment for the run history: migrations run on the connection the store opened
(and locked), inside its transaction."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
