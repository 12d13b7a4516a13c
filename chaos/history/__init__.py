"""The run history: where runs are recorded (SQLite or PostgreSQL, `store`), the rows a run
becomes (`rows`), the schema's migrations (`migrate`, `migrations/`), the regression check
against earlier runs (`regression`) and the trends over them (`trend`)."""
