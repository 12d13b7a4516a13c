"""Opening a run history safely: an SQLite file that is not one (corrupt) or holds another
program's tables (foreign) is refused without being touched; any other store is brought to the
current schema by its Alembic migrations, one process at a time (a lock file beside an SQLite
store, an advisory lock on PostgreSQL).  A store written before migrations existed (our tables,
no version) is stamped with the schema it has, then upgraded."""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

REVISIONS = ("0001", "0002", "0003", "0004", "0005")  # chaos/history/migrations/versions, oldest first (a test keeps them equal)
HEAD = REVISIONS[-1]
OURS = frozenset({"runs", "hypotheses", "milestones", "uploads", "alembic_version"})
LEGACY = (("uploads", "0002"), ("runs", "0001"))  # a store without a version: the newest table it has says its schema


class StoreRefused(Exception):
    """Not a store of ours; the message says what it is."""


def check_sqlite_file(path: Path) -> None:
    """Read-only: a missing or empty file is fine (it becomes a store); anything else must be an
    SQLite database holding nothing but our tables."""
    if not path.exists() or path.stat().st_size == 0:
        return
    if not path.is_file():
        raise StoreRefused(f"{path} is not a file")
    # read through SQLite only: a file descriptor of our own on the store, closed, would drop the
    # POSIX locks of every connection this process has open on it (the store of an earlier run in
    # a pytest worker, say); another process closing its connection then takes itself for the last
    # one and checkpoints and deletes the write-ahead log under them: a corrupt store
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        if "file is not a database" in str(exc):
            raise StoreRefused(f"{path} is not an SQLite database (corrupt, or another kind of file); give another --history") from None
        raise StoreRefused(f"{path} is not a readable SQLite database ({exc}); give another --history") from None
    foreign = sorted(tables - OURS - {"sqlite_sequence"})
    if foreign:
        raise StoreRefused(f"{path} holds another program's tables ({', '.join(foreign[:5])}): not a spotchaos history; give another --history")


@contextlib.contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """SQLite: a lock file beside the store, held until the migration is committed."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        yield
        return
    with open(f"{engine.url.database}.migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _server_lock(engine: Engine, conn: Connection) -> None:
    """PostgreSQL: an advisory lock that its transaction's commit releases."""
    if engine.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(b"spotchaos history migrations")})


def _version(conn: Connection, tables: set[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    with engine.connect() as probe:  # the usual case, without loading Alembic: the store is current
        tables = set(inspect(probe).get_table_names())
        if _version(probe, tables) == HEAD:
            return
    with _file_lock(engine), engine.begin() as conn:
        _server_lock(engine, conn)
        tables = set(inspect(conn).get_table_names())
        version = _version(conn, tables)
        if version == HEAD:
            return
        if version is not None and version not in REVISIONS:
            raise StoreRefused(f"the store's schema {version!r} was written by a newer spotchaos (this one knows up to {HEAD!r}): "
                               "upgrade spotchaos, or give another --history")
        config = Config()
        config.set_main_option("script_location", "chaos.history:migrations")
        config.attributes["connection"] = conn
        if version is None and "runs" in tables:
            command.stamp(config, next(rev for table, rev in LEGACY if table in tables))
        command.upgrade(config, "head")
